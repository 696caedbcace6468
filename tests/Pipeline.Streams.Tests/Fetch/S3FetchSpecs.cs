using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Pipeline.Streams.Fetch;
using Pipeline.Testing;
using Xunit;
using static Pipeline.Streams.Tests.Fetch.FetchFixtures;

namespace Pipeline.Streams.Tests.Fetch;

/// <summary>s3:// fetches against s3rver (started by ./build.sh test or ./build.sh services).</summary>
public sealed class S3FetchSpecs
{
    private static AmazonS3Client Client() => new(new BasicAWSCredentials("S3RVER", "S3RVER"), new AmazonS3Config
    {
        ServiceURL = TestServices.S3Endpoint,
        ForcePathStyle = true,
        AuthenticationRegion = "us-east-1",
    });

    private static async Task<string> SeedAsync(AmazonS3Client client, params (string Key, byte[] Body)[] objects)
    {
        var bucket = "fetch-" + Guid.NewGuid().ToString("N")[..12];
        await client.PutBucketAsync(bucket);
        foreach (var (key, body) in objects)
            await client.PutObjectAsync(new PutObjectRequest
            {
                BucketName = bucket, Key = key, InputStream = new MemoryStream(body), UseChunkEncoding = false,
            });
        return bucket;
    }

    [ServiceFact(Service.S3)]
    public async Task Should_fetch_and_verify_an_s3_object_when_its_bucket_is_allowed()
    {
        using var client = Client();
        var content = Grib(300_000);
        var bucket = await SeedAsync(client, ("model/run/t.grib2", content));
        using var dir = new TempDir();
        await using var fetcher = new Fetcher(Settings(dir.Path, Options(bucket)), s3: new AwsS3ObjectReader(client));

        var result = await fetcher.FetchAsync(Request(new Uri($"s3://{bucket}/model/run/t.grib2"), content));

        var cached = Assert.IsType<FetchResult.Cached>(result);
        Assert.Equal(content, await File.ReadAllBytesAsync(cached.Path));
    }

    [ServiceFact(Service.S3)]
    public async Task Should_fetch_only_matching_messages_of_an_s3_grib_through_its_idx()
    {
        using var client = Client();
        var m1 = Grib(3_000, 1);
        var m2 = Grib(5_000, 2);
        var idx = $"1:0:d=2026110100:HGT:500 mb:anl:\n2:{m1.Length}:d=2026110100:TMP:2 m above ground:anl:\n";
        var bucket = await SeedAsync(client, ("gfs.grib2", [.. m1, .. m2]), ("gfs.grib2.idx", Encoding.ASCII.GetBytes(idx)));
        using var dir = new TempDir();
        await using var fetcher = new Fetcher(Settings(dir.Path, Options(bucket)), s3: new AwsS3ObjectReader(client));

        var result = await fetcher.FetchAsync(Request(new Uri($"s3://{bucket}/gfs.grib2"), match: ":TMP:"));

        var cached = Assert.IsType<FetchResult.Cached>(result);
        Assert.Equal(m2, await File.ReadAllBytesAsync(cached.Path));
    }

    [ServiceFact(Service.S3)]
    public async Task Should_wait_for_an_s3_object_that_appears_later()
    {
        using var client = Client();
        var content = Grib(20_000);
        var bucket = await SeedAsync(client);
        using var dir = new TempDir();
        await using var fetcher = new Fetcher(Settings(dir.Path, Options(bucket)), s3: new AwsS3ObjectReader(client));

        long attempts = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, fetcher.Meter) && instrument.Name == "pipeline.fetch.attempts") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref attempts, value));
        listener.Start();

        var fetching = fetcher.FetchAsync(Request(new Uri($"s3://{bucket}/later.grib2"), content));
        await FetcherSpecs.WaitUntil(() => Interlocked.Read(ref attempts) >= 1);
        await client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = bucket, Key = "later.grib2", InputStream = new MemoryStream(content), UseChunkEncoding = false,
        });
        var result = await fetching;

        Assert.IsType<FetchResult.Cached>(result);
        Assert.True(result.Attempts >= 2, "the first attempt must have found nothing (404) and been retried");
    }

    [ServiceFact(Service.S3)]
    public async Task Should_refuse_an_s3_bucket_not_on_the_allow_list()
    {
        using var client = Client();
        using var dir = new TempDir();
        await using var fetcher = new Fetcher(Settings(dir.Path, Options("allowed-bucket")), s3: new AwsS3ObjectReader(client));

        var failed = Assert.IsType<FetchResult.Failed>(await fetcher.FetchAsync(Request(new Uri("s3://other-bucket/x.grib2"))));

        Assert.Equal(FetchErrorClass.Refused, failed.Error);
    }
}
