namespace Pipeline.Streams.Amqp;

/// <summary>
/// A Sarracenia-style subscription: a durable named queue bound to an exchange with topic patterns.
/// </summary>
/// <param name="Queue">The queue name. Sarracenia names them <c>q_&lt;user&gt;.&lt;component&gt;.&lt;config&gt;...</c>;
/// keep it stable so a restart resumes the same queue.</param>
/// <param name="Exchange">The exchange to bind to, e.g. <c>xpublic</c>. Empty: no binding (consume the queue as is).</param>
/// <param name="BindingKeys">Topic patterns, e.g. <c>v02.post.#</c>, <c>v03.*.WXO-DD.model_gem_global.#</c>.</param>
/// <param name="Prefetch">Broker prefetch, which is also the stage's buffer: at most this many unacked
/// messages exist, so a slow downstream slows the broker.</param>
public sealed record AmqpSourceSettings(string Queue, string Exchange, IReadOnlyList<string> BindingKeys, ushort Prefetch = 500)
{
    /// <summary>Declare the exchange too (topic, durable). Off for public feeds, where only the broker may.</summary>
    public bool DeclareExchange { get; init; }

    /// <summary>Queue arguments, e.g. <c>x-queue-type</c> or <c>x-expires</c>.</summary>
    public IDictionary<string, object?>? QueueArguments { get; init; }

    /// <summary>First delay after a lost connection; doubles up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>After downstream cancels, how long to wait for the acks of messages still in flight.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Acks that arrive out of order wait for the gap below them to close so that one multiple-ack covers
    /// them; after this long with the same gap they are sent one by one.
    /// </summary>
    public TimeSpan OutOfOrderAckDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Queue)) throw new ArgumentException("AmqpSourceSettings.Queue is empty", nameof(Queue));
        if (Prefetch == 0) throw new ArgumentException("AmqpSourceSettings.Prefetch must be at least 1", nameof(Prefetch));
        if (!string.IsNullOrEmpty(Exchange) && BindingKeys.Count == 0)
            throw new ArgumentException($"AmqpSourceSettings.BindingKeys is empty for exchange '{Exchange}'; use '#' for everything", nameof(BindingKeys));
        if (MinBackoff <= TimeSpan.Zero || MaxBackoff < MinBackoff)
            throw new ArgumentException("AmqpSourceSettings.MinBackoff must be positive and at most MaxBackoff", nameof(MinBackoff));
    }
}
