using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Pipeline.Actors.DataStreams;

/// <summary>
/// Per-dataset gauges of the data streams that live on this node (Meter <c>Pipeline.Datasets</c>, exported at
/// <c>/metrics</c>): lag (admission time minus the announced publication time of the latest admitted file), paused,
/// admission rate and totals. Each DataStream entity publishes its status here and withdraws it when it stops, so a
/// scrape of every node sees every dataset exactly once.
/// </summary>
public static class DataStreamMetrics
{
    public const string MeterName = "Pipeline.Datasets";

    private static readonly ConcurrentDictionary<string, DataStreamStatus> Live = new();
    private static readonly Meter Meter = new(MeterName, "0.1");

    static DataStreamMetrics()
    {
        Meter.CreateObservableGauge("pipeline.dataset.lag", () => Measure(s => s.LagSeconds), "s",
            "Admission time minus announced publication time of the latest admitted file, per dataset");
        Meter.CreateObservableGauge("pipeline.dataset.paused", () => Measure(s => s.Paused ? 1 : 0), "{dataset}",
            "1 while the dataset is paused");
        Meter.CreateObservableGauge("pipeline.dataset.admitted.rate", () => Measure(s => s.AdmittedPerSecond), "{announcement}/s",
            "Announcements admitted per second over the last counter interval");
        Meter.CreateObservableCounter("pipeline.dataset.announced", () => Measure(s => s.Announced), "{announcement}",
            "Announcements routed to the dataset since its stream started on this node");
        Meter.CreateObservableCounter("pipeline.dataset.admitted", () => Measure(s => s.Admitted), "{announcement}",
            "Announcements admitted since the dataset's stream started on this node");
    }

    /// <summary>The latest status of a stream on this node.</summary>
    public static void Publish(DataStreamStatus status) => Live[status.DatasetId.Value] = status;

    /// <summary>The stream stopped here (passivated, moved, node leaving).</summary>
    public static void Withdraw(string datasetId) => Live.TryRemove(datasetId, out _);

    /// <summary>What the gauges read now, for tests.</summary>
    public static DataStreamStatus? Current(string datasetId) => Live.TryGetValue(datasetId, out var s) ? s : null;

    private static IEnumerable<Measurement<double>> Measure(Func<DataStreamStatus, double?> read)
    {
        foreach (var (id, status) in Live)
            if (read(status) is { } v)
                yield return new Measurement<double>(v, new KeyValuePair<string, object?>("dataset", id));
    }
}
