namespace Pipeline.Testing;

/// <summary>
/// Traits the harness schedules by. A <see cref="BrokerRestart"/> test stops and starts a broker that other test
/// assemblies share, so <c>./build.sh test</c> runs those tests on their own, after everything else.
/// </summary>
public static class TestCategories
{
    public const string Category = "Category";

    public const string BrokerRestart = "BrokerRestart";

    /// <summary>Multi-process cluster tests (several <c>pipeline serve</c> nodes): part of the normal suite, a few minutes each.</summary>
    public const string Cluster = "Cluster";
}
