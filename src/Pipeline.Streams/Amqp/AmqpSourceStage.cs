using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Stage;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Pipeline.Streams.Amqp;

/// <summary>
/// Consumes a durable queue bound to an exchange and emits <see cref="CommittableAmqpMessage"/>s.
/// Prefetch equals the buffer, so at most <see cref="AmqpSourceSettings.Prefetch"/> deliveries are unacked
/// and back-pressure reaches the broker. Deliveries and acks enter the stage through async callbacks.
/// After a lost channel or connection the stage reconnects with backoff, re-declares and re-consumes; the
/// deliveries of the lost channel can no longer be acked (their <c>Ack()</c> yields false) and the broker
/// delivers them again. On downstream cancel the stage stops consuming and completes once every emitted
/// delivery is resolved (or <see cref="AmqpSourceSettings.DrainTimeout"/> passed; the broker requeues the rest).
/// </summary>
internal sealed class AmqpSourceStage : GraphStage<SourceShape<CommittableAmqpMessage>>
{
    public AmqpSourceStage(AmqpConnectionProvider connections, AmqpSourceSettings settings)
    {
        settings.Validate();
        Connections = connections;
        Settings = settings;
        Shape = new SourceShape<CommittableAmqpMessage>(Out);
    }

    public AmqpConnectionProvider Connections { get; }

    public AmqpSourceSettings Settings { get; }

    public Outlet<CommittableAmqpMessage> Out { get; } = new("AmqpSource.out");

    public override SourceShape<CommittableAmqpMessage> Shape { get; }

    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("AmqpSource");

    protected override GraphStageLogic CreateLogic(Attributes inheritedAttributes) => new Logic(this);

    public override string ToString() => $"AmqpSource({Settings.Queue})";

    private readonly record struct AckRequest(int Epoch, ulong Tag, bool Nack, bool Requeue, TaskCompletionSource<bool> Done);

    private readonly record struct AckOp(ulong Tag, bool Multiple, bool Nack, bool Requeue);

    private sealed class Logic : TimerGraphStageLogic, IAmqpAcknowledger
    {
        private const string ReconnectTimer = "reconnect";
        private const string AckTimer = "out-of-order-acks";
        private const string DrainTimer = "drain";
        private const string ConsumerCancelled = "consumer cancelled";

        private readonly AmqpSourceStage _stage;
        private readonly AmqpSourceSettings _settings;
        private readonly ConcurrentQueue<CommittableAmqpMessage> _inbox = new();
        private readonly ConcurrentQueue<AckRequest> _ackInbox = new();
        private readonly Dictionary<ulong, AckRequest> _resolved = new();
        private readonly HashSet<ulong> _sentOutOfOrder = [];
        private readonly List<AckOp> _ops = [];
        private readonly List<TaskCompletionSource<bool>> _opWaiters = [];

        private Action<int> _drainInbox = null!;
        private Action<int> _drainAcks = null!;
        private Action<(int Epoch, IChannel? Channel, Exception? Error)> _onConnected = null!;
        private Action<(int Epoch, string Reason)> _onLost = null!;
        private Action<(int Epoch, Exception? Error)> _onFlushed = null!;

        private int _inboxScheduled;
        private int _ackScheduled;
        private volatile int _liveEpoch;
        private volatile bool _stopped;
        private int _epoch;
        private IChannel? _channel;
        private string? _consumerTag;
        private TimeSpan _backoff;
        private bool _connecting;
        private bool _draining;
        private bool _flushing;
        private ulong _next = 1;
        private int _unresolved;
        private ulong _gapSeenAt;

        public Logic(AmqpSourceStage stage) : base(stage.Shape)
        {
            _stage = stage;
            _settings = stage.Settings;
            _backoff = _settings.MinBackoff;
            SetHandler(stage.Out, onPull: TryPush, onDownstreamFinish: _ => BeginDrain());
        }

        public override void PreStart()
        {
            _drainInbox = GetAsyncCallback<int>(_ => DrainInbox());
            _drainAcks = GetAsyncCallback<int>(_ => DrainAcks());
            _onConnected = GetAsyncCallback<(int, IChannel?, Exception?)>(OnConnected);
            _onLost = GetAsyncCallback<(int, string)>(OnLost);
            _onFlushed = GetAsyncCallback<(int, Exception?)>(OnFlushed);
            Connect();
        }

        public override void PostStop()
        {
            _stopped = true;
            while (_ackInbox.TryDequeue(out var r)) r.Done.TrySetResult(false);
            FailPending();
            CloseChannel(_channel);
            _channel = null;
        }

        // ---- connection lifecycle (stage thread) ----

        private void Connect()
        {
            if (_connecting || _stopped || _draining) return;
            _connecting = true;
            var epoch = _epoch;
            _ = Task.Run(async () =>
            {
                IChannel? channel = null;
                try
                {
                    channel = await SetUpAsync(epoch).ConfigureAwait(false);
                    _onConnected((epoch, channel, null));
                }
                catch (Exception e)
                {
                    CloseChannel(channel);
                    _onConnected((epoch, null, e));
                }
            });
        }

        private async Task<IChannel> SetUpAsync(int epoch)
        {
            var connection = await _stage.Connections.GetConnectionAsync().ConfigureAwait(false);
            var channel = await connection.CreateChannelAsync().ConfigureAwait(false);
            channel.ChannelShutdownAsync += (_, args) =>
            {
                _onLost((epoch, $"channel closed: {args.ReplyCode} {args.ReplyText}"));
                return Task.CompletedTask;
            };
            await channel.BasicQosAsync(0, _settings.Prefetch, false).ConfigureAwait(false);
            if (_settings.DeclareExchange && !string.IsNullOrEmpty(_settings.Exchange))
                await channel.ExchangeDeclareAsync(_settings.Exchange, ExchangeType.Topic, durable: true).ConfigureAwait(false);
            await channel.QueueDeclareAsync(_settings.Queue, durable: true, exclusive: false, autoDelete: false,
                arguments: _settings.QueueArguments).ConfigureAwait(false);
            if (!string.IsNullOrEmpty(_settings.Exchange))
                foreach (var key in _settings.BindingKeys)
                    await channel.QueueBindAsync(_settings.Queue, _settings.Exchange, key).ConfigureAwait(false);

            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += (_, ea) =>
            {
                Enqueue(epoch, ea);
                return Task.CompletedTask;
            };
            consumer.UnregisteredAsync += (_, _) =>
            {
                // The broker cancelled us (queue deleted, node down) or we cancelled: either way this channel is done.
                _onLost((epoch, ConsumerCancelled));
                return Task.CompletedTask;
            };
            _consumerTag = await channel.BasicConsumeAsync(_settings.Queue, autoAck: false, consumer).ConfigureAwait(false);
            return channel;
        }

        private void OnConnected((int Epoch, IChannel? Channel, Exception? Error) e)
        {
            _connecting = false;
            if (e.Epoch != _epoch || _stopped)
            {
                CloseChannel(e.Channel);
                return;
            }
            if (e.Error is not null || e.Channel is null)
            {
                Log.Warning("AMQP source {Queue} at {Endpoint}: connecting failed ({Reason}); retrying in {Delay}",
                    _settings.Queue, _stage.Connections.Endpoint, e.Error?.Message ?? "no channel", _backoff);
                // Anything delivered on the failed channel belongs to it: a new epoch, so its acks are refused
                // (the broker redelivers) and the next channel's tags start clean.
                _epoch++;
                _liveEpoch = _epoch;
                FailPending();
                ScheduleReconnect();
                return;
            }
            _channel = e.Channel;
            _backoff = _settings.MinBackoff;
            Log.Info("AMQP source {Queue} consuming at {Endpoint} (epoch {Epoch}, prefetch {Prefetch})",
                _settings.Queue, _stage.Connections.Endpoint, _epoch, _settings.Prefetch);
            ScheduleRepeatedly(AckTimer, _settings.OutOfOrderAckDelay);
            Flush(outOfOrder: false); // acks resolved before the channel was known
            if (_draining) CancelConsumer();
        }

        private void OnLost((int Epoch, string Reason) e)
        {
            if (e.Epoch != _epoch || _stopped) return;
            if (_draining && e.Reason == ConsumerCancelled) return; // our own BasicCancel while draining
            Log.Warning("AMQP source {Queue}: {Reason}; {Unacked} unacked deliveries will be redelivered; reconnecting",
                _settings.Queue, e.Reason, _unresolved);
            var old = _channel;
            _channel = null;
            _epoch++;
            _liveEpoch = _epoch;
            FailPending();
            CloseChannel(old);
            if (_draining)
            {
                CompleteStage();
                return;
            }
            ScheduleReconnect();
        }

        private void ScheduleReconnect()
        {
            ScheduleOnce(ReconnectTimer, _backoff);
            var next = _backoff + _backoff;
            _backoff = next > _settings.MaxBackoff ? _settings.MaxBackoff : next;
        }

        protected override void OnTimer(object timerKey)
        {
            switch (timerKey)
            {
                case ReconnectTimer:
                    Connect();
                    break;
                case AckTimer:
                    if (_resolved.Count > 0 && _gapSeenAt == _next) Flush(outOfOrder: true);
                    _gapSeenAt = _resolved.Count > 0 ? _next : 0;
                    break;
                case DrainTimer:
                    Log.Warning("AMQP source {Queue}: {Unacked} deliveries still unresolved after {Timeout}; completing, the broker will redeliver them",
                        _settings.Queue, _unresolved, _settings.DrainTimeout);
                    CompleteStage();
                    break;
            }
        }

        private void FailPending()
        {
            foreach (var r in _resolved.Values) r.Done.TrySetResult(false);
            _resolved.Clear();
            _sentOutOfOrder.Clear();
            foreach (var w in _opWaiters) w.TrySetResult(false);
            _opWaiters.Clear();
            _ops.Clear();
            _next = 1;
            _unresolved = 0;
            _gapSeenAt = 0;
            _flushing = false;
        }

        private static void CloseChannel(IChannel? channel)
        {
            if (channel is null) return;
            _ = Task.Run(async () =>
            {
                try
                {
                    if (channel.IsOpen) await channel.CloseAsync().ConfigureAwait(false);
                    await channel.DisposeAsync().ConfigureAwait(false);
                }
                catch (Exception) { /* closing a channel that is already gone */ }
            });
        }

        // ---- deliveries: consumer thread -> inbox -> stage ----

        private void Enqueue(int epoch, BasicDeliverEventArgs ea)
        {
            if (_stopped) return;
            var props = ea.BasicProperties;
            var message = new CommittableAmqpMessage(this, epoch, ea.DeliveryTag, ea.Redelivered, ea.Exchange, ea.RoutingKey,
                ea.Body.ToArray(), props.IsHeadersPresent() ? DecodeHeaders(props.Headers!) : null, props.MessageId);
            _inbox.Enqueue(message);
            if (Interlocked.Exchange(ref _inboxScheduled, 1) == 0) _drainInbox(epoch);
        }

        private void DrainInbox()
        {
            Volatile.Write(ref _inboxScheduled, 0);
            TryPush();
        }

        private void TryPush()
        {
            while (IsAvailable(_stage.Out) && _inbox.TryDequeue(out var message))
            {
                if (message.EpochValue != _epoch) continue; // from a lost channel: the broker redelivers it
                _unresolved++;
                Push(_stage.Out, message);
            }
        }

        private static Dictionary<string, string> DecodeHeaders(IDictionary<string, object?> headers)
        {
            var result = new Dictionary<string, string>(headers.Count, StringComparer.Ordinal);
            foreach (var (key, value) in headers)
            {
                result[key] = value switch
                {
                    null => "",
                    byte[] bytes => Encoding.UTF8.GetString(bytes),
                    IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                    _ => value.ToString() ?? "",
                };
            }
            return result;
        }

        // ---- acks: any thread -> ack inbox -> stage -> channel, folded into multiple-acks ----

        public Task<bool> Resolve(int epoch, ulong deliveryTag, bool nack, bool requeue)
        {
            if (_stopped || epoch != _liveEpoch) return Task.FromResult(false);
            var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            _ackInbox.Enqueue(new AckRequest(epoch, deliveryTag, nack, requeue, done));
            if (Interlocked.Exchange(ref _ackScheduled, 1) == 0) _drainAcks(epoch);
            if (_stopped) done.TrySetResult(false);
            return done.Task;
        }

        private void DrainAcks()
        {
            Volatile.Write(ref _ackScheduled, 0);
            while (_ackInbox.TryDequeue(out var r))
            {
                // Deliveries flow as soon as the consumer is registered, before OnConnected has run: an ack of this
                // epoch is kept even while _channel is still null and sent once it is set. Refusing it left a
                // permanent gap at the lowest tags, so every later ack waited for the out-of-order timer and went
                // out one by one (the benchmark's stalled rounds: 3-10 % of raw).
                if (r.Epoch != _epoch)
                {
                    r.Done.TrySetResult(false);
                    continue;
                }
                if (!_resolved.TryAdd(r.Tag, r)) r.Done.TrySetResult(false);
                else _unresolved--;
            }
            Flush(outOfOrder: false);
        }

        /// <summary>
        /// Sends what can be sent: the contiguous run of resolved tags from the lowest outstanding one as
        /// multiple-acks (a nack splits the run), and, when <paramref name="outOfOrder"/>, the resolved tags
        /// stranded above a gap one by one. One flush at a time; acks resolved meanwhile join the next flush.
        /// </summary>
        private void Flush(bool outOfOrder)
        {
            if (_flushing || _channel is null || _resolved.Count == 0) return;
            _ops.Clear();
            _opWaiters.Clear();
            ulong pendingAck = 0;
            while (true)
            {
                if (_resolved.Remove(_next, out var r))
                {
                    _opWaiters.Add(r.Done);
                    if (r.Nack)
                    {
                        if (pendingAck != 0) _ops.Add(new AckOp(pendingAck, true, false, false));
                        pendingAck = 0;
                        _ops.Add(new AckOp(r.Tag, false, true, r.Requeue));
                    }
                    else pendingAck = r.Tag;
                }
                else if (!_sentOutOfOrder.Remove(_next)) break;
                _next++;
            }
            if (pendingAck != 0) _ops.Add(new AckOp(pendingAck, true, false, false));
            if (outOfOrder)
            {
                foreach (var r in _resolved.Values)
                {
                    _ops.Add(new AckOp(r.Tag, false, r.Nack, r.Requeue));
                    _opWaiters.Add(r.Done);
                    _sentOutOfOrder.Add(r.Tag);
                }
                _resolved.Clear();
            }
            if (_ops.Count == 0) return;
            _flushing = true;
            var channel = _channel;
            var epoch = _epoch;
            var ops = _ops.ToArray();
            _ = SendAsync(channel, epoch, ops);
        }

        private async Task SendAsync(IChannel channel, int epoch, AckOp[] ops)
        {
            try
            {
                foreach (var op in ops)
                {
                    if (op.Nack) await channel.BasicNackAsync(op.Tag, op.Multiple, op.Requeue).ConfigureAwait(false);
                    else await channel.BasicAckAsync(op.Tag, op.Multiple).ConfigureAwait(false);
                }
                // AMQP never confirms an ack. A synchronous method on the same channel is answered only after the
                // broker's channel has handled every frame before it, so its reply confirms the acks above. Acks
                // resolved meanwhile pile up for the next flush, which keeps the round trip off the per-message cost.
                await channel.BasicQosAsync(0, _settings.Prefetch, false).ConfigureAwait(false);
                _onFlushed((epoch, null));
            }
            catch (Exception e)
            {
                _onFlushed((epoch, e));
            }
        }

        private void OnFlushed((int Epoch, Exception? Error) e)
        {
            if (e.Epoch != _epoch) return; // FailPending already answered false
            _flushing = false;
            var ok = e.Error is null;
            foreach (var w in _opWaiters) w.TrySetResult(ok);
            _opWaiters.Clear();
            if (!ok)
            {
                Log.Warning("AMQP source {Queue}: sending acks failed ({Reason}); the channel is treated as lost", _settings.Queue, e.Error!.Message);
                OnLost((_epoch, "ack failed: " + e.Error.Message));
                return;
            }
            if (_resolved.Count > 0) Flush(outOfOrder: false);
            if (_draining && _unresolved == 0 && _resolved.Count == 0 && !_flushing) CompleteStage();
        }

        // ---- completion ----

        private void BeginDrain()
        {
            _draining = true;
            SetKeepGoing(true);
            CancelConsumer();
            if (_unresolved == 0 && _resolved.Count == 0 && !_flushing)
            {
                CompleteStage();
                return;
            }
            ScheduleOnce(DrainTimer, _settings.DrainTimeout);
        }

        private void CancelConsumer()
        {
            var channel = _channel;
            var tag = _consumerTag;
            if (channel is null || tag is null) return;
            _ = Task.Run(async () =>
            {
                try { await channel.BasicCancelAsync(tag).ConfigureAwait(false); }
                catch (Exception) { /* the channel went away; nothing more will be delivered anyway */ }
            });
        }
    }
}
