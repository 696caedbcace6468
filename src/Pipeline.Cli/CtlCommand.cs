using System.CommandLine;

namespace Pipeline.Cli;

/// <summary>The <c>pipelinectl</c> command line: live inspection and control of a running cluster over its management API.</summary>
public static class CtlCommand
{
    public static RootCommand Build()
    {
        var root = new RootCommand(
            "pipelinectl: inspect and steer a running PipelineCluster over its management HTTP API " +
            "(node from --url or PIPELINE_URL, token from PIPELINE_TOKEN).");
        return root;
    }
}
