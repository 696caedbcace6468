namespace Pipeline.Streams.Announcements;

/// <summary>A letter that could not be replayed, and why (it stays parked).</summary>
public sealed record DeadLetterReplayFailure(string Id, string Reason);

/// <summary>What a replay did: how many letters matched, were re-sent and removed, and which failed.</summary>
public sealed record DeadLetterReplayReport(int Selected, int Replayed, IReadOnlyList<DeadLetterReplayFailure> Failed);

/// <summary>
/// Re-sends parked letters and removes each one that was re-sent (what <c>POST /api/deadletters/replay</c> runs).
/// </summary>
public static class DeadLetterReplay
{
    /// <summary>
    /// For each letter matching <paramref name="query"/>, oldest first, calls <paramref name="resend"/> (e.g.
    /// <see cref="Amqp.AmqpDeadLetterRepublisher.RepublishAsync"/>, which puts it back on the broker so the source
    /// runs it through parse and filter again); a letter whose resend completed is removed from the store, one
    /// whose resend threw stays parked and is listed in the report. Removal happens in batches of
    /// <paramref name="batchSize"/> after their resends completed, so a crash in between sends a letter twice
    /// (at-least-once), never loses it. A replayed letter that is still bad is parked again by the source, as a
    /// new letter with a new id.
    /// </summary>
    public static async Task<DeadLetterReplayReport> ReplayAsync(IDeadLetterStore store, DeadLetterQuery? query,
        Func<DeadLetter, CancellationToken, Task> resend, int batchSize = 256, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(resend);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var page = await store.ListAsync(query, cancellationToken: cancellationToken).ConfigureAwait(false);
        var failed = new List<DeadLetterReplayFailure>();
        var done = new List<string>(Math.Min(batchSize, page.Letters.Count));
        var replayed = 0;
        try
        {
            foreach (var letter in page.Letters)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var id = letter.Id ?? throw new InvalidOperationException("the store listed a dead letter without an id");
                try
                {
                    await resend(letter, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    failed.Add(new DeadLetterReplayFailure(id, $"{e.GetType().Name}: {e.Message}"));
                    continue;
                }
                done.Add(id);
                if (done.Count >= batchSize) replayed += await FlushAsync();
            }
        }
        finally
        {
            // What was re-sent is removed even when the replay is cancelled half-way.
            if (done.Count > 0) replayed += await FlushAsync();
        }
        return new DeadLetterReplayReport(page.Total, replayed, failed);

        async Task<int> FlushAsync()
        {
            var n = await store.RemoveAsync(done.ToArray(), CancellationToken.None).ConfigureAwait(false);
            done.Clear();
            return n;
        }
    }
}
