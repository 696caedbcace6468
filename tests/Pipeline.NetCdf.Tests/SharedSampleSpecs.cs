using Pipeline.NetCdf.References;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.NetCdf.Tests;

/// <summary>The real samples in shared/data/netcdf: references xarray reads equal to netCDF4, or a clear error per variable.</summary>
public sealed class SharedSampleSpecs : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"netcdf-shared-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public SharedSampleSpecs() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, true);

    [SharedDataFact(Service.Python)]
    public void Should_read_every_sample_equal_to_netCDF4_or_name_what_failed_when_referencing_the_shared_samples()
    {
        var samples = Directory.EnumerateFiles(SharedData.Data("netcdf"), "*.nc").Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(samples);
        var formats = new HashSet<NetCdfFormat>();
        foreach (var path in samples)
        {
            using var file = NetCdfFile.Open(path);
            formats.Add(file.Format);
            var result = NetCdfReferences.Build(file, path);
            var failed = result.With(VariableOutcome.Failed).ToList();
            Assert.All(failed, v => Assert.Contains(result.Problems, p => p.Variable == v && p.Message.Length > 0));
            var refs = Path.Combine(_dir, Path.GetFileName(path) + ".json");
            File.WriteAllBytes(refs, result.References.ToJson());
            var oracle = Python.Oracle(refs, [path], skip: failed);
            Assert.True(oracle.Ok, $"{path}: {oracle.Raw}");
            Assert.Equal(file.Variables.Count - failed.Count, oracle.Checked.Count);
        }
        Assert.Contains(NetCdfFormat.Hdf5, formats);
        Assert.Contains(NetCdfFormat.Offset64, formats);
    }
}
