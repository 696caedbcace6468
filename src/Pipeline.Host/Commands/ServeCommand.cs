using System.CommandLine;
using Microsoft.Extensions.Options;

namespace Pipeline.Host.Commands;

/// <summary><c>pipeline serve [--config FILE]</c>: run one node until stopped.</summary>
public static class ServeCommand
{
    public static Command Build()
    {
        var config = new Option<FileInfo?>("--config") { Description = "JSON configuration file (keys under \"Pipeline\"; see README)" };
        var command = new Command("serve", "Run a node: cluster member, management API and the configured pipeline") { config };
        command.SetAction(async (parse, cancel) =>
        {
            WebApplication app;
            try
            {
                app = PipelineHost.Build([], parse.GetValue(config)?.FullName);
            }
            catch (Exception e) when (e is OptionsValidationException or FileNotFoundException or InvalidOperationException or FormatException)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"pipeline serve: invalid configuration: {e.Message}");
                return 2;
            }
            await app.RunAsync(cancel);
            return 0;
        });
        return command;
    }
}
