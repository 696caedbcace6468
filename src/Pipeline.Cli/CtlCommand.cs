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

    /// <param name="environment">Where PIPELINE_URL and PIPELINE_TOKEN are read (the process environment by default).</param>
    public static RootCommand Build(Func<string, string?>? environment = null)
    {
        var env = environment ?? Environment.GetEnvironmentVariable;
        var root = new RootCommand(
            "pipelinectl: inspect and steer a running PipelineCluster over its management HTTP API " +
            "(node from --url or PIPELINE_URL, token from PIPELINE_TOKEN).")
        {
            Url,
            Json,
        };
        root.Subcommands.Add(ClusterCommands.Cluster(env));
        root.Subcommands.Add(ClusterCommands.Shards(env));
        root.Subcommands.Add(DomainCommands.Datasets(env));
        root.Subcommands.Add(DomainCommands.Dataset(env));
        root.Subcommands.Add(DomainCommands.Runs(env));
        root.Subcommands.Add(DomainCommands.Run(env));
        root.Subcommands.Add(DomainCommands.Announce(env));
        root.Subcommands.Add(DomainCommands.Watch(env));
        root.Subcommands.Add(DeadLetterCommands.Build(env));
        root.Subcommands.Add(PackagingCommands.Boundaries(env));
        root.Subcommands.Add(PackagingCommands.Jobs(env));
        return root;
    }
}
