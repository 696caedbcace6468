using System.Diagnostics;
using System.Net.Http.Json;
using Pipeline.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Pipeline.Host.Tests;

/// <summary>The status page in a real headless Chromium: its script fills the tables from the live API.</summary>
public sealed class StatusPageBrowserSpecs(ITestOutputHelper output)
{
    [ServiceFact(Service.Chromium)]
    public async Task Should_render_datasets_and_runs_from_the_live_api_when_opened_in_a_browser()
    {
        await using var node = await Nodes.StartAsync(new Dictionary<string, string?>
        {
            ["Pipeline:Datasets:0:Id"] = "browser.test",
            ["Pipeline:Datasets:0:PathPatterns:0"] = @"^(?<date>\d{8})/(?<run>\d{2})/(?<var>[A-Z]+)_(?<step>\d{3})\.grib2$",
            ["Pipeline:Datasets:0:Completeness:ExpectedCount"] = "4",
            ["Pipeline:Datasets:0:Outputs:Store"] = "file:///tmp/pipeline-browser-test",
        });
        using var http = node.Client(TestNode.Token);
        var admitted = await http.PostAsJsonAsync("/api/announcements", new { url = "http://127.0.0.1:1/20261101/00/TMP_000.grib2" });
        Assert.True(admitted.IsSuccessStatusCode, await admitted.Content.ReadAsStringAsync());

        var dir = Directory.CreateTempSubdirectory("pipeline-browser-");
        try
        {
            var screenshot = Path.Combine(dir.FullName, "status.png");
            // --dump-dom prints the DOM after the page's script ran; the virtual time budget lets its fetches finish.
            var dom = await Chromium(dir.FullName, "--dump-dom", node.Address.ToString());
            Assert.Contains("browser.test", dom);
            Assert.Contains("browser.test/2026-11-01T00Z", dom);
            Assert.Contains("running", dom);
            Assert.Contains("akka.tcp://pipeline-test@127.0.0.1:", dom);

            await Chromium(dir.FullName, $"--screenshot={screenshot}", node.Address.ToString());
            var png = await File.ReadAllBytesAsync(screenshot);
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
            Assert.True(png.Length > 10_000, $"a {png.Length}-byte screenshot is too small to show the page");
            var kept = Path.Combine(Environment.GetEnvironmentVariable("PIPELINE_TEST_WORK") ?? Path.GetTempPath(), "status-page.png");
            File.Copy(screenshot, kept, overwrite: true);
            output.WriteLine($"screenshot: {kept}");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static async Task<string> Chromium(string profile, string action, string url)
    {
        var start = new ProcessStartInfo(TestServices.Chromium) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[]
                 {
                     "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", $"--user-data-dir={Path.Combine(profile, "chromium")}",
                     "--window-size=1280,900", "--virtual-time-budget=10000", action, url,
                 })
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"chromium did not finish {action} within 3 minutes (the page kept loading); stderr: {await stderr}");
        }
        Assert.True(process.ExitCode == 0, $"chromium exited {process.ExitCode}: {await stderr}");
        return await stdout;
    }
}
