using Pipeline.NetCdf.References;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.NetCdf.Tests;

/// <summary>
/// Hostile input: every header byte of a NetCDF-3 file changed, and random bytes of NetCDF-4 files overwritten.
/// Opening either works or fails with <see cref="InvalidDataException"/> naming the file; building references on
/// what opened never throws (problems become per-variable failures).
/// </summary>
public sealed class FuzzSpecs(NetCdfFixtures fx) : IClassFixture<NetCdfFixtures>
{
    [Fact]
    public void Should_fail_cleanly_or_index_when_any_classic_header_byte_is_corrupt()
    {
        var (bytes, begins) = ClassicReaderSpecs.TwoRecordFile();
        var dir = Path.Combine(Path.GetTempPath(), $"netcdf-fuzz-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var unexpected = new List<string>();
            for (var i = 4; i < begins.A; i++)
            {
                foreach (var value in new byte[] { 0x00, 0xFF, 0x7F, (byte)(bytes[i] ^ 0x01) })
                {
                    var copy = (byte[])bytes.Clone();
                    copy[i] = value;
                    var path = Path.Combine(dir, "f.nc");
                    File.WriteAllBytes(path, copy);
                    Check(path, $"byte {i} = {value:X2}", unexpected);
                }
            }
            Assert.True(unexpected.Count == 0, string.Join(Environment.NewLine, unexpected.Take(20)));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [ServiceTheory(Service.Python)]
    [InlineData("roms_0.nc")]
    [InlineData("fletcher.nc")]
    [InlineData("latest.h5nc")]
    public void Should_fail_cleanly_or_index_when_random_bytes_of_an_hdf5_file_are_corrupt(string name)
    {
        var original = File.ReadAllBytes(fx[name]);
        var dir = fx.Scratch();
        var rng = new Random(name.Length * 7919);
        var unexpected = new List<string>();
        for (var round = 0; round < 80; round++)
        {
            var copy = (byte[])original.Clone();
            var at = rng.Next(8, copy.Length);
            var n = rng.Next(1, 9);
            for (var k = 0; k < n && at + k < copy.Length; k++) copy[at + k] = (byte)rng.Next(256);
            var path = Path.Combine(dir, $"{round}.nc");
            File.WriteAllBytes(path, copy);
            Check(path, $"{name}: {n} bytes at {at}", unexpected);
            File.Delete(path);
        }
        Assert.True(unexpected.Count == 0, string.Join(Environment.NewLine, unexpected.Take(20)));
    }

    private static void Check(string path, string what, List<string> unexpected)
    {
        NetCdfFile file;
        try
        {
            file = NetCdfFile.Open(path);
        }
        catch (InvalidDataException e)
        {
            if (!e.Message.Contains(path, StringComparison.Ordinal)) unexpected.Add($"{what}: message does not name the file: {e.Message}");
            return;
        }
        catch (Exception e)
        {
            unexpected.Add($"{what}: Open threw {e.GetType().Name}: {e.Message}");
            return;
        }
        using (file)
        {
            try
            {
                var result = NetCdfReferences.Build(file, path);
                _ = result.References.ToJson();
                _ = file.Describe();
            }
            catch (Exception e)
            {
                unexpected.Add($"{what}: Build threw {e.GetType().Name}: {e.Message}");
            }
        }
    }
}
