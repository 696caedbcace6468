using Pipeline.Testing;
using Xunit;

namespace Pipeline.IntegrationTests.Smoke;

/// <summary>The harness promises every service; a missing one must fail the run, not skip its tests.</summary>
public sealed class HarnessSpecs
{
    [Fact]
    public void Should_provide_every_service_when_running_under_the_harness()
    {
        if (!TestServices.UnderHarness)
        {
            // Outside the harness the service tests skip with a reason instead; that rule is checked here.
            Assert.NotNull(TestServices.SkipReason([Service.RabbitMq, Service.Mosquitto, Service.PostgreSql, Service.S3])
                ?? (AllSet() ? "all set by hand" : null));
            return;
        }

        foreach (var service in Enum.GetValues<Service>())
            Assert.False(string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(TestServices.VariableOf(service))),
                $"the harness did not provide {service} ({TestServices.VariableOf(service)})");
        Assert.Null(TestServices.SkipReason(Enum.GetValues<Service>()));
    }

    [Fact]
    public void Should_find_the_shared_corpus_when_it_is_beside_the_repository()
    {
        var beside = Path.GetFullPath(Path.Combine(RepositoryRoot(), "..", "shared", "data"));
        if (Directory.Exists(beside))
            Assert.Equal(Path.GetFullPath(Path.Combine(SharedData.Root!, "data")), beside);
        else
            Assert.Null(SharedData.Root);
    }

    private static bool AllSet() => Enum.GetValues<Service>()
        .All(s => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(TestServices.VariableOf(s))));

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "PipelineCluster.sln"))) return dir.FullName;
        throw new InvalidOperationException("not inside the repository");
    }
}
