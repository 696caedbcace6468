using Akka;
using Akka.Actor;
using Akka.Streams.Dsl;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Actors.Catalog;
using Pipeline.Actors.Contracts;
using Pipeline.Actors.DataStreams;
using Pipeline.Actors.ModelRuns;
using Pipeline.Streams.Announcements;

namespace Pipeline.Streams.Ingest;

/// <summary>How announcements are batched into admissions.</summary>
public sealed record AdmissionSettings
{
    /// <summary>Broker messages admitted together (one persist batch per run).</summary>
    public int BatchSize { get; init; } = 500;

    /// <summary>How long a batch waits to fill.</summary>
    public TimeSpan BatchWindow { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Batches in flight at once.</summary>
    public int Parallelism { get; init; } = 4;

    /// <summary>The time allowed for the data streams to answer.</summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a deferred message (paused dataset, unanswered admission) is held before it is requeued.</summary>
    public TimeSpan RequeueDelay { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>What one batch of broker messages came to.</summary>
public sealed record AdmissionReport(int Messages, int Admitted, int Duplicates, int Rejected, int Deferred, int Unmatched);

/// <summary>
/// The admission stage: every announcement is matched to its dataset by the catalog's path rules and admitted by
/// that dataset's DataStream (which hands it, grouped per run, to the ModelRun entities: one persist batch per run).
/// A broker message is acked only after every one of its announcements is persisted (Admitted), known (Duplicate)
/// or parked with its reason (Rejected, or no dataset matches); it is requeued, after a pause, when a dataset is
/// paused or the cluster did not answer in time. Nothing is acked before it is durable, nothing requeued forever
/// without a reason in the log.
/// </summary>
public static class AdmissionFlow
{
    public static Flow<CommittableAnnouncements, AdmissionReport, NotUsed> Create(IActorRef dataStreams, DatasetCatalog catalog,
        IDeadLetterStore deadLetters, AdmissionSettings? settings = null, ILogger? logger = null, TimeProvider? clock = null)
    {
        var s = settings ?? new AdmissionSettings();
        var log = logger ?? NullLogger.Instance;
        var time = clock ?? TimeProvider.System;
        return Flow.Create<CommittableAnnouncements>()
            .GroupedWithin(s.BatchSize, s.BatchWindow)
            .SelectAsync(s.Parallelism, batch => AdmitAsync([.. batch], dataStreams, catalog, deadLetters, s, log, time));
    }

    private static async Task<AdmissionReport> AdmitAsync(IReadOnlyList<CommittableAnnouncements> batch, IActorRef dataStreams, DatasetCatalog catalog,
        IDeadLetterStore deadLetters, AdmissionSettings s, ILogger log, TimeProvider time)
    {
        // Where each announcement goes: (message, position) -> dataset, or why nowhere.
        var perDataset = new Dictionary<DatasetId, List<(int Message, int Index, Announcement A)>>();
        var verdicts = batch.Select(m => new AdmissionOutcome?[m.Announcements.Count]).ToArray();
        var reasons = batch.Select(m => new string?[m.Announcements.Count]).ToArray();
        var unmatched = 0;
        for (var m = 0; m < batch.Count; m++)
        {
            for (var i = 0; i < batch[m].Announcements.Count; i++)
            {
                var a = batch[m].Announcements[i];
                var (dataset, _) = catalog.Match(a.RelPath);
                if (dataset is null)
                {
                    unmatched++;
                    verdicts[m][i] = new AdmissionOutcome(a.DataId, AdmissionVerdict.Rejected);
                    reasons[m][i] = $"no dataset's PathPatterns match '{a.RelPath}'";
                    continue;
                }
                if (!perDataset.TryGetValue(dataset.Id, out var list)) perDataset[dataset.Id] = list = [];
                list.Add((m, i, a));
            }
        }

        var answers = await Task.WhenAll(perDataset.Select(async kv =>
        {
            try
            {
                var result = await dataStreams.Ask<AdmitAnnouncementsResult>(new AdmitAnnouncements(kv.Key, [.. kv.Value.Select(x => x.A)]), s.AskTimeout)
                    .ConfigureAwait(false);
                return (kv.Value, result.Outcomes, Error: (string?)null);
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
            {
                return (kv.Value, (IReadOnlyList<AdmissionOutcome>?)null, Error: $"dataset '{kv.Key}' did not answer within {s.AskTimeout.TotalSeconds:0} s");
            }
        })).ConfigureAwait(false);
        foreach (var (items, outcomes, error) in answers)
        {
            for (var k = 0; k < items.Count; k++)
            {
                var (m, i, a) = items[k];
                verdicts[m][i] = outcomes is not null && k < outcomes.Count ? outcomes[k] : new AdmissionOutcome(a.DataId, AdmissionVerdict.Deferred, error);
                reasons[m][i] = verdicts[m][i]!.Reason ?? error;
            }
        }

        int admitted = 0, duplicates = 0, rejected = 0, deferred = 0;
        var requeue = new List<CommittableAnnouncements>();
        for (var m = 0; m < batch.Count; m++)
        {
            var message = batch[m];
            var outcomes = verdicts[m];
            admitted += outcomes.Count(o => o!.Verdict == AdmissionVerdict.Admitted);
            duplicates += outcomes.Count(o => o!.Verdict == AdmissionVerdict.Duplicate);
            if (outcomes.Any(o => o!.Verdict == AdmissionVerdict.Deferred))
            {
                deferred++;
                requeue.Add(message);
                continue;
            }
            for (var i = 0; i < outcomes.Length; i++)
            {
                if (outcomes[i]!.Verdict != AdmissionVerdict.Rejected) continue;
                rejected++;
                var a = message.Announcements[i];
                await deadLetters.ParkAsync(new DeadLetter(a.Source, $"{a.DataId}: {reasons[m][i] ?? "rejected"}", time.GetUtcNow(), a.Topic, a.RawMessage))
                    .ConfigureAwait(false);
            }
            if (!await message.Ack().ConfigureAwait(false))
                log.LogWarning("Could not ack the message of {DataId} (the broker will redeliver it; admission is idempotent)", message.Announcements[0].DataId);
        }

        if (requeue.Count > 0)
        {
            log.LogInformation("{Count} messages deferred (paused dataset or no answer); requeued in {Delay}", requeue.Count, s.RequeueDelay);
            await Task.Delay(s.RequeueDelay).ConfigureAwait(false);
            foreach (var message in requeue) await message.Origin.Nack(requeue: true).ConfigureAwait(false);
        }
        return new AdmissionReport(batch.Count, admitted, duplicates, rejected, deferred, unmatched);
    }
}
