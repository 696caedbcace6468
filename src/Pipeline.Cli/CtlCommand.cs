using System.CommandLine;
using Pipeline.Cli.Commands;

namespace Pipeline.Cli;

/// <summary>The <c>pipelinectl</c> command line: live inspection and control of a running cluster over its management API.</summary>
public static class CtlCommand
{
    /// <summary><c>--url</c>: the node to talk to (else <c>PIPELINE_URL</c>, else http://127.0.0.1:8558).</summary>
    public static readonly Option<string?> Url = new("--url")
    {
        Description = $"Management URL of any node (default: ${ManagementClient.UrlVariable} or {ManagementClient.DefaultUrl}); the token comes from ${ManagementClient.TokenVariable}",
        Recursive = true,
    };

    /// <summary><c>--json</c>: print the API's JSON instead of tables, for scripts.</summary>
    public static readonly Option<bool> Json = new("--json") { Description = "Print JSON instead of tables", Recursive = true };

    public static RootCommand Build()
    {
        var root = new RootCommand(
            "pipelinectl: inspect and steer a running PipelineCluster over its management HTTP API " +
            "(node from --url or PIPELINE_URL, token from PIPELINE_TOKEN).")
        {
            Url,
            Json,
        };
        root.Subcommands.Add(ClusterCommands.Cluster());
        root.Subcommands.Add(ClusterCommands.Shards());
        return root;
    }
}
