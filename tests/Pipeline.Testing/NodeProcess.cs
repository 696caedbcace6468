using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Pipeline.Testing;

/// <summary>
/// A <c>pipeline serve</c> node in its own OS process (so it can be killed with SIGKILL), configured through
/// environment variables, with its output captured for the failure message.
/// </summary>
public sealed class NodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private bool _disposed;

    private NodeProcess(Process process, int remotingPort, Uri management)
    {
        _process = process;
        RemotingPort = remotingPort;
        Management = management;
    }

    public int RemotingPort { get; }

    public Uri Management { get; }

    public string Address(string system) => $"akka.tcp://{system}@127.0.0.1:{RemotingPort}";

    public bool HasExited => _process.HasExited;

    public string Log
    {
        get
        {
            lock (_log) return _log.ToString();
        }
    }

    /// <summary>Starts <c>pipeline.dll serve</c> from the test's output directory.</summary>
    public static NodeProcess Start(int remotingPort, IReadOnlyDictionary<string, string> environment, string? workingDirectory = null)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "pipeline.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException("pipeline.dll is not beside the tests: reference Pipeline.Host", dll);
        var managementPort = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("serve");
        start.Environment["Pipeline__Node__Port"] = remotingPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["Pipeline__Management__Urls"] = $"http://127.0.0.1:{managementPort}";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["DOTNET_gcServer"] = "0";
        foreach (var (key, value) in environment) start.Environment[key] = value;
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet");
        var node = new NodeProcess(process, remotingPort, new Uri($"http://127.0.0.1:{managementPort}"));
        process.OutputDataReceived += (_, e) => node.Append(e.Data);
        process.ErrorDataReceived += (_, e) => node.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return node;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>SIGKILL: no graceful leave, no flush; what a crash looks like to the rest of the cluster.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_log)
        {
            if (_log.Length < 200_000) _log.AppendLine(line);
        }
    }

    /// <summary>Kills the process if it still runs; a second call does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
