using System.Security.Cryptography;
using System.Text;
using Pipeline.Streams.Fetch;
using Xunit;

namespace Pipeline.Streams.Tests.Fetch;

public sealed class ContentCheckSpecs
{
    [Theory]
    [InlineData("a/b/CMC_glb_TMP.grib2", ContentKind.Grib)]
    [InlineData("x.GRB2?sig=1", ContentKind.Grib)]
    [InlineData("ofs.t00z.nc", ContentKind.NetCdfOrHdf5)]
    [InlineData("file.h5", ContentKind.Hdf5)]
    [InlineData("warning.xml", ContentKind.Unknown)]
    public void Should_expect_the_kind_from_the_file_name(string name, ContentKind kind) =>
        Assert.Equal(kind, ContentCheck.KindOf(name));

    [Fact]
    public void Should_accept_valid_signatures_of_each_kind()
    {
        Assert.Null(ContentCheck.Sniff(ContentKind.Grib, "GRIB\0\0\0\x02"u8, "7777"u8, 100));
        Assert.Null(ContentCheck.Sniff(ContentKind.Hdf5, [0x89, (byte)'H', (byte)'D', (byte)'F', 13, 10, 26, 10], "xxxx"u8, 100));
        Assert.Null(ContentCheck.Sniff(ContentKind.NetCdfOrHdf5, "CDF\x01\0\0"u8, "xxxx"u8, 100));
        Assert.Null(ContentCheck.Sniff(ContentKind.NetCdfOrHdf5, "CDF\x05\0\0"u8, "xxxx"u8, 100));
        Assert.Null(ContentCheck.Sniff(ContentKind.Unknown, "<?xml version=\"1.0\"?><alert>"u8, "ert>"u8, 100));
    }

    [Theory]
    [InlineData(ContentKind.Grib, "GRIB....", "7770", "7777")]
    [InlineData(ContentKind.Grib, "GRIX....", "7777", "'GRIB' at offset 0")]
    [InlineData(ContentKind.NetCdfOrHdf5, "CDF\u0003....", "xxxx", "not NetCDF")]
    [InlineData(ContentKind.Hdf5, "HDF.....", "xxxx", "not HDF5")]
    [InlineData(ContentKind.Grib, "  <html><head>", "tml>", "markup")]
    [InlineData(ContentKind.NetCdfOrHdf5, "<?xml version", "xml>", "markup")]
    [InlineData(ContentKind.Unknown, "<!DOCTYPE html>", "tml>", "markup")]
    public void Should_reject_and_say_why_when_the_signature_is_wrong(ContentKind kind, string head, string tail, string expected)
    {
        var problem = ContentCheck.Sniff(kind, Encoding.Latin1.GetBytes(head), Encoding.Latin1.GetBytes(tail), 100);

        Assert.NotNull(problem);
        Assert.Contains(expected, problem);
    }

    [Fact]
    public void Should_decode_hex_and_base64_digests_and_name_a_bad_one()
    {
        var digest = SHA256.HashData("abc"u8);

        Assert.Equal(digest, ContentCheck.DecodeDigest(HashAlgorithmName.SHA256, Convert.ToHexString(digest)));
        Assert.Equal(digest, ContentCheck.DecodeDigest(HashAlgorithmName.SHA256, Convert.ToBase64String(digest)));
        var e = Assert.Throws<FormatException>(() => ContentCheck.DecodeDigest(HashAlgorithmName.MD5, "not-a-digest"));
        Assert.Contains("'not-a-digest'", e.Message);
        Assert.Contains("32 hex digits", e.Message);
    }

    [Theory]
    [InlineData("md5", "MD5")]
    [InlineData("d", "MD5")]
    [InlineData("sha512", "SHA512")]
    [InlineData("s", "SHA512")]
    [InlineData("SHA256", "SHA256")]
    public void Should_map_announced_methods_and_sarracenia_codes(string method, string algorithm) =>
        Assert.Equal(algorithm, ContentCheck.AlgorithmOf(method)?.Name);

    [Theory]
    [InlineData("arbitrary")]
    [InlineData("n")]
    [InlineData("cod")]
    public void Should_not_claim_to_verify_methods_it_cannot_check(string method) =>
        Assert.Null(ContentCheck.AlgorithmOf(method));
}
