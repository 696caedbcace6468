using Akka.Event;
using Akka.Persistence;

namespace Pipeline.Actors.Persistence;

/// <summary>
/// A persistent actor whose snapshot is its whole state: once a snapshot is saved, the events it covers and the
/// snapshots before it are deleted, so the journal keeps one snapshot and the events since (Akka.Persistence.Sql keeps
/// the highest deleted row, marked deleted, so sequence numbers go on from there). Without this every event stays in
/// the journal for good: a finished model run would keep thousands of rows that recovery skips anyway.
/// </summary>
public abstract class CompactingPersistentActor : ReceivePersistentActor
{
    /// <summary>Registers the snapshot and deletion outcomes; <paramref name="who"/> names the entity in warnings.</summary>
    protected void CompactAfterSnapshots(string who, ILoggingAdapter log)
    {
        Command<SaveSnapshotSuccess>(m =>
        {
            DeleteMessages(m.Metadata.SequenceNr);
            DeleteSnapshots(new SnapshotSelectionCriteria(m.Metadata.SequenceNr - 1));
        });
        Command<SaveSnapshotFailure>(m => log.Warning(m.Cause, "{0}: snapshot failed (the journal keeps every event until one succeeds)", who));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(m => log.Warning(m.Cause, "{0}: deleting the events up to {1} (in a snapshot) failed", who, m.ToSequenceNr));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(m => log.Warning(m.Cause, "{0}: deleting older snapshots failed", who));
    }
}
