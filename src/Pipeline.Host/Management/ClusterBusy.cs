using Akka.Actor;

namespace Pipeline.Host.Management;

/// <summary>
/// An ask that the cluster did not answer in <c>Pipeline:Management:AskTimeout</c> (a shard starting or moving after a
/// node left, an entity recovering a long journal, an overloaded node) is a 503 with <c>Retry-After</c> and a reason,
/// not an unexplained 500: the request may be repeated as it is (an announcement admitted by the first try is a
/// duplicate on the repeat, a job submitted twice is one job, and a refresh or replay done twice writes the same keys
/// with the same bytes).
/// </summary>
public static class ClusterBusy
{
    /// <summary>Seconds a client is asked to wait before trying again.</summary>
    public const int RetryAfterSeconds = 2;

    public static TBuilder AnswerBusyOnAskTimeout<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(new Filter());

    internal sealed class Filter : IEndpointFilter
    {
        public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        {
            try
            {
                return await next(context).ConfigureAwait(false);
            }
            catch (AskTimeoutException e)
            {
                var request = context.HttpContext.Request;
                context.HttpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "The cluster did not answer in time",
                    detail: $"{request.Method} {request.Path}: {e.Message}. A shard may be starting or moving (a node joined or left) or the " +
                            $"node is overloaded; nothing was lost and the request can be repeated as it is (retry after {RetryAfterSeconds} s; " +
                            "Pipeline:Management:AskTimeout sets how long the API waits).");
            }
        }
    }
}
