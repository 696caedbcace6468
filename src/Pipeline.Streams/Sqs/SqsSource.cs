using Akka;
using Akka.Streams.Dsl;
using Amazon.SQS;
using Amazon.SQS.Model;
using Pipeline.Streams.Announcements;

namespace Pipeline.Streams.Sqs;

/// <summary>One received SQS message.</summary>
public sealed record SqsMessage(string MessageId, string ReceiptHandle, string Body);

/// <summary>The SQS calls we make, behind a seam so they can be tested without an SQS server.</summary>
public interface ISqsClient
{
    /// <summary>Long poll: waits up to <paramref name="wait"/> for up to <paramref name="max"/> messages, which
    /// stay invisible to others for <paramref name="visibility"/>.</summary>
    Task<IReadOnlyList<SqsMessage>> ReceiveAsync(int max, TimeSpan wait, TimeSpan visibility, CancellationToken cancellationToken);

    Task DeleteAsync(string receiptHandle, CancellationToken cancellationToken);

    Task ChangeVisibilityAsync(string receiptHandle, TimeSpan visibility, CancellationToken cancellationToken);
}

/// <summary><see cref="ISqsClient"/> on AWSSDK.SQS.</summary>
public sealed class AwsSqsClient(IAmazonSQS sqs, string queueUrl) : ISqsClient
{
    public async Task<IReadOnlyList<SqsMessage>> ReceiveAsync(int max, TimeSpan wait, TimeSpan visibility, CancellationToken cancellationToken)
    {
        var response = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest
        {
            QueueUrl = queueUrl,
            MaxNumberOfMessages = Math.Clamp(max, 1, 10),
            WaitTimeSeconds = (int)Math.Clamp(wait.TotalSeconds, 0, 20),
            VisibilityTimeout = (int)Math.Max(1, visibility.TotalSeconds),
        }, cancellationToken).ConfigureAwait(false);
        return response.Messages is null ? [] : response.Messages.Select(m => new SqsMessage(m.MessageId, m.ReceiptHandle, m.Body)).ToList();
    }

    public Task DeleteAsync(string receiptHandle, CancellationToken cancellationToken) =>
        sqs.DeleteMessageAsync(queueUrl, receiptHandle, cancellationToken);

    public Task ChangeVisibilityAsync(string receiptHandle, TimeSpan visibility, CancellationToken cancellationToken) =>
        sqs.ChangeMessageVisibilityAsync(queueUrl, receiptHandle, (int)visibility.TotalSeconds, cancellationToken);
}

/// <summary>How to poll.</summary>
/// <param name="Visibility">How long a received message stays invisible; extended every half of it until the outcome.</param>
public sealed record SqsSourceSettings(string Name, TimeSpan Visibility, int MaxMessages = 10)
{
    public TimeSpan Wait { get; init; } = TimeSpan.FromSeconds(20);
    public TimeSpan ErrorBackoff { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Up after each successful receive, down with the error after a failed one (readiness).</summary>
    public SourceHealth? Health { get; init; }
}

/// <summary>
/// An SQS message until its outcome: <see cref="Ack"/> deletes it, <see cref="Nack"/> with requeue makes it visible
/// again at once. Until then its visibility is extended every half-timeout, so long work never lets it reappear.
/// </summary>
public sealed class CommittableSqsMessage : ICommittable
{
    private readonly ISqsClient _client;
    private readonly CancellationTokenSource _heartbeat = new();
    private Task<bool>? _outcome;

    internal CommittableSqsMessage(ISqsClient client, SqsMessage message, TimeSpan visibility)
    {
        _client = client;
        Message = message;
        _ = HeartbeatAsync(visibility);
    }

    public SqsMessage Message { get; }

    public int Extensions { get; private set; }

    public InboundMessage ToInbound(string source) => new(source, null, Message.Body);

    public Task<bool> Ack() => Resolve(() => _client.DeleteAsync(Message.ReceiptHandle, CancellationToken.None));

    public Task<bool> Nack(bool requeue) => requeue
        ? Resolve(() => _client.ChangeVisibilityAsync(Message.ReceiptHandle, TimeSpan.Zero, CancellationToken.None))
        : Ack();

    private Task<bool> Resolve(Func<Task> action)
    {
        lock (_heartbeat)
        {
            return _outcome ??= RunAsync(action);
        }
    }

    private async Task<bool> RunAsync(Func<Task> action)
    {
        await _heartbeat.CancelAsync().ConfigureAwait(false);
        try
        {
            await action().ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is AmazonSQSException or HttpRequestException or InvalidOperationException or TaskCanceledException)
        {
            return false; // the message becomes visible again and is redelivered
        }
    }

    private async Task HeartbeatAsync(TimeSpan visibility)
    {
        var period = visibility / 2;
        if (period <= TimeSpan.Zero) return;
        try
        {
            while (true)
            {
                await Task.Delay(period, _heartbeat.Token).ConfigureAwait(false);
                await _client.ChangeVisibilityAsync(Message.ReceiptHandle, visibility, _heartbeat.Token).ConfigureAwait(false);
                Extensions++;
            }
        }
        catch (OperationCanceledException) { /* resolved */ }
        catch (Exception) { /* a failed extension: the message may reappear, which at-least-once allows */ }
    }
}

/// <summary>SQS (e.g. S3 event notifications, NOAA's NewOFSObject SNS topic) as a stream source.</summary>
public static class SqsSource
{
    /// <summary>
    /// Long-polls the queue when downstream has demand. Delivery semantics: at-least-once; a message is deleted
    /// only when downstream calls <see cref="CommittableSqsMessage.Ack"/>, and its visibility is extended while
    /// the work lasts. Receive errors are retried after <see cref="SqsSourceSettings.ErrorBackoff"/>.
    /// </summary>
    public static Source<CommittableSqsMessage, NotUsed> Committable(ISqsClient client, SqsSourceSettings settings)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(settings);
        return Source.Repeat(NotUsed.Instance)
            .SelectAsync(1, async _ =>
            {
                try
                {
                    var batch = await client.ReceiveAsync(settings.MaxMessages, settings.Wait, settings.Visibility, CancellationToken.None).ConfigureAwait(false);
                    settings.Health?.Up();
                    return batch;
                }
                catch (Exception e) when (e is AmazonSQSException or HttpRequestException or TaskCanceledException)
                {
                    settings.Health?.Down($"receiving from {settings.Name} failed: {e.Message}");
                    await Task.Delay(settings.ErrorBackoff).ConfigureAwait(false);
                    return (IReadOnlyList<SqsMessage>)[];
                }
            })
            .SelectMany(batch => batch.Select(m => new CommittableSqsMessage(client, m, settings.Visibility)));
    }

    /// <summary><see cref="Committable"/> then S3-event parsing (raw or SNS-wrapped), parking rejections.</summary>
    public static Source<CommittableAnnouncements, NotUsed> S3Events(ISqsClient client, SqsSourceSettings settings,
        AnnouncementFilter filter, IDeadLetterStore deadLetters, AnnouncementCounters? counters = null) =>
        Committable(client, settings).Via(AnnouncementFlows.ParseFilterPark<CommittableSqsMessage>(m => m.ToInbound(settings.Name),
            S3EventParser.Instance, filter, deadLetters, counters));
}
