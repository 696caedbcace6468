using Pipeline.Host.Configuration;
using Pipeline.Zarr.Storage;

namespace Pipeline.Host.Management;

/// <summary>
/// <c>GET /store/{key}</c>: the node's default store, when it is a local directory, read-only over HTTP (Range and
/// conditional requests), so that notifications can link to http URLs and xarray/fsspec can read a laptop's Zarr
/// remotely. Keys are validated like every store key: nothing outside the store's root is reachable.
/// </summary>
public static class StoreEndpoints
{
    public static IEndpointRouteBuilder MapStoreEndpoints(this IEndpointRouteBuilder app, IngestOptions ingest)
    {
        var address = ingest.Store;
        if (address.StartsWith("s3://", StringComparison.Ordinal)) return app;
        var root = Path.GetFullPath(address.StartsWith("file://", StringComparison.Ordinal) ? new Uri(address).LocalPath : address);
        app.MapMethods("/store/{**key}", ["GET", "HEAD"], (string key) =>
            {
                if (!StoreKey.IsValid(key)) return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad key", detail: $"'{key}' is not a store key");
                var path = Path.Combine(root, key.Replace('/', Path.DirectorySeparatorChar));
                if (!File.Exists(path)) return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such object", detail: $"no object '{key}' in the store");
                var info = new FileInfo(path);
                var type = key.EndsWith(".json", StringComparison.Ordinal) || key.EndsWith(".zarray", StringComparison.Ordinal) || key.EndsWith(".zattrs", StringComparison.Ordinal)
                           || key.EndsWith(".zgroup", StringComparison.Ordinal) || key.EndsWith(".zmetadata", StringComparison.Ordinal)
                    ? "application/json"
                    : key.EndsWith(".idx", StringComparison.Ordinal) ? "text/plain" : "application/octet-stream";
                var etag = new Microsoft.Net.Http.Headers.EntityTagHeaderValue($"\"{info.Length:x}-{info.LastWriteTimeUtc.Ticks:x}\"");
                return Results.File(path, type, lastModified: info.LastWriteTimeUtc, entityTag: etag, enableRangeProcessing: true);
            })
            .RequireReadAccess().WithTags("store").WithSummary("An object of the node's local default store (Range supported)");
        return app;
    }
}
