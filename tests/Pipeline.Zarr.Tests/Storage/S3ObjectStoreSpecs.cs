using System.Text;
using Pipeline.Testing;
using Pipeline.Zarr.Storage;
using Pipeline.Zarr.Tests.Support;
using Xunit;

namespace Pipeline.Zarr.Tests.Storage;

public sealed class S3ObjectStoreSpecs
{
    /// <summary>A store on a fresh bucket of the harness's s3rver (small multipart sizes so large objects go up in parts).</summary>
    internal static async Task<S3ObjectStore> NewStoreAsync(string? endpoint = null, string? bucket = null, string prefix = "", int maxAttempts = 5)
    {
        var store = new S3ObjectStore(Options(endpoint ?? TestServices.S3Endpoint, bucket ?? NewBucket(), prefix, maxAttempts));
        await store.EnsureBucketAsync();
        return store;
    }

    internal static S3StoreOptions Options(string endpoint, string bucket, string prefix = "", int maxAttempts = 5) => new()
    {
        Bucket = bucket,
        Prefix = prefix,
        ServiceUrl = endpoint,
        ForcePathStyle = true,
        AccessKey = "S3RVER",
        SecretKey = "S3RVER",
        MultipartThreshold = 5 << 20,
        PartSize = 5 << 20,
        MaxAttempts = maxAttempts,
        RetryBaseDelay = TimeSpan.FromMilliseconds(20),
        MaxRetryDelay = TimeSpan.FromMilliseconds(200),
        RequestTimeout = TimeSpan.FromSeconds(60),
    };

    internal static string NewBucket() => "zarr-" + Guid.NewGuid().ToString("N")[..16];

    [ServiceTheory(Service.S3)]
    [MemberData(nameof(ObjectStoreContract.Checks), MemberType = typeof(ObjectStoreContract))]
    public async Task Should_meet_the_store_contract_when_backed_by_s3rver(string check)
    {
        using var store = await NewStoreAsync();
        await ObjectStoreContract.RunAsync(check, store);
    }

    [ServiceTheory(Service.S3)]
    [MemberData(nameof(ObjectStoreContract.Checks), MemberType = typeof(ObjectStoreContract))]
    public async Task Should_meet_the_store_contract_when_confined_to_a_prefix(string check)
    {
        var bucket = NewBucket();
        using var store = await NewStoreAsync(bucket: bucket, prefix: "runs/gdps");
        using var neighbour = await NewStoreAsync(bucket: bucket, prefix: "runs/gdpsx");
        await neighbour.PutAsync("outside", "n"u8.ToArray());
        await ObjectStoreContract.RunAsync(check, store);
        Assert.Equal(["outside"], (await neighbour.ListAllAsync("")).Select(o => o.Key));
    }

    [ServiceFact(Service.S3)]
    public async Task Should_copy_on_the_server_when_keys_have_slashes_and_the_server_is_s3rver()
    {
        using var store = await NewStoreAsync(prefix: "runs/x");
        await store.PutAsync("files/a.zarr/t/0.0", "chunk"u8.ToArray());
        Assert.True(await store.CopyAsync("files/a.zarr/t/0.0", "run.zarr/t/1.0.0"));
        Assert.Equal("chunk"u8.ToArray(), await store.GetAsync("run.zarr/t/1.0.0"));
        Assert.True(store.CopiesOnServer, "CopyObject worked: no fallback to get and put");
    }

    [ServiceFact(Service.S3)]
    public async Task Should_complete_the_put_when_the_server_answers_500_before_succeeding()
    {
        var bucket = NewBucket();
        using var direct = await NewStoreAsync(bucket: bucket);
        await using var proxy = new FaultyHttpProxy(TestServices.S3Endpoint, (r, n) => r.HttpMethod == "PUT" && n <= 2 ? Fault.ServerError : Fault.Forward);
        using var store = new S3ObjectStore(Options(proxy.Endpoint, bucket));
        var data = Encoding.UTF8.GetBytes(new string('z', 100_000));
        await store.PutAsync("t2m/0.0", data);
        Assert.Equal(2, proxy.Faults);
        Assert.Equal(data, await direct.GetAsync("t2m/0.0"));
    }

    [ServiceFact(Service.S3)]
    public async Task Should_complete_a_multipart_put_when_a_part_upload_is_cut_mid_body_once()
    {
        var bucket = NewBucket();
        using var direct = await NewStoreAsync(bucket: bucket);
        var cut = 0;
        await using var proxy = new FaultyHttpProxy(TestServices.S3Endpoint, (r, _) =>
            r.QueryString["partNumber"] == "2" && Interlocked.Increment(ref cut) == 1 ? Fault.CutMidBody : Fault.Forward);
        using var store = new S3ObjectStore(Options(proxy.Endpoint, bucket));
        var data = new byte[11 << 20];
        new Random(5).NextBytes(data);
        await store.PutAsync("big/chunk", data);
        Assert.Equal(1, proxy.Faults);
        Assert.Equal(data, await direct.GetAsync("big/chunk"));
    }

    [ServiceFact(Service.S3)]
    public async Task Should_leave_no_visible_object_and_allow_a_retry_when_the_server_keeps_failing_mid_upload()
    {
        var bucket = NewBucket();
        using var direct = await NewStoreAsync(bucket: bucket);
        await direct.PutAsync("big/chunk", "old"u8.ToArray());
        await using var proxy = new FaultyHttpProxy(TestServices.S3Endpoint, (r, _) =>
            r.QueryString["partNumber"] == "2" ? Fault.ServerError : Fault.Forward);
        using var failing = new S3ObjectStore(Options(proxy.Endpoint, bucket, maxAttempts: 3));
        var data = new byte[11 << 20];
        new Random(6).NextBytes(data);
        var e = await Assert.ThrowsAsync<ObjectStoreException>(() => failing.PutAsync("big/chunk", data));
        Assert.Contains("big/chunk", e.Message);
        Assert.Contains("part 2", e.Message);
        Assert.Contains("after 3 attempts", e.Message);
        var e2 = await Assert.ThrowsAsync<ObjectStoreException>(() => failing.PutAsync("big/new", data));
        Assert.Contains("big/new", e2.Message);
        // Nothing half-written is visible: the old object is intact, the new one absent.
        Assert.Equal("old"u8.ToArray(), await direct.GetAsync("big/chunk"));
        Assert.Null(await direct.HeadAsync("big/new"));
        // The retry (server healthy again) completes the store.
        await direct.PutAsync("big/new", data);
        Assert.Equal(data, await direct.GetAsync("big/new"));
    }

    [ServiceFact(Service.S3)]
    public async Task Should_fail_with_the_key_and_attempts_named_when_the_endpoint_is_dead()
    {
        var dead = $"http://127.0.0.1:{FaultyHttpProxy.FreePort()}";
        using var store = new S3ObjectStore(Options(dead, NewBucket(), maxAttempts: 2));
        var e = await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync("t2m/.zarray", "{}"u8.ToArray()));
        Assert.Contains("t2m/.zarray", e.Message);
        Assert.Contains("after 2 attempts", e.Message);
        Assert.Equal("t2m/.zarray", e.Key);
    }

    [Fact]
    public void Should_take_endpoint_region_and_path_style_from_the_environment_when_given_an_s3_uri()
    {
        var env = new Dictionary<string, string>
        {
            ["AWS_ENDPOINT_URL_S3"] = "http://127.0.0.1:4569",
            ["AWS_REGION"] = "eu-west-3",
        };
        var o = S3StoreOptions.FromUri("s3://bucket/runs/gdps/", k => env.GetValueOrDefault(k));
        Assert.Equal("bucket", o.Bucket);
        Assert.Equal("runs/gdps", o.Prefix);
        Assert.Equal("http://127.0.0.1:4569", o.ServiceUrl);
        Assert.Equal("eu-west-3", o.Region);
        Assert.True(o.ForcePathStyle);
        var aws = S3StoreOptions.FromUri("s3://b", _ => null);
        Assert.Null(aws.ServiceUrl);
        Assert.False(aws.ForcePathStyle);
        Assert.Equal("us-east-1", aws.Region);
        Assert.Throws<ArgumentException>(() => S3StoreOptions.FromUri("s3:///x", _ => null));
        Assert.Throws<InvalidStoreKeyException>(() => S3StoreOptions.FromUri("s3://b/../x", _ => null));
        var bad = Assert.Throws<ArgumentException>(() => new S3StoreOptions { Bucket = "b", PartSize = 1000 }.Validate());
        Assert.Contains("PartSize", bad.Message);
    }
}
