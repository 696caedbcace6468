using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Host.Demo;
using Pipeline.Streams.Announcements;
using Pipeline.Streams.Ingest;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Host.Tests.Ingest;

/// <summary>A polled directory as a configured source, and the dead-letter endpoints, on a real node.</summary>
public sealed class PollAndDeadLetterSpecs
{
    [Fact]
    public async Task Should_ingest_a_run_from_a_polled_directory_listing_without_any_broker()
    {
        var root = Directory.CreateTempSubdirectory("pipeline-poll-");
        try
        {
            var run = DemoModelRun.Generate(Path.Combine(root.FullName, "served"), new DemoModelRunOptions { Resolution = 5, LastStep = 12 });
            await using var server = await DemoDataServer.StartAsync(run.Directory);
            server.PublishAll(run);
            await using var node = await Nodes.StartAsync(new Dictionary<string, string?>
            {
                ["Pipeline:Datasets:0:Id"] = "polled",
                ["Pipeline:Datasets:0:PathPatterns:0"] = @"(?<date>\d{8})/(?<run>\d{2})/[a-z]+\.t\d{2}z\.pgrb2\.[0-9a-z]+\.f(?<step>\d{3})$",
                ["Pipeline:Datasets:0:Completeness:ExpectedCount"] = run.Files.Count.ToString(),
                ["Pipeline:Datasets:0:Outputs:Store"] = Path.Combine(root.FullName, "store"),
                ["Pipeline:Sources:0:Name"] = "listing",
                ["Pipeline:Sources:0:Type"] = "poll",
                ["Pipeline:Sources:0:Uri"] = server.BaseUrl + "/",
                ["Pipeline:Sources:0:Depth"] = "2",
                ["Pipeline:Sources:0:Interval"] = "00:00:01",
            });
            using var http = node.Client();
            var runId = Uri.EscapeDataString("polled/" + run.RunTime.ToString("yyyy-MM-dd'T'HH'Z'"));
            var view = await Eventually.HoldsAsync(async () => await http.GetAsync("/api/runs/" + runId) is { IsSuccessStatusCode: true } r
                    ? await r.Content.ReadFromJsonAsync<JsonElement>() : default,
                v => v.ValueKind == JsonValueKind.Object && v.GetProperty("finalizedGeneration").ValueKind == JsonValueKind.Number, TimeSpan.FromMinutes(3),
                "the polled run finalized");
            Assert.Equal(run.Files.Count, view.GetProperty("indexed").GetInt32());
            // Later passes announce nothing new: still one admission per file.
            Assert.Equal(run.Files.Count, view.GetProperty("files").GetArrayLength());
        }
        finally
        {
            try
            {
                root.Delete(recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    [Fact]
    public async Task Should_list_replay_and_delete_parked_messages_over_the_api()
    {
        await using var node = await Nodes.StartAsync(new Dictionary<string, string?>
        {
            ["Pipeline:Datasets:0:Id"] = "dl",
            ["Pipeline:Datasets:0:PathPatterns:0"] = @"^(?<date>\d{8})/(?<run>\d{2})/x\.grib2$",
            ["Pipeline:Datasets:0:Completeness:ExpectedCount"] = "1",
        });
        var injector = node.App.Services.GetRequiredService<AnnouncementInjector>();
        Assert.True(await injector.InjectAsync(new InboundMessage("feed", "v03.x", "{ not json")));
        Assert.True(await injector.InjectAsync(new InboundMessage("feed", "v03.x",
            """{"pubTime":"20261124T000000","baseUrl":"http://127.0.0.1:1","relPath":"nowhere/y.grib2"}""")));

        using var reader = node.Client();
        using var writer = node.Client(TestNode.Token);
        var page = await reader.GetFromJsonAsync<JsonElement>("/api/deadletters?source=feed");
        Assert.Equal(2, page.GetProperty("total").GetInt32());
        var letters = page.GetProperty("letters").EnumerateArray().ToList();
        Assert.Contains(letters, l => l.GetProperty("reason").GetString()!.Contains("no dataset"));
        var ids = letters.Select(l => l.GetProperty("id").GetString()!).ToList();

        Assert.Equal(HttpStatusCode.Unauthorized, (await reader.PostAsJsonAsync("/api/deadletters/replay", new { ids })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await writer.PostAsJsonAsync("/api/deadletters/replay", new { })).StatusCode);

        // Replayed: both go through parse and admission again, are parked again (still bad) as new letters; the old ones are gone.
        var report = await (await writer.PostAsJsonAsync("/api/deadletters/replay", new { ids })).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(2, report.GetProperty("replayed").GetInt32());
        var after = await reader.GetFromJsonAsync<JsonElement>("/api/deadletters?source=feed");
        var newIds = after.GetProperty("letters").EnumerateArray().Select(l => l.GetProperty("id").GetString()!).ToList();
        Assert.Equal(2, newIds.Count);
        Assert.Empty(newIds.Intersect(ids));

        Assert.Equal(HttpStatusCode.NoContent, (await writer.DeleteAsync("/api/deadletters/" + newIds[0])).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await writer.DeleteAsync("/api/deadletters/" + newIds[0])).StatusCode);
        Assert.Equal(1, (await reader.GetFromJsonAsync<JsonElement>("/api/deadletters")).GetProperty("total").GetInt32());
    }

    [Theory]
    [InlineData("amqp", "amqp://guest:secret-password@127.0.0.1:1/", "not connected to amqp://127.0.0.1:1/")]
    [InlineData("mqtt", "mqtt://guest:secret-password@127.0.0.1:1", "127.0.0.1:1")]
    public async Task Should_not_be_ready_and_say_why_while_a_configured_broker_is_unreachable(string type, string uri, string why)
    {
        await using var node = await StartWithSource(type, uri);
        var ready = await Eventually.HoldsAsync(() => node.Http.GetAsync("/healthz/ready"),
            r => r.StatusCode == HttpStatusCode.ServiceUnavailable && r.Content.ReadAsStringAsync().Result.Contains(why), what: "not ready, saying why");
        var body = await ready.Content.ReadAsStringAsync();
        Assert.Contains("nowhere", body);
        Assert.DoesNotContain("secret-password", body);
    }

    [ServiceFact(Service.Mosquitto)]
    public async Task Should_be_ready_once_a_configured_mqtt_source_is_subscribed()
    {
        var (host, port) = TestServices.Mqtt;
        await using var node = await StartWithSource("mqtt", $"mqtt://{host}:{port}");
        var ready = await Eventually.HoldsAsync(() => node.Http.GetAsync("/healthz/ready"), r => r.IsSuccessStatusCode,
            TimeSpan.FromMinutes(2), "ready with the MQTT source subscribed");
        Assert.DoesNotContain("nowhere", await ready.Content.ReadAsStringAsync());
    }

    private static async Task<BareNode> StartWithSource(string type, string uri)
    {
        var data = Directory.CreateTempSubdirectory("pipeline-ready-");
        var app = PipelineHost.Build([], overrides: new Dictionary<string, string?>
        {
            ["Pipeline:Persistence:DataDirectory"] = data.FullName,
            ["Pipeline:Ingest:DataDirectory"] = data.FullName,
            ["Pipeline:Node:Port"] = "0",
            ["Pipeline:Management:Urls"] = "http://127.0.0.1:0",
            ["Pipeline:Datasets:0:Id"] = "r",
            ["Pipeline:Datasets:0:PathPatterns:0"] = @"^(?<date>\d{8})/(?<run>\d{2})/x$",
            ["Pipeline:Datasets:0:Completeness:ExpectedCount"] = "1",
            ["Pipeline:Sources:0:Name"] = "nowhere",
            ["Pipeline:Sources:0:Type"] = type,
            ["Pipeline:Sources:0:Uri"] = uri,
            ["Pipeline:Sources:0:Topics:0"] = type == "amqp" ? "v03.#" : "origin/a/wis2/zz-ready/#",
        });
        await app.StartAsync();
        var url = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First();
        return new BareNode(app, new HttpClient { BaseAddress = new Uri(url) }, data);
    }

    private sealed record BareNode(Microsoft.AspNetCore.Builder.WebApplication App, HttpClient Http, DirectoryInfo Data) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await App.StopAsync();
            await App.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                Data.Delete(recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
