using System.Text;
using Pipeline.Zarr.Storage;
using Xunit;

namespace Pipeline.Zarr.Tests.Storage;

/// <summary>
/// The one contract every <see cref="IObjectStore"/> meets. Each store's specs run every check here
/// (a theory over <see cref="Checks"/>), so the local and S3 stores are held to exactly the same behaviour.
/// </summary>
public static class ObjectStoreContract
{
    private static readonly Dictionary<string, Func<IObjectStore, Task>> All = new()
    {
        ["put_get_round_trip"] = PutGetRoundTrip,
        ["empty_object"] = EmptyObject,
        ["put_stream_round_trip"] = PutStreamRoundTrip,
        ["overwrite_replaces"] = OverwriteReplaces,
        ["missing_object"] = MissingObject,
        ["get_range"] = GetRange,
        ["head"] = Head,
        ["list_by_prefix"] = ListByPrefix,
        ["delete"] = Delete,
        ["copy"] = Copy,
        ["hostile_keys_rejected"] = HostileKeysRejected,
        ["concurrent_puts_of_distinct_keys"] = ConcurrentPutsOfDistinctKeys,
        ["large_object"] = LargeObject,
        ["failed_stream_put_leaves_nothing"] = FailedStreamPutLeavesNothing,
    };

    public static TheoryData<string> Checks => [.. All.Keys];

    public static Task RunAsync(string check, IObjectStore store) => All[check](store);

    public static readonly string[] HostileKeys =
    [
        "", "/etc/passwd", "../escape", "a/../../escape", "a/..", "./a", "a/./b", "a//b", "a/", "a\\b", "..\\x",
        "a\u0000b", "a\nb", "a\rb", "\u007f", "c:/windows", "file:///etc/passwd", new string('k', 1100),
    ];

    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    private static async Task PutGetRoundTrip(IObjectStore store)
    {
        var data = new byte[70_001];
        new Random(7).NextBytes(data);
        await store.PutAsync("group/array/0.0", data);
        Assert.Equal(data, await store.GetAsync("group/array/0.0"));
        await store.PutAsync("top", Bytes("x"));
        Assert.Equal(Bytes("x"), await store.GetAsync("top"));
        await store.PutAsync("unicode/é-ü/🌧", Bytes("rain"));
        Assert.Equal(Bytes("rain"), await store.GetAsync("unicode/é-ü/🌧"));
    }

    private static async Task EmptyObject(IObjectStore store)
    {
        await store.PutAsync("empty", ReadOnlyMemory<byte>.Empty);
        Assert.Empty(await store.GetAsync("empty"));
        Assert.Equal(0, (await store.HeadAsync("empty"))!.Length);
        Assert.Empty(await store.GetRangeAsync("empty", 0, 0));
    }

    private static async Task PutStreamRoundTrip(IObjectStore store)
    {
        var data = new byte[300_000];
        new Random(11).NextBytes(data);
        await using var stream = new NonSeekableStream(new MemoryStream(data));
        await store.PutAsync("streamed/object.bin", stream);
        Assert.Equal(data, await store.GetAsync("streamed/object.bin"));
    }

    private static async Task OverwriteReplaces(IObjectStore store)
    {
        await store.PutAsync("k", Bytes("first version, longer"));
        await store.PutAsync("k", Bytes("second"));
        Assert.Equal("second", Encoding.UTF8.GetString(await store.GetAsync("k")));
        Assert.Single(await store.ListAllAsync(""));
    }

    private static async Task MissingObject(IObjectStore store)
    {
        Assert.Null(await store.TryGetAsync("no/such/key"));
        var e = await Assert.ThrowsAsync<ObjectNotFoundException>(() => store.GetAsync("no/such/key"));
        Assert.Contains("no/such/key", e.Message);
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => store.GetRangeAsync("no/such/key", 0, 4));
        Assert.False(await store.ExistsAsync("no/such/key"));
    }

    private static async Task GetRange(IObjectStore store)
    {
        var data = Enumerable.Range(0, 1000).Select(i => (byte)(i % 251)).ToArray();
        await store.PutAsync("ranged", data);
        Assert.Equal(data[100..164], await store.GetRangeAsync("ranged", 100, 64));
        Assert.Equal(data[..1], await store.GetRangeAsync("ranged", 0, 1));
        Assert.Equal(data[999..], await store.GetRangeAsync("ranged", 999, 1));
        Assert.Equal(data, await store.GetRangeAsync("ranged", 0, 1000));
        var e = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.GetRangeAsync("ranged", 990, 20));
        Assert.Contains("ranged", e.Message);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.GetRangeAsync("ranged", 5000, 1));
    }

    private static async Task Head(IObjectStore store)
    {
        await store.PutAsync("h/obj", new byte[1234]);
        var info = await store.HeadAsync("h/obj");
        Assert.NotNull(info);
        Assert.Equal("h/obj", info.Key);
        Assert.Equal(1234, info.Length);
        Assert.Null(await store.HeadAsync("h/none"));
        Assert.True(await store.ExistsAsync("h/obj"));
    }

    private static async Task ListByPrefix(IObjectStore store)
    {
        string[] keys = ["a/1", "a/2", "a/sub/3", "ab/4", "b/5", "root"];
        foreach (var k in keys.Reverse()) await store.PutAsync(k, Bytes(k));
        Assert.Equal(keys, (await store.ListAllAsync("")).Select(o => o.Key));
        Assert.Equal(["a/1", "a/2", "a/sub/3"], (await store.ListAllAsync("a/")).Select(o => o.Key));
        Assert.Equal(["a/1", "a/2", "a/sub/3", "ab/4"], (await store.ListAllAsync("a")).Select(o => o.Key));
        Assert.Equal(["a/sub/3"], (await store.ListAllAsync("a/s")).Select(o => o.Key));
        Assert.Empty(await store.ListAllAsync("zzz/"));
        Assert.Equal(7, (await store.ListAllAsync("a/")).Single(o => o.Key == "a/sub/3").Length);
    }

    private static async Task Delete(IObjectStore store)
    {
        await store.PutAsync("d/x", Bytes("x"));
        await store.DeleteAsync("d/x");
        Assert.Null(await store.TryGetAsync("d/x"));
        await store.DeleteAsync("d/x"); // deleting a missing object is fine
        await store.DeleteAsync("never/was");
        Assert.Empty(await store.ListAllAsync("d/"));
    }

    private static async Task Copy(IObjectStore store)
    {
        var data = new byte[70_001];
        new Random(3).NextBytes(data);
        await store.PutAsync("files/a.zarr/t/0.0", data);
        await store.PutAsync("run.zarr/g/.zgroup", Bytes("{}")); // the group exists, its array's folder not yet
        Assert.True(await store.CopyAsync("files/a.zarr/t/0.0", "run.zarr/g/t/3.0.0"));
        Assert.Equal(data, await store.GetAsync("run.zarr/g/t/3.0.0"));
        Assert.Equal(data, await store.GetAsync("files/a.zarr/t/0.0")); // the source stays
        await store.PutAsync("other", Bytes("x"));
        Assert.True(await store.CopyAsync("other", "run.zarr/g/t/3.0.0")); // replaces
        Assert.Equal(Bytes("x"), await store.GetAsync("run.zarr/g/t/3.0.0"));
        Assert.False(await store.CopyAsync("no/such/chunk", "run.zarr/g/t/4.0.0"));
        Assert.Null(await store.TryGetAsync("run.zarr/g/t/4.0.0"));
        Assert.Equal(["files/a.zarr/t/0.0", "other", "run.zarr/g/.zgroup", "run.zarr/g/t/3.0.0"], (await store.ListAllAsync("")).Select(o => o.Key));
        await Assert.ThrowsAsync<InvalidStoreKeyException>(() => store.CopyAsync("other", "../escape"));
        await Assert.ThrowsAsync<InvalidStoreKeyException>(() => store.CopyAsync("../escape", "other"));

        // A run's finalization copies many chunks into one new array folder at once: every copy lands.
        var copies = await Task.WhenAll(Enumerable.Range(0, 32).Select(i => Task.Run(() => store.CopyAsync("files/a.zarr/t/0.0", $"run.zarr/h/t/{i}.0.0"))));
        Assert.All(copies, Assert.True);
        Assert.Equal(32, (await store.ListAllAsync("run.zarr/h/")).Count);
    }

    private static async Task HostileKeysRejected(IObjectStore store)
    {
        foreach (var key in HostileKeys)
        {
            var e = await Assert.ThrowsAsync<InvalidStoreKeyException>(() => store.PutAsync(key, Bytes("evil")));
            Assert.IsAssignableFrom<ArgumentException>(e);
            await Assert.ThrowsAsync<InvalidStoreKeyException>(() => store.TryGetAsync(key));
            await Assert.ThrowsAsync<InvalidStoreKeyException>(() => store.HeadAsync(key));
            await Assert.ThrowsAsync<InvalidStoreKeyException>(() => store.DeleteAsync(key));
            await Assert.ThrowsAsync<InvalidStoreKeyException>(() => store.GetRangeAsync(key, 0, 1));
        }
        await Assert.ThrowsAsync<InvalidStoreKeyException>(async () => await store.ListAllAsync("../"));
        await Assert.ThrowsAsync<InvalidStoreKeyException>(async () => await store.ListAllAsync("/abs"));
        Assert.Empty(await store.ListAllAsync(""));
    }

    private static async Task ConcurrentPutsOfDistinctKeys(IObjectStore store)
    {
        var data = Enumerable.Range(0, 24).Select(i => Enumerable.Repeat((byte)i, 100_000 + i).ToArray()).ToArray();
        await Task.WhenAll(Enumerable.Range(0, 24).Select(i => store.PutAsync($"c/{i}", data[i])));
        foreach (var i in Enumerable.Range(0, 24)) Assert.Equal(data[i], await store.GetAsync($"c/{i}"));
        Assert.Equal(24, (await store.ListAllAsync("c/")).Count);

        // A writer puts a new array's metadata and chunks at once, from several threads: every put into a folder
        // that another put is creating at that moment lands (small objects take the local store's synchronous path).
        var small = Enumerable.Range(0, 64).Select(i => Bytes($"chunk {i}")).ToArray();
        foreach (var round in Enumerable.Range(0, 8))
            await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(() => store.PutAsync($"new/r{round}/a{i % 2}/{i / 2}.0", small[i]))));
        foreach (var i in Enumerable.Range(0, 64)) Assert.Equal(small[i], await store.GetAsync($"new/r7/a{i % 2}/{i / 2}.0"));
        Assert.Equal(8 * 64, (await store.ListAllAsync("new/")).Count);
    }

    /// <summary>
    /// Racing writers of one key: the object ends as one writer's whole object. Local directories and AWS S3 give
    /// this; s3rver does not (it writes body and metadata in separate steps), so the S3 specs do not run it there.
    /// </summary>
    public static async Task ConcurrentPutsOfOneKey(IObjectStore store)
    {
        var big = Enumerable.Range(0, 8).Select(i => Enumerable.Repeat((byte)i, 200_000 + i).ToArray()).ToArray();
        await Task.WhenAll(Enumerable.Range(0, 32).Select(i => store.PutAsync($"c/{i % 4}", big[i % 8])));
        foreach (var i in Enumerable.Range(0, 4))
        {
            var got = await store.GetAsync($"c/{i}");
            Assert.Contains(big, b => b.AsSpan().SequenceEqual(got));
        }
        Assert.Equal(4, (await store.ListAllAsync("c/")).Count);
    }

    private static async Task LargeObject(IObjectStore store)
    {
        var data = new byte[12 * 1024 * 1024 + 123];
        new Random(3).NextBytes(data);
        await store.PutAsync("large/bytes", data);
        Assert.Equal(data.Length, (await store.HeadAsync("large/bytes"))!.Length);
        Assert.Equal(data, await store.GetAsync("large/bytes"));
        await using var stream = new NonSeekableStream(new MemoryStream(data));
        await store.PutAsync("large/stream", stream);
        Assert.Equal(data, await store.GetAsync("large/stream"));
        Assert.Equal(data[(7 << 20)..((7 << 20) + 4096)], await store.GetRangeAsync("large/stream", 7 << 20, 4096));
    }

    private static async Task FailedStreamPutLeavesNothing(IObjectStore store)
    {
        await store.PutAsync("f/kept", Bytes("old"));
        var data = new byte[3 << 20];
        await using var failing = new FailingStream(new MemoryStream(data), failAfter: 1 << 20);
        await Assert.ThrowsAnyAsync<IOException>(() => store.PutAsync("f/kept", failing));
        await using var failing2 = new FailingStream(new MemoryStream(data), failAfter: 100);
        await Assert.ThrowsAnyAsync<IOException>(() => store.PutAsync("f/new", failing2));
        Assert.Equal("old", Encoding.UTF8.GetString(await store.GetAsync("f/kept")));
        Assert.Null(await store.HeadAsync("f/new"));
        Assert.Equal(["f/kept"], (await store.ListAllAsync("")).Select(o => o.Key));
    }
}

/// <summary>A stream that can only be read forward (like a network body).</summary>
public sealed class NonSeekableStream(Stream inner) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, 65536));
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); base.Dispose(disposing); }
}

/// <summary>Reads normally, then throws an IOException ("disk gone") after <paramref name="failAfter"/> bytes.</summary>
public sealed class FailingStream(Stream inner, long failAfter) : Stream
{
    private long _read;
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count)
    {
        if (_read >= failAfter) throw new IOException($"injected read failure after {_read} bytes");
        var n = inner.Read(buffer, offset, (int)Math.Min(count, failAfter - _read));
        _read += n;
        return n;
    }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); base.Dispose(disposing); }
}
