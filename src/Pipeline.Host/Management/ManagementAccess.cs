using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Pipeline.Host.Configuration;

namespace Pipeline.Host.Management;

/// <summary>
/// Bearer-token access to the management API: mutating endpoints always need the configured token; reading
/// endpoints need it when <c>Pipeline:Management:ReadsRequireToken</c> is true. The comparison is constant-time
/// and neither the expected nor the presented token ever appears in a log line or a response.
/// </summary>
public static class ManagementAccess
{
    /// <summary>Endpoints that change the cluster or the pipeline.</summary>
    public static TBuilder RequireWriteToken<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(new TokenFilter(mutating: true));

    /// <summary>Endpoints that only read.</summary>
    public static TBuilder RequireReadAccess<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(new TokenFilter(mutating: false));

    private sealed class TokenFilter(bool mutating) : IEndpointFilter
    {
        public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        {
            var settings = context.HttpContext.RequestServices.GetRequiredService<IOptions<PipelineSettings>>().Value.Management;
            if (!mutating && !settings.ReadsRequireToken) return next(context);

            var refusal = Check(settings.Token, context.HttpContext.Request.Headers.Authorization.ToString());
            if (refusal is null) return next(context);

            context.HttpContext.Response.Headers.WWWAuthenticate = $"Bearer error=\"invalid_token\", error_description=\"{refusal}\"";
            return ValueTask.FromResult<object?>(Results.Problem(
                title: "Unauthorized", detail: refusal, statusCode: StatusCodes.Status401Unauthorized));
        }
    }

    /// <summary>Null when the header carries the expected token; otherwise why not (never echoing a token).</summary>
    internal static string? Check(string? expected, string authorizationHeader)
    {
        if (string.IsNullOrEmpty(expected))
            return "this node has no management token configured (Pipeline:Management:Token), so this endpoint is closed";
        if (string.IsNullOrWhiteSpace(authorizationHeader))
            return "missing Authorization header: send 'Authorization: Bearer <token>'";
        const string scheme = "Bearer ";
        if (!authorizationHeader.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return "the Authorization header must use the Bearer scheme";
        var presented = authorizationHeader[scheme.Length..].Trim();
        // Hash both sides first so the comparison takes the same time whatever the lengths.
        var a = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        var b = SHA256.HashData(Encoding.UTF8.GetBytes(expected));
        return CryptographicOperations.FixedTimeEquals(a, b) ? null : "the bearer token is not the one this node accepts";
    }
}
