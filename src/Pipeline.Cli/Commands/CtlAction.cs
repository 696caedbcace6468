using System.CommandLine;
using System.Text.Json;
using Spectre.Console;

namespace Pipeline.Cli.Commands;

/// <summary>What every pipelinectl action gets: the node's client, the output console and whether to print JSON.</summary>
public sealed class CtlContext(ManagementClient client, IAnsiConsole console, TextWriter output, bool json)
{
    private static readonly JsonSerializerOptions Indented = new(JsonSerializerOptions.Web) { WriteIndented = true };

    public ManagementClient Client { get; } = client;

    public IAnsiConsole Console { get; } = console;

    public bool Json { get; } = json;

    /// <summary>Prints the JSON as is with <c>--json</c>; otherwise lets <paramref name="render"/> draw it.</summary>
    public void Show(JsonElement value, Action<JsonElement> render)
    {
        if (Json) output.WriteLine(JsonSerializer.Serialize(value, Indented));
        else render(value);
    }

    /// <summary>One line as it is, never wrapped or marked up (for output another program reads).</summary>
    public void WriteRaw(string line) => output.WriteLine(line);
}

internal static class CtlAction
{
    /// <summary>Wires an action with the shared client and error handling: failures print one line and set the exit code.</summary>
    public static void Run(this Command command, Func<string, string?> env, Func<ParseResult, CtlContext, CancellationToken, Task> action)
    {
        command.SetAction(async (parse, cancel) =>
        {
            var output = parse.InvocationConfiguration.Output;
            try
            {
                using var client = ManagementClient.FromEnvironment(parse.GetValue(CtlCommand.Url), env);
                var console = AnsiConsole.Create(new AnsiConsoleSettings
                {
                    Out = new AnsiConsoleOutput(output),
                    Ansi = output == System.Console.Out ? AnsiSupport.Detect : AnsiSupport.No,
                    ColorSystem = output == System.Console.Out ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
                });
                // Not a terminal (a pipe, a file, a test): no wrapping at 80 columns.
                if (output != System.Console.Out || System.Console.IsOutputRedirected) console.Profile.Width = 240;
                await action(parse, new CtlContext(client, console, output, parse.GetValue(CtlCommand.Json)), cancel);
                return 0;
            }
            catch (CtlException e)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"pipelinectl: {e.Message}");
                return e.ExitCode;
            }
        });
    }

    public static string Text(this JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind != JsonValueKind.Null
            ? value.ValueKind == JsonValueKind.String ? value.GetString() ?? "" : value.ToString()
            : "";
}
