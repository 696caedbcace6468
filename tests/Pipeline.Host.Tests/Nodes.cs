using Pipeline.Testing;

namespace Pipeline.Host.Tests;

internal static class Nodes
{
    public static Task<TestNode> StartAsync(IReadOnlyDictionary<string, string?>? extra = null) =>
        TestNode.StartAsync(settings => PipelineHost.Build([], overrides: settings), extra);
}
