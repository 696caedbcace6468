using Pipeline.Zarr.Storage;
using Xunit;

namespace Pipeline.Zarr.Tests.Storage;

public sealed class StoreKeySpecs
{
    public static TheoryData<string> Hostile => [.. ObjectStoreContract.HostileKeys];

    [Theory]
    [MemberData(nameof(Hostile))]
    public void Should_reject_with_a_message_naming_the_key_when_the_key_could_escape_or_is_malformed(string key)
    {
        var e = Assert.Throws<InvalidStoreKeyException>(() => StoreKey.Validate(key));
        Assert.StartsWith("invalid object key", e.Message);
        Assert.False(string.IsNullOrWhiteSpace(e.Reason));
        if (key.Length is > 0 and < 50 && !key.Any(char.IsControl)) Assert.Contains(key, e.Message);
    }

    [Fact]
    public void Should_show_control_characters_escaped_when_naming_a_bad_key()
    {
        var e = Assert.Throws<InvalidStoreKeyException>(() => StoreKey.Validate("a\u0001b"));
        Assert.Contains("'a\\u0001b'", e.Message);
        Assert.Contains("U+0001", e.Message);
    }

    [Theory]
    [InlineData("t2m/0.0.0")]
    [InlineData(".zmetadata")]
    [InlineData("run/2026-11-01T00Z/t2m/c/0/0")]
    [InlineData("a..b/c...d")]
    [InlineData("name with spaces/é")]
    public void Should_accept_when_the_key_is_an_ordinary_relative_path(string key) => Assert.Equal(key, StoreKey.Validate(key));

    [Fact]
    public void Should_reject_a_null_key_and_accept_an_empty_prefix()
    {
        Assert.Throws<InvalidStoreKeyException>(() => StoreKey.Validate(null));
        Assert.Equal("", StoreKey.ValidatePrefix(""));
        Assert.Equal("a/", StoreKey.ValidatePrefix("a/"));
        Assert.Throws<InvalidStoreKeyException>(() => StoreKey.ValidatePrefix("a//"));
    }
}
