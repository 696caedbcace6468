using System.Text.Json;
using Akka.Actor;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pipeline.Host.Management;
using Xunit;

namespace Pipeline.Host.Tests;

/// <summary>
/// An ask the cluster does not answer in time reaches an API client as a 503 with Retry-After and a reason naming the
/// request, not as an unexplained 500; every other outcome passes through untouched.
/// </summary>
public sealed class ClusterBusySpecs
{
    private static async Task<(HttpContext Http, object? Result)> InvokeAsync(EndpointFilterDelegate next)
    {
        var services = new ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider();
        var http = new DefaultHttpContext { RequestServices = services };
        http.Request.Method = "POST";
        http.Request.Path = "/api/announcements";
        http.Response.Body = new MemoryStream();
        var result = await new ClusterBusy.Filter().InvokeAsync(new DefaultEndpointFilterInvocationContext(http), next);
        return (http, result);
    }

    [Fact]
    public async Task Should_answer_503_with_retry_after_and_the_request_when_an_ask_times_out()
    {
        var (http, result) = await InvokeAsync(_ => throw new AskTimeoutException("Timeout after 00:00:10 seconds"));

        Assert.Equal("2", http.Response.Headers.RetryAfter.ToString());
        var problem = Assert.IsAssignableFrom<IResult>(result);
        await problem.ExecuteAsync(http);
        Assert.Equal(StatusCodes.Status503ServiceUnavailable, http.Response.StatusCode);
        http.Response.Body.Position = 0;
        var body = await JsonDocument.ParseAsync(http.Response.Body);
        var detail = body.RootElement.GetProperty("detail").GetString()!;
        Assert.Contains("POST /api/announcements", detail);
        Assert.Contains("Timeout after 00:00:10", detail);
        Assert.Contains("repeated", detail);
    }

    [Fact]
    public async Task Should_pass_other_results_and_other_failures_through_untouched()
    {
        var ok = Results.Ok("fine");
        var (_, result) = await InvokeAsync(_ => ValueTask.FromResult<object?>(ok));
        Assert.Same(ok, result);

        await Assert.ThrowsAsync<InvalidOperationException>(() => InvokeAsync(_ => throw new InvalidOperationException("a bug")));
    }
}
