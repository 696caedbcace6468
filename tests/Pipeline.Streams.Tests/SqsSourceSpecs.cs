using Akka.Streams;
using Akka.Streams.Dsl;
using Pipeline.Streams.Announcements;
using Pipeline.Streams.Sqs;
using Xunit;

namespace Pipeline.Streams.Tests;

/// <summary>There is no SQS server here: these run against an in-memory queue with SQS's visibility rules.</summary>
public sealed class SqsSourceSpecs : Akka.TestKit.Xunit2.TestKit
{
    /// <param name="slack">
    /// How many times longer than asked a visibility lasts here in real time. The heartbeat spec uses it so that a late
    /// heartbeat on a loaded machine cannot make the message reappear; it still sees every extension asked for.
    /// </param>
    private sealed class FakeSqs(int slack = 1) : ISqsClient
    {
        private readonly object _gate = new();
        public TimeSpan LastExtension { get; private set; }
        private readonly List<(SqsMessage Message, DateTimeOffset VisibleAt)> _queue = [];
        public int Deletes { get; private set; }
        public int Extensions { get; private set; }
        public int Count { get { lock (_gate) return _queue.Count; } }

        public void Send(string body)
        {
            lock (_gate) _queue.Add((new SqsMessage(Guid.NewGuid().ToString(), Guid.NewGuid().ToString(), body), DateTimeOffset.MinValue));
        }

        public async Task<IReadOnlyList<SqsMessage>> ReceiveAsync(int max, TimeSpan wait, TimeSpan visibility, CancellationToken ct)
        {
            for (var i = 0; i < 20; i++)
            {
                lock (_gate)
                {
                    var now = DateTimeOffset.UtcNow;
                    var ready = _queue.Where(q => q.VisibleAt <= now).Take(max).ToList();
                    if (ready.Count > 0)
                    {
                        foreach (var r in ready) _queue[_queue.IndexOf(r)] = (r.Message, now + visibility * slack);
                        return ready.Select(r => r.Message).ToList();
                    }
                }
                await Task.Delay(10, ct);
            }
            return [];
        }

        public Task DeleteAsync(string receiptHandle, CancellationToken ct)
        {
            lock (_gate) { _queue.RemoveAll(q => q.Message.ReceiptHandle == receiptHandle); Deletes++; }
            return Task.CompletedTask;
        }

        public Task ChangeVisibilityAsync(string receiptHandle, TimeSpan visibility, CancellationToken ct)
        {
            lock (_gate)
            {
                var i = _queue.FindIndex(q => q.Message.ReceiptHandle == receiptHandle);
                if (i >= 0) _queue[i] = (_queue[i].Message, DateTimeOffset.UtcNow + visibility * slack);
                if (visibility > TimeSpan.Zero) { Extensions++; LastExtension = visibility; }
            }
            return Task.CompletedTask;
        }
    }

    private const string Event = """{"Records":[{"eventName":"ObjectCreated:Put","eventTime":"2025-11-06T00:00:00Z","s3":{"bucket":{"name":"noaa-nos-ofs-pds"},"object":{"key":"cbofs/a.nc","size":5}}}]}""";

    [Fact]
    public async Task Should_delete_only_after_ack_and_park_unusable_events()
    {
        var sqs = new FakeSqs();
        sqs.Send(Event);
        sqs.Send("{\"Event\":\"s3:TestEvent\"}");
        var dead = new InMemoryDeadLetterStore();
        var got = await SqsSource.S3Events(sqs, new SqsSourceSettings("ofs", TimeSpan.FromSeconds(30)), AnnouncementFilter.AcceptAll, dead)
            .Take(1).RunWith(Sink.First<CommittableAnnouncements>(), Sys.Materializer());

        Assert.Equal("noaa-nos-ofs-pds/cbofs/a.nc", got.Announcements[0].DataId);
        await BrokerFixtures.WaitUntilAsync(() => dead.Letters.Count == 1 && sqs.Count == 1, TimeSpan.FromSeconds(30),
            () => $"{dead.Letters.Count} parked, {sqs.Count} left");
        Assert.Contains("s3:TestEvent", dead.Letters[0].Reason, StringComparison.Ordinal);
        Assert.True(await got.Ack());
        Assert.Equal(0, sqs.Count);
    }

    [Fact]
    public async Task Should_extend_visibility_while_the_work_lasts_so_the_message_is_not_delivered_twice()
    {
        // The heartbeat extends every half visibility (1.5 s). The queue lets a visibility last 40 times longer, so only
        // a heartbeat that never comes (not one late on a loaded machine) lets the message reappear within the spec.
        var sqs = new FakeSqs(slack: 40);
        sqs.Send(Event);
        var settings = new SqsSourceSettings("ofs", TimeSpan.FromSeconds(3));
        var seen = 0;
        var kill = SqsSource.Committable(sqs, settings)
            .ViaMaterialized(KillSwitches.Single<CommittableSqsMessage>(), Keep.Right)
            .SelectAsync(4, async m =>
            {
                Interlocked.Increment(ref seen);
                // Work far longer than the visibility timeout; only the heartbeat keeps the message hidden.
                await BrokerFixtures.WaitUntilAsync(() => m.Extensions >= 3, TimeSpan.FromSeconds(60), () => $"{m.Extensions} extensions");
                return await m.Ack();
            })
            .To(Sink.Ignore<bool>()).Run(Sys.Materializer());
        await BrokerFixtures.WaitUntilAsync(() => sqs.Deletes == 1, TimeSpan.FromSeconds(60), () => "deleted");
        kill.Shutdown();
        Assert.Equal(1, seen);
        Assert.True(sqs.Extensions >= 3);
        Assert.Equal(settings.Visibility, sqs.LastExtension);
        Assert.Equal(0, sqs.Count);
    }
}
