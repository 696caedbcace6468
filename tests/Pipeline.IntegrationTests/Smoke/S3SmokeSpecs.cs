using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.IntegrationTests.Smoke;

/// <summary>Put, list, get and a 20 MB multipart upload against the harness's s3rver, bytes verified.</summary>
public sealed class S3SmokeSpecs
{
    private static AmazonS3Client Client() => new(
        new BasicAWSCredentials("S3RVER", "S3RVER"),
        new AmazonS3Config { ServiceURL = TestServices.S3Endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1" });

    [ServiceFact(Service.S3)]
    public async Task Should_return_the_same_bytes_when_objects_are_put_listed_and_got()
    {
        using var s3 = Client();
        var bucket = "smoke-" + Guid.NewGuid().ToString("N")[..12];
        await s3.PutBucketAsync(bucket);

        var small = RandomNumberGenerator.GetBytes(4096);
        // UseChunkEncoding = false: s3rver otherwise stores the aws-chunked framing as the body (PLATFORM.md).
        await s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = bucket, Key = "run/a.bin", InputStream = new MemoryStream(small), UseChunkEncoding = false,
        });

        var big = RandomNumberGenerator.GetBytes(20 * 1024 * 1024);
        var init = await s3.InitiateMultipartUploadAsync(bucket, "run/big.bin");
        const int partSize = 5 * 1024 * 1024;
        var parts = new List<PartETag>();
        for (int i = 0, part = 1; i < big.Length; i += partSize, part++)
        {
            var length = Math.Min(partSize, big.Length - i);
            var response = await s3.UploadPartAsync(new UploadPartRequest
            {
                BucketName = bucket, Key = "run/big.bin", UploadId = init.UploadId, PartNumber = part,
                InputStream = new MemoryStream(big, i, length), PartSize = length, UseChunkEncoding = false,
            });
            parts.Add(new PartETag(part, response.ETag));
        }
        await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
        {
            BucketName = bucket, Key = "run/big.bin", UploadId = init.UploadId, PartETags = parts,
        });

        var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = "run/" });
        Assert.Equal(["run/a.bin", "run/big.bin"], listed.S3Objects.Select(o => o.Key).Order(StringComparer.Ordinal));

        Assert.Equal(SHA256.HashData(small), SHA256.HashData(await GetAsync(s3, bucket, "run/a.bin")));
        Assert.Equal(SHA256.HashData(big), SHA256.HashData(await GetAsync(s3, bucket, "run/big.bin")));
    }

    private static async Task<byte[]> GetAsync(IAmazonS3 s3, string bucket, string key)
    {
        using var response = await s3.GetObjectAsync(bucket, key);
        using var buffer = new MemoryStream();
        await response.ResponseStream.CopyToAsync(buffer);
        return buffer.ToArray();
    }
}
