namespace Pipeline.Streams;

/// <summary>
/// Whether a source is connected to its broker or queue right now, and if not, why; read by the node's readiness
/// check (<c>/healthz/ready</c>). A source starts down ("not connected yet") until its first connection succeeds.
/// Thread-safe: the source's stage writes, health checks read.
/// </summary>
public sealed class SourceHealth
{
    private volatile Snapshot _now;
    private readonly TimeProvider _clock;

    /// <param name="notYet">What readiness says before the first connection (name the endpoint).</param>
    public SourceHealth(string notYet = "not connected yet", TimeProvider? clock = null)
    {
        _clock = clock ?? TimeProvider.System;
        _now = new Snapshot(false, notYet, _clock.GetUtcNow());
    }

    public bool Connected => _now.Connected;

    /// <summary>Why the source is not connected; null while it is.</summary>
    public string? Problem => _now.Problem;

    /// <summary>When the current state began.</summary>
    public DateTimeOffset Since => _now.Since;

    public void Up()
    {
        if (!_now.Connected) _now = new Snapshot(true, null, _clock.GetUtcNow());
    }

    public void Down(string problem)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(problem);
        var since = _now.Connected ? _clock.GetUtcNow() : _now.Since;
        _now = new Snapshot(false, problem, since);
    }

    private sealed record Snapshot(bool Connected, string? Problem, DateTimeOffset Since);
}
