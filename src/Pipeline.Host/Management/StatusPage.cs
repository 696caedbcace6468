namespace Pipeline.Host.Management;

/// <summary>
/// The status page at <c>/</c>: cluster members, datasets, runs in progress with per-file progress and recent
/// failures, refreshed every 2 s from the management API. One self-contained HTML file, embedded in the assembly.
/// </summary>
public static class StatusPage
{
    private static readonly Lazy<byte[]> Html = new(() =>
    {
        using var stream = typeof(StatusPage).Assembly.GetManifestResourceStream("Pipeline.Host.status.html")
                           ?? throw new InvalidOperationException("status.html is not embedded in the host assembly");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    });

    public static IEndpointRouteBuilder MapStatusPage(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", () => Results.Bytes(Html.Value, "text/html; charset=utf-8"))
            .RequireReadAccess().ExcludeFromDescription();
        return app;
    }
}
