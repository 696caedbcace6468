using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Pipeline.Actors.Contracts;
using Pipeline.Streams.Announcements;
using Microsoft.AspNetCore.Http;
using Pipeline.Streams.Polling;
using Pipeline.Streams.Tests.Fetch;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Streams.Tests.Polling;

/// <summary>Polling an S3 prefix with ListObjectsV2 against s3rver (started by ./build.sh test or services).</summary>
public sealed class S3PollSpecs : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "s3poll-" + Guid.NewGuid().ToString("N")[..12]);

    private static AmazonS3Client Client() => new(new BasicAWSCredentials("S3RVER", "S3RVER"), new AmazonS3Config
    {
        ServiceURL = TestServices.S3Endpoint,
        ForcePathStyle = true,
        AuthenticationRegion = "us-east-1",
    });

    private static Task PutAsync(AmazonS3Client s3, string bucket, string key, string body) =>
        s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = bucket, Key = key, InputStream = new MemoryStream(Encoding.UTF8.GetBytes(body)), UseChunkEncoding = false,
        });

    private static async Task<List<Announcement>> AckAllAsync(IReadOnlyList<CommittableAnnouncements> batch)
    {
        foreach (var c in batch) Assert.True(await c.Ack());
        return batch.SelectMany(c => c.Announcements).ToList();
    }

    [ServiceFact(Service.S3)]
    public async Task Should_page_through_a_prefix_and_announce_new_and_changed_objects_once_when_polled_repeatedly()
    {
        using var s3 = Client();
        var bucket = "poll-" + Guid.NewGuid().ToString("N")[..12];
        await s3.PutBucketAsync(bucket);
        for (var i = 0; i < 5; i++) await PutAsync(s3, bucket, $"nos.cbofs/2026/11/f{i:D3}.nc", "v1-" + i);
        await PutAsync(s3, bucket, "nos.cbofs/2026/11/", ""); // a folder marker
        await PutAsync(s3, bucket, "other/ignored.nc", "x");
        // s3rver cannot paginate under Node 17+ (its continuation tokens use DES, which OpenSSL 3 refuses):
        // pagination is proven against a scripted S3 endpoint below.
        var lister = new S3Lister(s3, new S3ListingSettings(bucket, "nos.cbofs/"));
        var poller = new Poller(lister, new PollSettings("ofs-poll", TimeSpan.FromMinutes(1)),
            new SeenStore(Path.Combine(_dir, "seen.jsonl"), TimeSpan.FromDays(1)));

        var first = await AckAllAsync(await poller.PollOnceAsync());
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"nos.cbofs/2026/11/f{i:D3}.nc"), first.Select(a => a.RelPath).Order());
        var a0 = first.Single(a => a.RelPath.EndsWith("f000.nc", StringComparison.Ordinal));
        Assert.Equal(new Uri($"s3://{bucket}/nos.cbofs/2026/11/f000.nc"), a0.Location);
        Assert.Equal(4, a0.Size);
        // A single-part upload's ETag is the MD5 of the body: the announcement carries it as integrity.
        Assert.Equal(Convert.ToBase64String(System.Security.Cryptography.MD5.HashData("v1-0"u8)), a0.Integrity!.Value);
        Assert.Empty(await poller.PollOnceAsync());

        await PutAsync(s3, bucket, "nos.cbofs/2026/11/f002.nc", "v2-changed");
        await PutAsync(s3, bucket, "nos.cbofs/2026/11/f005.nc", "new");
        var next = await AckAllAsync(await poller.PollOnceAsync());

        Assert.Equal([("nos.cbofs/2026/11/f002.nc", AnnouncementRelations.Update), ("nos.cbofs/2026/11/f005.nc", (string?)null)],
            next.Select(a => (a.RelPath, a.Relation)).OrderBy(x => x.RelPath));
        Assert.Empty(await poller.PollOnceAsync());
    }

    [ServiceFact(Service.S3)]
    public async Task Should_list_only_keys_after_start_after_and_log_a_missing_bucket_without_throwing()
    {
        using var s3 = Client();
        var bucket = "poll-" + Guid.NewGuid().ToString("N")[..12];
        await s3.PutBucketAsync(bucket);
        foreach (var k in new[] { "a/1", "a/2", "a/3", "b/1" }) await PutAsync(s3, bucket, k, k);

        var listed = await new S3Lister(s3, new S3ListingSettings(bucket) { StartAfter = "a/2" }).ListAsync(CancellationToken.None);
        Assert.Equal(["a/3", "b/1"], listed.Files.Select(f => f.RelPath));

        var log = new ListLogger();
        var missing = new Poller(new S3Lister(s3, new S3ListingSettings(bucket + "-missing")), new PollSettings("p", TimeSpan.FromMinutes(1)),
            new SeenStore(Path.Combine(_dir, "missing.jsonl"), TimeSpan.FromDays(1)), log);
        Assert.Empty(await missing.PollOnceAsync());
        Assert.Contains("NoSuchBucket", missing.LastPass!.Failure, StringComparison.Ordinal);
        Assert.Contains(log.Warnings, w => w.Contains($"s3://{bucket}-missing/", StringComparison.Ordinal) && w.Contains("retrying", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Should_follow_continuation_tokens_to_the_last_page_when_the_listing_is_truncated()
    {
        await using var server = await FaultServer.StartAsync();
        var queries = new List<string>();
        async Task ListBucket(HttpContext ctx, int _)
        {
            var q = ctx.Request.Query;
            lock (queries) queries.Add(ctx.Request.QueryString.Value ?? "");
            var page = q["continuation-token"].FirstOrDefault() switch { null => 0, "tok-1" => 1, "tok-2" => 2, _ => -1 };
            if (page < 0 || q["list-type"] != "2") { ctx.Response.StatusCode = 400; return; }
            var keys = page switch { 0 => new[] { "p/a", "p/b" }, 1 => ["p/c", "p/dir/"], _ => ["p/e"] };
            var contents = string.Concat(keys.Select(k =>
                $"<Contents><Key>{k}</Key><LastModified>2026-11-01T00:00:0{page}.000Z</LastModified><ETag>&quot;{new string((char)('a' + page), 32)}&quot;</ETag><Size>{k.Length}</Size><StorageClass>STANDARD</StorageClass></Contents>"));
            var next = page < 2 ? $"<NextContinuationToken>tok-{page + 1}</NextContinuationToken>" : "";
            ctx.Response.ContentType = "application/xml";
            await ctx.Response.WriteAsync(
                $"""<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>ofs</Name><Prefix>p/</Prefix><KeyCount>{keys.Length}</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>{(page < 2 ? "true" : "false")}</IsTruncated>{contents}{next}</ListBucketResult>""");
        }
        server.Route("/ofs", ListBucket);
        server.Route("/ofs/", ListBucket); // path style: /bucket/?list-type=2
        using var s3 = new AmazonS3Client(new BasicAWSCredentials("k", "s"), new AmazonS3Config
        {
            ServiceURL = server.BaseUri.ToString().TrimEnd('/'), ForcePathStyle = true, AuthenticationRegion = "us-east-1",
        });

        var listed = await new S3Lister(s3, new S3ListingSettings("ofs", "p/") { PageSize = 2, StartAfter = "p/0" }).ListAsync(CancellationToken.None);

        Assert.Equal(["p/a", "p/b", "p/c", "p/e"], listed.Files.Select(f => f.RelPath)); // the folder marker p/dir/ is skipped
        Assert.Equal(3, queries.Count);
        Assert.Contains("start-after=p%2F0", queries[0], StringComparison.Ordinal);
        Assert.Contains("continuation-token=tok-2", queries[2], StringComparison.Ordinal);
        Assert.Equal(new string('c', 32), listed.Files[3].Version);
        Assert.Equal(new DateTimeOffset(2026, 11, 1, 0, 0, 2, TimeSpan.Zero), listed.Files[3].Modified);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }
}
