using Microsoft.Extensions.DependencyInjection;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Pipeline.Streams.Ingest;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Host.Tests;

/// <summary>The dataset, run and announcement endpoints over real HTTP, on a node with a SQLite journal.</summary>
public sealed class DomainApiSpecs
{
    private const string Dataset = "test.gdps";

    private static readonly Dictionary<string, string?> Catalog = new()
    {
        ["Pipeline:Datasets:0:Id"] = Dataset,
        ["Pipeline:Datasets:0:PathPatterns:0"] = @"^(?<date>\d{8})/(?<run>\d{2})/(?<var>[A-Z]+)_(?<step>\d{3})\.grib2$",
        ["Pipeline:Datasets:0:Completeness:ExpectedCount"] = "3",
        ["Pipeline:Datasets:0:Outputs:Store"] = "file:///tmp/pipeline-test-store",
        // No processing graph: these specs look at what the entities hand to the work queue.
        ["Pipeline:Ingest:Enabled"] = "false",
    };

    private static Task<TestNode> StartAsync() => Nodes.StartAsync(Catalog);

    // Same bytes = same data id and checksum: that is what makes a second announcement a duplicate.
    private static Task<HttpResponseMessage> Announce(HttpClient http, string relPath, string? dataset = null) =>
        http.PostAsJsonAsync("/api/announcements", new
        {
            url = "http://127.0.0.1:1/" + relPath, dataset, size = 10,
            integrityMethod = "sha256", integrityValue = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        });

    [Fact]
    public async Task Should_list_configured_datasets_with_their_state()
    {
        await using var node = await StartAsync();
        using var http = node.Client();
        var datasets = await http.GetFromJsonAsync<JsonElement>("/api/datasets");
        var one = Assert.Single(datasets.EnumerateArray());
        Assert.Equal(Dataset, one.GetProperty("id").GetString());
        Assert.False(one.GetProperty("status").GetProperty("paused").GetBoolean());

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/datasets/" + Dataset)).StatusCode);
        var unknown = await http.GetAsync("/api/datasets/nope");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains(Dataset, await unknown.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Should_admit_an_announcement_once_and_hand_it_to_the_work_queue_when_injected_by_hand()
    {
        await using var node = await StartAsync();
        using var http = node.Client(TestNode.Token);

        var first = await Announce(http, "20261101/00/TMP_000.grib2");
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal("Admitted", (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("verdict").GetString());

        var again = await Announce(http, "20261101/00/TMP_000.grib2");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal("Duplicate", (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("verdict").GetString());

        // The entity owns the file and offered it to this node's processing graph.
        var queue = node.App.Services.GetRequiredService<FileWorkQueue>();
        var work = await Eventually.HoldsAsync(() => Task.FromResult(queue.Reader.TryPeek(out var w) ? w : null), w => w is not null, what: "file offered to the work queue");
        Assert.Equal("20261101/00/TMP_000.grib2", work!.Announcement.RelPath);

        var run = await http.GetFromJsonAsync<JsonElement>("/api/runs/" + Uri.EscapeDataString(Dataset + "/2026-11-01T00Z"));
        Assert.Equal(1, run.GetProperty("admitted").GetInt32());
        Assert.Single(run.GetProperty("files").EnumerateArray());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/api/runs/{Dataset}/2026-11-01T00Z")).StatusCode);

        var runs = await http.GetFromJsonAsync<JsonElement>("/api/runs?dataset=" + Dataset);
        var summary = Assert.Single(runs.GetProperty("runs").EnumerateArray());
        Assert.Equal("in-progress", summary.GetProperty("status").GetString());
        Assert.Empty((await http.GetFromJsonAsync<JsonElement>("/api/runs?status=finalized")).GetProperty("runs").EnumerateArray());
    }

    [Fact]
    public async Task Should_refuse_announcements_with_a_reason_when_they_are_bad_or_unauthorised()
    {
        await using var node = await StartAsync();
        using var anonymous = node.Client();
        using var http = node.Client(TestNode.Token);

        Assert.Equal(HttpStatusCode.Unauthorized, (await Announce(anonymous, "20261101/00/TMP_000.grib2")).StatusCode);

        var noMatch = await Announce(http, "somewhere/else.grib2");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, noMatch.StatusCode);
        Assert.Contains("somewhere/else.grib2", await noMatch.Content.ReadAsStringAsync());

        var badScheme = await http.PostAsJsonAsync("/api/announcements", new { url = "file:///etc/passwd" });
        Assert.Equal(HttpStatusCode.BadRequest, badScheme.StatusCode);
        Assert.Contains("http, https or s3", await badScheme.Content.ReadAsStringAsync());

        var unknownDataset = await Announce(http, "20261101/00/TMP_000.grib2", "nope");
        Assert.Equal(HttpStatusCode.NotFound, unknownDataset.StatusCode);
    }

    [Fact]
    public async Task Should_defer_admission_while_paused_and_admit_again_after_resume()
    {
        await using var node = await StartAsync();
        using var http = node.Client(TestNode.Token);

        var paused = await http.PostAsync($"/api/datasets/{Dataset}/pause?reason=maintenance", null);
        Assert.Equal(HttpStatusCode.OK, paused.StatusCode);
        Assert.Equal("maintenance", (await paused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("pauseReason").GetString());

        var deferred = await Announce(http, "20261101/06/TMP_000.grib2");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, deferred.StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync($"/api/datasets/{Dataset}/resume", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await Announce(http, "20261101/06/TMP_000.grib2")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await node.Client().PostAsync($"/api/datasets/{Dataset}/pause", null)).StatusCode);
    }

    [Fact]
    public async Task Should_refresh_a_run_and_say_when_the_run_is_unknown()
    {
        await using var node = await StartAsync();
        using var http = node.Client(TestNode.Token);
        Assert.Equal(HttpStatusCode.Created, (await Announce(http, "20261101/12/TMP_000.grib2")).StatusCode);

        var before = (await http.GetFromJsonAsync<JsonElement>($"/api/runs/{Dataset}/2026-11-01T12Z")).GetProperty("generation").GetInt32();
        var refresh = await http.PostAsync($"/api/runs/{Dataset}/2026-11-01T12Z/refresh?reason=test", null);
        Assert.Equal(HttpStatusCode.Accepted, refresh.StatusCode);
        var accepted = await refresh.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(before + 1, accepted.GetProperty("generation").GetInt32());
        Assert.Equal(1, accepted.GetProperty("files").GetInt32());

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/api/runs/{Dataset}/2030-01-01T00Z")).StatusCode);
        var bad = await http.GetAsync("/api/runs/" + Uri.EscapeDataString("not a run"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Should_refresh_every_run_in_a_window_with_one_request_and_refuse_a_bad_window()
    {
        await using var node = await StartAsync();
        using var http = node.Client(TestNode.Token);
        foreach (var rel in new[] { "20261101/00/TMP_000.grib2", "20261101/12/TMP_000.grib2", "20261102/00/TMP_000.grib2" })
            Assert.Equal(HttpStatusCode.Created, (await Announce(http, rel)).StatusCode);

        // The window takes the runs whose reference time lies in it, both ends included: 00Z and 12Z of the 1st.
        var refresh = await http.PostAsync($"/api/datasets/{Dataset}/refresh?from=2026-11-01T00:00Z&to=2026-11-01T12:00Z&reason=reprocess", null);
        Assert.Equal(HttpStatusCode.Accepted, refresh.StatusCode);
        var accepted = await refresh.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal([$"{Dataset}/2026-11-01T00Z", $"{Dataset}/2026-11-01T12Z"],
            accepted.GetProperty("runs").EnumerateArray().Select(r => r.GetString()!).Order(StringComparer.Ordinal).ToArray());
        Assert.Equal("reprocess", accepted.GetProperty("reason").GetString());
        // Each refreshed run moves to its next generation; the run outside the window does not.
        foreach (var (run, generation) in new[] { ("2026-11-01T00Z", 1), ("2026-11-01T12Z", 1), ("2026-11-02T00Z", 0) })
            await Eventually.HoldsAsync(() => http.GetFromJsonAsync<JsonElement>($"/api/runs/{Dataset}/{run}"),
                r => r.GetProperty("generation").GetInt32() == generation, what: $"{run} at generation {generation}");

        foreach (var query in new[] { "from=2026-11-02T00:00Z&to=2026-11-01T00:00Z", "from=yesterday&to=2026-11-01T00:00Z", "to=2026-11-01T00:00Z" })
        {
            var bad = await http.PostAsync($"/api/datasets/{Dataset}/refresh?{query}", null);
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("from", await bad.Content.ReadAsStringAsync());
        }
        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync("/api/datasets/nope/refresh?from=2026-11-01T00:00Z&to=2026-11-02T00:00Z", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized,
            (await node.Client().PostAsync($"/api/datasets/{Dataset}/refresh?from=2026-11-01T00:00Z&to=2026-11-02T00:00Z", null)).StatusCode);
    }

    [Fact]
    public async Task Should_give_back_a_runs_announcements_as_journaled_with_each_raw_message()
    {
        await using var node = await StartAsync();
        using var http = node.Client(TestNode.Token);
        Assert.Equal(HttpStatusCode.Created, (await Announce(http, "20261101/06/TMP_000.grib2")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await Announce(http, "20261101/06/TMP_003.grib2")).StatusCode);

        var journaled = await http.GetFromJsonAsync<JsonElement>($"/api/runs/{Dataset}/2026-11-01T06Z/announcements");
        var items = journaled.EnumerateArray().ToList();
        Assert.Equal(["20261101/06/TMP_000.grib2", "20261101/06/TMP_003.grib2"], items.Select(a => a.GetProperty("relPath").GetString()!).ToArray());
        Assert.Equal("http://127.0.0.1:1/20261101/06/TMP_003.grib2", items[1].GetProperty("url").GetString());
        Assert.Equal("sha256", items[1].GetProperty("integrityMethod").GetString());
        // The raw message is what was received: here the manual announcement's own JSON body.
        var raw = JsonDocument.Parse(items[1].GetProperty("rawMessage").GetString()!).RootElement;
        Assert.Equal("http://127.0.0.1:1/20261101/06/TMP_003.grib2", raw.GetProperty("url").GetString());
        var encoded = await http.GetFromJsonAsync<JsonElement>("/api/runs/" + Uri.EscapeDataString($"{Dataset}/2026-11-01T06Z") + "/announcements");
        Assert.Equal(2, encoded.GetArrayLength());

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/api/runs/{Dataset}/2030-01-01T00Z/announcements")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/api/runs/" + Uri.EscapeDataString("not a run") + "/announcements")).StatusCode);
    }
}
