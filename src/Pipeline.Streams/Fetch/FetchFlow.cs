using Akka;
using Akka.Streams;
using Akka.Streams.Dsl;
using Pipeline.Actors.Contracts;

namespace Pipeline.Streams.Fetch;

/// <summary>
/// The fetch stage as an Akka.Streams flow, composed from built-in operators around <see cref="Fetcher"/>:
/// <c>Partition</c> into an urgent and a bulk lane, <c>SelectAsyncUnordered</c> per lane, <c>MergePreferred</c> with
/// the urgent lane preferred. Per-host politeness (requests/s, connections, bandwidth, urgent-first slots) is enforced
/// inside the fetcher on every request, so it also holds for retries and for both lanes together.
/// </summary>
public static class FetchFlow
{
    /// <summary>
    /// <c>FetchRequest → FetchResult</c>. Delivery: exactly one result per request, in completion order (not input
    /// order); a failed fetch is a <see cref="FetchResult.Failed"/> element, never a stream failure. Back-pressure: at
    /// most <see cref="FetchSettings.LaneParallelism"/> files in flight per lane (a file waiting for publication holds
    /// one place, no connection).
    /// </summary>
    public static Flow<FetchRequest, FetchResult, NotUsed> Create(Fetcher fetcher)
    {
        var parallelism = fetcher.Settings.LaneParallelism;
        return Flow.FromGraph(GraphDsl.Create(b =>
        {
            var partition = b.Add(new Partition<FetchRequest>(2, r => fetcher.Settings.For(r.Dataset)?.Urgent == true ? 0 : 1));
            var merge = b.Add(new MergePreferred<FetchResult>(1));
            var urgent = b.Add(Flow.Create<FetchRequest>().SelectAsyncUnordered(parallelism, r => fetcher.FetchAsync(r)).Named("fetch-urgent"));
            var bulk = b.Add(Flow.Create<FetchRequest>().SelectAsyncUnordered(parallelism, r => fetcher.FetchAsync(r)).Named("fetch-bulk"));
            b.From(partition.Out(0)).Via(urgent).To(merge.Preferred);
            b.From(partition.Out(1)).Via(bulk).To(merge.In(0));
            return new FlowShape<FetchRequest, FetchResult>(partition.In, merge.Out);
        })).Named("fetch");
    }

    /// <summary>
    /// <c>Announcement → FetchResult</c>, the dataset chosen by <paramref name="datasetOf"/> (default: the
    /// announcement's <see cref="Announcement.Source"/>). Same semantics as <see cref="Create(Fetcher)"/>.
    /// </summary>
    public static Flow<Announcement, FetchResult, NotUsed> FromAnnouncements(Fetcher fetcher, Func<Announcement, string>? datasetOf = null)
    {
        datasetOf ??= static a => a.Source;
        return Flow.Create<Announcement>().Select(a => new FetchRequest(a, datasetOf(a))).Via(Create(fetcher));
    }

    /// <summary>Extension form: <c>source.Fetch(fetcher)</c>.</summary>
    public static Source<FetchResult, TMat> Fetch<TMat>(this Source<FetchRequest, TMat> source, Fetcher fetcher) =>
        source.Via(Create(fetcher));
}
