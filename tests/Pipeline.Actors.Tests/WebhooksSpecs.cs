using Pipeline.Actors.Catalog;
using Pipeline.Actors.ModelRuns;
using Xunit;
using static Pipeline.Actors.Tests.Fixtures;

namespace Pipeline.Actors.Tests;

public sealed class WebhooksSpecs
{
    private static readonly RunFinalization Done = new(Run, 2, "expected-count", RefTime.AddHours(5),
        [new FinalizedFile("a", "sha256:x", "TMP/000", "TMP", "000", new Uri("http://h/a"))], [],
        new OutputOptions { Store = "s3://bucket/zarr", Format = "zarr3", WnmTopic = "origin/a/wis2/x" });

    [Fact]
    public void Should_build_a_repository_dispatch_when_the_github_preset_is_configured()
    {
        var request = Webhooks.Build(Done, new WebhookOptions
        {
            Preset = WebhookOptions.GitHubRepositoryDispatchPreset, Repository = "octo/forecasts", EventType = "cansips-ready",
            TokenVariable = "GITHUB_TOKEN",
        });

        Assert.Equal("https://api.github.com/repos/octo/forecasts/dispatches", request.Url.ToString());
        Assert.Equal("application/vnd.github+json", request.Headers["Accept"]);
        var body = Webhooks.Parse(request);
        Assert.Equal("cansips-ready", (string?)body["event_type"]);
        var payload = body["client_payload"]!.AsObject();
        Assert.True(payload.Count <= 10, "GitHub allows at most 10 top-level client_payload keys");
        Assert.Equal(("test.model/2026-11-01T00Z", 2, 1), ((string?)payload["run_id"], (int)payload["generation"]!, (int)payload["indexed"]!));
        Assert.Equal("GITHUB_TOKEN", request.TokenVariable);
    }

    [Fact]
    public void Should_post_our_payload_to_the_url_when_the_generic_preset_is_configured()
    {
        var request = Webhooks.Build(Done, new WebhookOptions { Url = "https://example.org/hook", Headers = { ["X-Key"] = "k" } });

        Assert.Equal("https://example.org/hook", request.Url.ToString());
        Assert.Equal("k", request.Headers["X-Key"]);
        Assert.Equal("origin/a/wis2/x", (string?)Webhooks.Parse(request)["wnm_topic"]);
        Assert.Throws<ArgumentException>(() => Webhooks.Build(Done, new WebhookOptions { Preset = "smoke-signal" }));
    }
}
