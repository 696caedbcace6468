using Pipeline.Actors.Contracts;

namespace Pipeline.Streams.Announcements;

/// <summary>A broker message whose outcome is still open. Exactly one of Ack/Nack, once the outcome is durable.</summary>
public interface ICommittable
{
    /// <summary>True when the broker was told; false when it could not be (the broker will redeliver).</summary>
    Task<bool> Ack();

    /// <summary>Give the message back (<paramref name="requeue"/>) or drop it at the broker.</summary>
    Task<bool> Nack(bool requeue);
}

/// <summary>
/// The announcements of one broker message (one, or several for an S3 event with many records), with the
/// message's ack. Ack once every announcement is admitted (the ModelRun entity persisted it).
/// </summary>
public sealed record CommittableAnnouncements(IReadOnlyList<Announcement> Announcements, ICommittable Origin)
{
    public Task<bool> Ack() => Origin.Ack();
}
