using System.Buffers.Binary;
using System.Diagnostics;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.IntegrationTests.Smoke;

/// <summary>The harness's python3-eccodes encodes a GRIB2 fixture from values we give it, and we read it back.</summary>
public sealed class EcCodesSmokeSpecs
{
    private const string Encode = """
import sys, eccodes
out = sys.argv[1]
h = eccodes.codes_grib_new_from_samples("GRIB2")
eccodes.codes_set(h, "Ni", 4)
eccodes.codes_set(h, "Nj", 3)
eccodes.codes_set(h, "latitudeOfFirstGridPointInDegrees", 50.0)
eccodes.codes_set(h, "longitudeOfFirstGridPointInDegrees", 0.0)
eccodes.codes_set(h, "latitudeOfLastGridPointInDegrees", 48.0)
eccodes.codes_set(h, "longitudeOfLastGridPointInDegrees", 3.0)
eccodes.codes_set(h, "iDirectionIncrementInDegrees", 1.0)
eccodes.codes_set(h, "jDirectionIncrementInDegrees", 1.0)
eccodes.codes_set(h, "packingType", "grid_simple")
eccodes.codes_set(h, "bitsPerValue", 16)
eccodes.codes_set_values(h, [float(i) * 1.5 for i in range(12)])
with open(out, "wb") as f:
    eccodes.codes_write(h, f)
eccodes.codes_release(h)
""";

    [ServiceFact(Service.Python)]
    public async Task Should_read_a_grib2_message_when_ecCodes_encoded_it_from_given_values()
    {
        var dir = Directory.CreateTempSubdirectory("pipeline-smoke-");
        try
        {
            var script = Path.Combine(dir.FullName, "encode.py");
            var grib = Path.Combine(dir.FullName, "fixture.grib2");
            await File.WriteAllTextAsync(script, Encode);
            var start = new ProcessStartInfo(TestServices.Python) { RedirectStandardError = true };
            start.ArgumentList.Add(script);
            start.ArgumentList.Add(grib);
            using var process = Process.Start(start)!;
            var stderr = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            Assert.True(process.ExitCode == 0, $"ecCodes failed to encode the fixture: {stderr}");

            var bytes = await File.ReadAllBytesAsync(grib);
            Assert.Equal("GRIB"u8.ToArray(), bytes[..4]);
            Assert.Equal(2, bytes[7]); // edition
            Assert.Equal((ulong)bytes.Length, BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(8, 8)));
            Assert.Equal("7777"u8.ToArray(), bytes[^4..]);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
