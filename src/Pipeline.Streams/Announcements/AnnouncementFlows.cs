using Akka;
using Akka.Streams.Dsl;
using Akka.Util;
using Pipeline.Actors.Contracts;

namespace Pipeline.Streams.Announcements;

/// <summary>Counters of what the parse-filter-park step did, for the status page.</summary>
public sealed class AnnouncementCounters
{
    private long _parsed, _rejected, _filtered;

    public long Parsed => Interlocked.Read(ref _parsed);
    public long Rejected => Interlocked.Read(ref _rejected);
    public long Filtered => Interlocked.Read(ref _filtered);

    internal void CountParsed() => Interlocked.Increment(ref _parsed);
    internal void CountRejected() => Interlocked.Increment(ref _rejected);
    internal void CountFiltered(int n) => Interlocked.Add(ref _filtered, n);
}

/// <summary>Graph pieces shared by every source: parse, filter, park.</summary>
public static class AnnouncementFlows
{
    /// <summary>
    /// Parses each committable message, parks every rejection in <paramref name="deadLetters"/> (with the reason,
    /// the source, the time and the raw body) and then acks it; acks, without parking, messages whose
    /// announcements the filter refused (as sr3 does); emits the rest, still unacked, in order.
    /// Delivery: a rejected message is acked only after the dead-letter store has it, so it is parked or
    /// redelivered, never lost and never requeued forever. With <paramref name="parkFiltered"/>, a message whose
    /// announcements the filter all refused is parked too (reason <c>filtered: ...</c>) before its ack, so it
    /// can be replayed once the filter is fixed (<see cref="DeadLetterReplay"/>).
    /// </summary>
    public static Flow<T, CommittableAnnouncements, NotUsed> ParseFilterPark<T>(
        Func<T, InboundMessage> read,
        IAnnouncementParser parser,
        AnnouncementFilter filter,
        IDeadLetterStore deadLetters,
        AnnouncementCounters? counters = null,
        TimeProvider? clock = null,
        bool parkFiltered = false)
        where T : ICommittable
    {
        ArgumentNullException.ThrowIfNull(read);
        ArgumentNullException.ThrowIfNull(parser);
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(deadLetters);
        var time = clock ?? TimeProvider.System;
        return Flow.Create<T>()
            .SelectAsync(4, async message =>
            {
                var inbound = read(message);
                var result = parser.Parse(inbound);
                switch (result)
                {
                    case ParseResult.Rejected rejected:
                        counters?.CountRejected();
                        await deadLetters.ParkAsync(new DeadLetter(inbound.Source, rejected.Rejection.ToString(), time.GetUtcNow(),
                            inbound.Topic, inbound.Body, inbound.Headers)).ConfigureAwait(false);
                        await message.Ack().ConfigureAwait(false);
                        return Option<CommittableAnnouncements>.None;
                    case ParseResult.Parsed parsed:
                        var kept = Keep(parsed.Announcements, filter);
                        if (kept.Count < parsed.Announcements.Count) counters?.CountFiltered(parsed.Announcements.Count - kept.Count);
                        if (kept.Count == 0)
                        {
                            if (parkFiltered)
                                await deadLetters.ParkAsync(new DeadLetter(inbound.Source, "filtered: " + FilteredReason(parsed.Announcements[0], filter),
                                    time.GetUtcNow(), inbound.Topic, inbound.Body, inbound.Headers)).ConfigureAwait(false);
                            await message.Ack().ConfigureAwait(false);
                            return Option<CommittableAnnouncements>.None;
                        }
                        counters?.CountParsed();
                        return Option<CommittableAnnouncements>.Create(new CommittableAnnouncements(kept, message));
                    default:
                        throw new InvalidOperationException($"unknown parse result {result.GetType().Name}");
                }
            })
            .Where(x => x.HasValue)
            .Select(x => x.Value);
    }

    private static string FilteredReason(Announcement first, AnnouncementFilter filter) =>
        $"{filter.Evaluate(first).Reason} ({first.RelPath})";

    private static IReadOnlyList<Announcement> Keep(IReadOnlyList<Announcement> all, AnnouncementFilter filter)
    {
        if (filter.Clauses.Count == 0 && filter.AcceptUnmatched) return all;
        var kept = new List<Announcement>(all.Count);
        foreach (var a in all)
            if (filter.Evaluate(a).Accepted) kept.Add(a);
        return kept;
    }
}
