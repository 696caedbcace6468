using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Actors.ModelRuns;

namespace Pipeline.Actors.Catalog;

/// <summary>A downstream trigger to send: POST <see cref="Url"/> with the JSON <see cref="Body"/>.</summary>
/// <param name="TokenVariable">The environment variable holding the bearer token, if any (the sender reads it).</param>
public sealed record WebhookRequest(Uri Url, string Body, IReadOnlyDictionary<string, string> Headers, string? TokenVariable);

/// <summary>Builds the downstream trigger of a finalized run from the dataset's <see cref="WebhookOptions"/>.</summary>
public static class Webhooks
{
    public static readonly Uri GitHubApi = new("https://api.github.com/");

    public static WebhookRequest Build(RunFinalization run, WebhookOptions options)
    {
        var payload = new JsonObject
        {
            ["run_id"] = run.RunId.ToString(),
            ["dataset"] = run.RunId.Dataset.Value,
            ["reference_time"] = run.RunId.ReferenceTime.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            ["generation"] = run.Generation,
            ["reason"] = run.Reason,
            ["completed_at"] = run.CompletedAt.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            ["indexed"] = run.Indexed.Count,
            ["failed"] = run.Failed.Count,
            ["store"] = run.Outputs.Store,
            ["format"] = run.Outputs.Format,
        };
        var headers = new Dictionary<string, string>(options.Headers, StringComparer.OrdinalIgnoreCase);
        switch (options.Preset)
        {
            case WebhookOptions.GitHubRepositoryDispatchPreset:
            {
                // repository_dispatch: client_payload may have at most 10 top-level keys (it has exactly 10).
                var url = string.IsNullOrWhiteSpace(options.Url)
                    ? new Uri(GitHubApi, $"repos/{options.Repository}/dispatches")
                    : new Uri(options.Url);
                headers.TryAdd("Accept", "application/vnd.github+json");
                headers.TryAdd("X-GitHub-Api-Version", "2022-11-28");
                var body = new JsonObject { ["event_type"] = options.EventType, ["client_payload"] = payload };
                return new WebhookRequest(url, body.ToJsonString(), headers, options.TokenVariable);
            }
            case WebhookOptions.GenericPreset:
                payload["wnm_topic"] = run.Outputs.WnmTopic;
                return new WebhookRequest(new Uri(options.Url ?? throw new ArgumentException("a generic webhook needs a Url", nameof(options))),
                    payload.ToJsonString(), headers, options.TokenVariable);
            default:
                throw new ArgumentException($"unknown webhook preset '{options.Preset}'", nameof(options));
        }
    }

    /// <summary>Parses a body back (for tests and the dry-run command).</summary>
    public static JsonNode Parse(WebhookRequest request) => JsonNode.Parse(request.Body) ?? throw new JsonException("empty webhook body");
}
