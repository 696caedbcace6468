using System.Threading.Channels;
using Akka;
using Akka.Streams.Dsl;
using Pipeline.Streams.Announcements;

namespace Pipeline.Streams.Ingest;

/// <summary>
/// A source of raw messages pushed in by code rather than a broker: the demo's simulated feed, replays of parked
/// messages, tests. Each message goes through the same parse, filter, park and admission path as a broker's, and
/// <see cref="InjectAsync"/> completes with the message's outcome (true once acked: admitted, duplicate or parked).
/// A requeued message (paused dataset) is offered again, as a broker would redeliver it.
/// </summary>
public sealed class AnnouncementInjector
{
    private readonly Channel<InjectedMessage> _channel;

    public AnnouncementInjector(int capacity = 1024) =>
        _channel = Channel.CreateBounded<InjectedMessage>(new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.Wait });

    /// <summary>Queues one message; the task completes when its outcome is settled (true: acked; false: dropped).</summary>
    public async Task<bool> InjectAsync(InboundMessage message, CancellationToken cancellationToken = default)
    {
        var injected = new InjectedMessage(message, this);
        await _channel.Writer.WriteAsync(injected, cancellationToken).ConfigureAwait(false);
        return await injected.Outcome.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>No more messages: the source completes once the queued ones are emitted.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    /// <summary>The messages, parsed, filtered and parked like a broker source's.</summary>
    public Source<CommittableAnnouncements, NotUsed> Announcements(IAnnouncementParser parser, AnnouncementFilter filter, IDeadLetterStore deadLetters,
        AnnouncementCounters? counters = null) =>
        ChannelSource.FromReader(_channel.Reader)
            .Via(AnnouncementFlows.ParseFilterPark<InjectedMessage>(m => m.Message, parser, filter, deadLetters, counters));

    private void Requeue(InjectedMessage message)
    {
        if (!_channel.Writer.TryWrite(message)) message.Settle(false);
    }

    private sealed class InjectedMessage(InboundMessage message, AnnouncementInjector owner) : ICommittable
    {
        private readonly TaskCompletionSource<bool> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public InboundMessage Message { get; } = message;

        public Task<bool> Outcome => _outcome.Task;

        public void Settle(bool acked) => _outcome.TrySetResult(acked);

        public Task<bool> Ack()
        {
            Settle(true);
            return Task.FromResult(true);
        }

        public Task<bool> Nack(bool requeue)
        {
            if (requeue) owner.Requeue(new InjectedMessage(Message, owner).Chain(this));
            else Settle(false);
            return Task.FromResult(true);
        }

        /// <summary>The redelivered copy settles the original's outcome.</summary>
        private InjectedMessage Chain(InjectedMessage original)
        {
            _ = Outcome.ContinueWith(t => original.Settle(t.Result), TaskScheduler.Default);
            return this;
        }
    }
}
