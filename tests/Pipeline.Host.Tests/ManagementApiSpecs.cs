using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Pipeline.Host.Management;
using Pipeline.Testing;
using Xunit;

namespace Pipeline.Host.Tests;

/// <summary>The management API over real HTTP against a running single-node cluster.</summary>
public sealed class ManagementApiSpecs
{
    [Fact]
    public async Task Should_report_live_and_ready_when_the_node_is_an_up_member()
    {
        await using var node = await Nodes.StartAsync();
        using var http = node.Client();

        var live = await http.GetAsync("/healthz/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        var ready = await http.GetFromJsonAsync<JsonElement>("/healthz/ready");
        Assert.Equal("Healthy", ready.GetProperty("status").GetString());
        Assert.Contains(ready.GetProperty("checks").EnumerateArray(), c => c.GetProperty("name").GetString() == "cluster-member");
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task Should_list_the_node_as_up_when_members_are_asked_for()
    {
        await using var node = await Nodes.StartAsync();
        using var http = node.Client();

        var members = await http.GetFromJsonAsync<ClusterEndpoints.MembersView>("/cluster/members", JsonSerializerOptions.Web);
        Assert.NotNull(members);
        var self = Assert.Single(members.Members);
        Assert.Equal(members.SelfNode, self.Node);
        Assert.Equal("Up", self.Status);
        Assert.StartsWith("akka.tcp://pipeline-test@127.0.0.1:", self.Node);
        Assert.Equal(self.Node, members.Leader);
        Assert.Empty(members.Unreachable);

        var one = await http.GetAsync("/cluster/members/" + Uri.EscapeDataString(self.Node));
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        var shortForm = await http.GetAsync("/cluster/members/" + self.Node["akka.tcp://".Length..]);
        Assert.Equal(HttpStatusCode.OK, shortForm.StatusCode);

        var unknown = await http.GetAsync("/cluster/members/" + Uri.EscapeDataString("akka.tcp://pipeline-test@10.0.0.1:1"));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("10.0.0.1", await unknown.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Should_refuse_member_operations_with_a_reason_when_the_token_is_missing_or_wrong()
    {
        await using var node = await Nodes.StartAsync();
        using var anonymous = node.Client();
        using var wrong = node.Client("not-the-token-at-all-xxxxx");
        var self = (await anonymous.GetFromJsonAsync<ClusterEndpoints.MembersView>("/cluster/members", JsonSerializerOptions.Web))!.SelfNode;
        var path = "/cluster/members/" + Uri.EscapeDataString(self) + "?operation=leave";

        var missing = await anonymous.PutAsync(path, null);
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Contains("missing Authorization header", await missing.Content.ReadAsStringAsync());

        var refused = await wrong.PutAsync(path, null);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        var body = await refused.Content.ReadAsStringAsync();
        Assert.Contains("not the one this node accepts", body);
        Assert.DoesNotContain(TestNode.Token, body);
        Assert.DoesNotContain("not-the-token-at-all", body);
        Assert.DoesNotContain(TestNode.Token, refused.Headers.WwwAuthenticate.ToString());

        // Still a member: nothing happened.
        var members = await anonymous.GetFromJsonAsync<ClusterEndpoints.MembersView>("/cluster/members", JsonSerializerOptions.Web);
        Assert.Equal("Up", Assert.Single(members!.Members).Status);
    }

    [Fact]
    public async Task Should_reject_an_unknown_operation_when_the_token_is_right()
    {
        await using var node = await Nodes.StartAsync();
        using var http = node.Client(TestNode.Token);
        var self = (await http.GetFromJsonAsync<ClusterEndpoints.MembersView>("/cluster/members", JsonSerializerOptions.Web))!.SelfNode;

        var response = await http.PutAsync("/cluster/members/" + Uri.EscapeDataString(self),
            new FormUrlEncodedContent([new("operation", "explode")]));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("'leave' or 'down'", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Should_make_the_member_leave_when_asked_with_the_token()
    {
        await using var node = await Nodes.StartAsync();
        using var http = node.Client(TestNode.Token);
        var self = (await http.GetFromJsonAsync<ClusterEndpoints.MembersView>("/cluster/members", JsonSerializerOptions.Web))!.SelfNode;

        var response = await http.PutAsync("/cluster/members/" + Uri.EscapeDataString(self),
            new FormUrlEncodedContent([new("operation", "leave")]));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Leaving", await response.Content.ReadAsStringAsync());
        // Leaving takes the member out of Up, so the node is no longer ready.
        await Pipeline.Testing.Eventually.HoldsAsync(() => http.GetAsync("/healthz/ready"),
            r => r.StatusCode == HttpStatusCode.ServiceUnavailable, what: "not ready after leaving");
    }

    [Fact]
    public async Task Should_close_reading_endpoints_when_reads_require_the_token()
    {
        await using var node = await Nodes.StartAsync(new Dictionary<string, string?> { ["Pipeline:Management:ReadsRequireToken"] = "true" });
        using var anonymous = node.Client();
        using var authorised = node.Client(TestNode.Token);

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/cluster/members")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await authorised.GetAsync("/cluster/members")).StatusCode);
        // Probes stay open.
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/healthz/live")).StatusCode);
    }

    [Fact]
    public async Task Should_answer_not_found_when_the_shard_region_is_unknown()
    {
        await using var node = await Nodes.StartAsync();
        using var http = node.Client();
        var response = await http.GetAsync("/cluster/shards/no-such-region");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("no-such-region", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Should_serve_openapi_docs_and_metrics_when_asked()
    {
        await using var node = await Nodes.StartAsync();
        using var http = node.Client();

        var openApi = await http.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var paths = openApi.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("/cluster/members", paths);
        Assert.Contains(paths, p => p.StartsWith("/cluster/shards/", StringComparison.Ordinal));

        var docs = await http.GetAsync("/docs");
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        Assert.Contains("text/html", docs.Content.Headers.ContentType?.MediaType);

        var metrics = await http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
    }
}

/// <summary>The status page is served by every node.</summary>
public sealed class StatusPageSpecs
{
    [Fact]
    public async Task Should_serve_the_status_page_at_the_root_when_reads_are_open()
    {
        await using var node = await Nodes.StartAsync();
        using var http = node.Client();
        var page = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<title>PipelineCluster status</title>", html);
        // The page reads the same API an operator does.
        Assert.Contains("/api/datasets", html);
        Assert.Contains("/cluster/members", html);
    }
}
