using System.CommandLine;

namespace Pipeline.Testing;

/// <summary>Runs a System.CommandLine root in-process and captures what it writes.</summary>
public static class CommandRunner
{
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(RootCommand root, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }
}
