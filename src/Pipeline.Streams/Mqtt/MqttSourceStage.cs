using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Stage;
using MQTTnet;
using MQTTnet.Protocol;
using Pipeline.Streams.Announcements;

namespace Pipeline.Streams.Mqtt;

internal interface IMqttAcknowledger
{
    Task<bool> Resolve(int epoch, MqttApplicationMessageReceivedEventArgs delivery);
}

/// <summary>
/// One QoS 1 message, not yet acknowledged: the broker gets our PUBACK only when <see cref="Ack"/> is called.
/// MQTT has no negative ack: <see cref="Nack"/> with requeue leaves the message unacked, so the broker
/// delivers it again on the next session; without requeue it acks (drops) it.
/// </summary>
public sealed class CommittableMqttMessage : ICommittable
{
    private readonly IMqttAcknowledger _acknowledger;
    private readonly MqttApplicationMessageReceivedEventArgs _delivery;
    private Task<bool>? _outcome;

    internal CommittableMqttMessage(IMqttAcknowledger acknowledger, int epoch, MqttApplicationMessageReceivedEventArgs delivery)
    {
        _acknowledger = acknowledger;
        Epoch = epoch;
        _delivery = delivery;
        var m = delivery.ApplicationMessage;
        Topic = m.Topic;
        Payload = m.Payload.ToArray();
        Duplicate = m.Dup;
        Retained = m.Retain;
    }

    internal int Epoch { get; }

    public string Topic { get; }

    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>The broker sent it before (DUP flag): a redelivery after a lost connection.</summary>
    public bool Duplicate { get; }

    public bool Retained { get; }

    public string PayloadText => Encoding.UTF8.GetString(Payload.Span);

    public InboundMessage ToInbound(string source) => new(source, Topic, PayloadText);

    /// <summary>Sends PUBACK. True once the broker has handled it (a PINGREQ round trip after the PUBACKs
    /// confirms it); false if it could not be confirmed because the connection was lost: then either the PUBACK
    /// reached the broker or the broker redelivers the message on the next session (at-least-once).</summary>
    public Task<bool> Ack()
    {
        var existing = Volatile.Read(ref _outcome);
        if (existing is not null) return existing;
        lock (_acknowledger) return _outcome ??= _acknowledger.Resolve(Epoch, _delivery);
    }

    public Task<bool> Nack(bool requeue) => requeue ? Task.FromResult(false) : Ack();

    public override string ToString() => $"MQTT message on {Topic} ({Payload.Length} bytes)";
}

/// <summary>
/// Subscribes with QoS 1 on a persistent session (clean start off, session expiry set) and emits committable
/// messages. Receive Maximum equals the buffer, so back-pressure reaches the broker. Reconnects with backoff,
/// resubscribes, and lets the broker redeliver what was not acked.
/// </summary>
internal sealed class MqttSourceStage : GraphStage<SourceShape<CommittableMqttMessage>>
{
    public MqttSourceStage(MqttSourceSettings settings)
    {
        settings.Validate();
        Settings = settings;
        Shape = new SourceShape<CommittableMqttMessage>(Out);
    }

    public MqttSourceSettings Settings { get; }

    public Outlet<CommittableMqttMessage> Out { get; } = new("MqttSource.out");

    public override SourceShape<CommittableMqttMessage> Shape { get; }

    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("MqttSource");

    protected override GraphStageLogic CreateLogic(Attributes inheritedAttributes) => new Logic(this);

    private readonly record struct AckRequest(int Epoch, MqttApplicationMessageReceivedEventArgs Delivery, TaskCompletionSource<bool> Done);

    private sealed class Logic : TimerGraphStageLogic, IMqttAcknowledger
    {
        private const string ReconnectTimer = "reconnect";
        private readonly MqttSourceStage _stage;
        private readonly MqttSourceSettings _settings;
        private readonly ConcurrentQueue<CommittableMqttMessage> _inbox = new();
        private readonly ConcurrentQueue<AckRequest> _ackInbox = new();
        private readonly List<AckRequest> _batch = [];
        private IMqttClient? _client;
        private Action<int> _drainInbox = null!;
        private Action<int> _drainAcks = null!;
        private Action<(int Epoch, Exception? Error)> _onConnected = null!;
        private Action<(int Epoch, string Reason)> _onLost = null!;
        private Action<(int Epoch, Exception? Error)> _onFlushed = null!;
        private int _inboxScheduled, _ackScheduled;
        private volatile int _liveEpoch;
        private volatile bool _stopped;
        private int _epoch;
        private bool _connected, _connecting, _flushing, _draining;
        private int _unresolved;
        private TimeSpan _backoff;

        public Logic(MqttSourceStage stage) : base(stage.Shape)
        {
            _stage = stage;
            _settings = stage.Settings;
            _backoff = _settings.Connection.MinBackoff;
            SetHandler(stage.Out, onPull: TryPush, onDownstreamFinish: _ =>
            {
                _draining = true;
                SetKeepGoing(true);
                if (_unresolved == 0) CompleteStage();
                else ScheduleOnce("drain", TimeSpan.FromSeconds(30));
            });
        }

        public override void PreStart()
        {
            _drainInbox = GetAsyncCallback<int>(_ => { Volatile.Write(ref _inboxScheduled, 0); TryPush(); });
            _drainAcks = GetAsyncCallback<int>(_ => DrainAcks());
            _onConnected = GetAsyncCallback<(int, Exception?)>(OnConnected);
            _onLost = GetAsyncCallback<(int, string)>(OnLost);
            _onFlushed = GetAsyncCallback<(int, Exception?)>(OnFlushed);
            _client = new MqttClientFactory().CreateMqttClient();
            _client.ApplicationMessageReceivedAsync += e =>
            {
                e.AutoAcknowledge = false;
                if (_stopped) return Task.CompletedTask;
                var epoch = _liveEpoch;
                _inbox.Enqueue(new CommittableMqttMessage(this, epoch, e));
                if (Interlocked.Exchange(ref _inboxScheduled, 1) == 0) _drainInbox(epoch);
                return Task.CompletedTask;
            };
            _client.DisconnectedAsync += e =>
            {
                _onLost((_liveEpoch, $"{e.Reason} {e.ReasonString} {e.Exception?.Message}".Trim()));
                return Task.CompletedTask;
            };
            Connect();
        }

        public override void PostStop()
        {
            _stopped = true;
            while (_ackInbox.TryDequeue(out var r)) r.Done.TrySetResult(false);
            foreach (var r in _batch) r.Done.TrySetResult(false);
            var client = _client;
            if (client is null) return;
            _ = Task.Run(async () =>
            {
                try
                {
                    // A normal DISCONNECT keeps the session (and so our unacked messages) on the broker.
                    if (client.IsConnected) await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build()).ConfigureAwait(false);
                }
                catch (Exception) { /* already gone */ }
                client.Dispose();
            });
        }

        private void Connect()
        {
            if (_connecting || _stopped || _draining || _client is null) return;
            _connecting = true;
            var client = _client;
            var epoch = _epoch;
            _ = Task.Run(async () =>
            {
                try
                {
                    if (client.IsConnected) await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build()).ConfigureAwait(false);
                    var result = await client.ConnectAsync(_settings.Connection.ToOptions(_settings.BufferSize, cleanStart: false)).ConfigureAwait(false);
                    if (result.ResultCode != MqttClientConnectResultCode.Success)
                        throw new InvalidOperationException($"CONNACK {result.ResultCode} {result.ReasonString}");
                    var subscribe = new MqttClientSubscribeOptionsBuilder();
                    foreach (var filter in _settings.TopicFilters)
                        subscribe = subscribe.WithTopicFilter(f => f.WithTopic(filter).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce));
                    var sub = await client.SubscribeAsync(subscribe.Build()).ConfigureAwait(false);
                    var refused = sub.Items.Where(i => (int)i.ResultCode > 2).Select(i => $"{i.TopicFilter.Topic}: {i.ResultCode}").ToList();
                    if (refused.Count > 0) throw new InvalidOperationException("subscription refused: " + string.Join(", ", refused));
                    _onConnected((epoch, null));
                }
                catch (Exception e)
                {
                    _onConnected((epoch, e));
                }
            });
        }

        private void OnConnected((int Epoch, Exception? Error) e)
        {
            _connecting = false;
            if (_stopped || e.Epoch != _epoch) return;
            if (e.Error is not null)
            {
                Log.Warning("MQTT source {Client} at {Host}:{Port}: connecting failed ({Reason}); retrying in {Delay}",
                    _settings.Connection.ClientId, _settings.Connection.Host, _settings.Connection.Port, e.Error.Message, _backoff);
                _settings.Health?.Down($"connecting to {_settings.Connection.Host}:{_settings.Connection.Port} failed: {e.Error.Message}");
                ScheduleReconnect();
                return;
            }
            _connected = true;
            _backoff = _settings.Connection.MinBackoff;
            _settings.Health?.Up();
            Log.Info("MQTT source {Client} subscribed to {Filters} (epoch {Epoch})", _settings.Connection.ClientId,
                string.Join(", ", _settings.TopicFilters), _epoch);
            Flush();
        }

        private void OnLost((int Epoch, string Reason) e)
        {
            if (_stopped || e.Epoch != _epoch) return;
            if (!_connected && _connecting) return; // a failed connect attempt; OnConnected schedules the retry
            // A late event from an earlier failed attempt while we are connected again is not a loss.
            if (_connected && _client is { IsConnected: true }) return;
            Log.Warning("MQTT source {Client}: disconnected ({Reason}); {Unacked} unacked messages come again; reconnecting",
                _settings.Connection.ClientId, e.Reason, _unresolved);
            _connected = false;
            _settings.Health?.Down($"disconnected from {_settings.Connection.Host}:{_settings.Connection.Port}: {e.Reason}");
            _epoch++;
            _liveEpoch = _epoch;
            foreach (var r in _batch) r.Done.TrySetResult(false);
            _batch.Clear();
            _flushing = false;
            _unresolved = 0;
            if (_draining) CompleteStage();
            else ScheduleReconnect();
        }

        private void ScheduleReconnect()
        {
            ScheduleOnce(ReconnectTimer, _backoff);
            var next = _backoff + _backoff;
            _backoff = next > _settings.Connection.MaxBackoff ? _settings.Connection.MaxBackoff : next;
        }

        protected override void OnTimer(object timerKey)
        {
            if (timerKey is ReconnectTimer) Connect();
            else CompleteStage();
        }

        private void TryPush()
        {
            while (IsAvailable(_stage.Out) && _inbox.TryDequeue(out var m))
            {
                if (m.Epoch != _epoch) continue; // from a lost connection: the broker redelivers it
                _unresolved++;
                Push(_stage.Out, m);
            }
        }

        public Task<bool> Resolve(int epoch, MqttApplicationMessageReceivedEventArgs delivery)
        {
            if (_stopped || epoch != _liveEpoch) return Task.FromResult(false);
            var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            _ackInbox.Enqueue(new AckRequest(epoch, delivery, done));
            if (Interlocked.Exchange(ref _ackScheduled, 1) == 0) _drainAcks(epoch);
            if (_stopped) done.TrySetResult(false);
            return done.Task;
        }

        private void DrainAcks()
        {
            Volatile.Write(ref _ackScheduled, 0);
            Flush();
        }

        private void Flush()
        {
            if (_flushing) return;
            while (_ackInbox.TryDequeue(out var r))
            {
                // Messages can arrive on a new connection before OnConnected ran: their acks wait for it.
                if (r.Epoch != _epoch) r.Done.TrySetResult(false);
                else _batch.Add(r);
            }
            if (_batch.Count == 0 || !_connected) return;
            _flushing = true;
            var items = _batch.ToArray();
            var client = _client!;
            var epoch = _epoch;
            _ = Task.Run(async () =>
            {
                try
                {
                    foreach (var r in items) await r.Delivery.AcknowledgeAsync(CancellationToken.None).ConfigureAwait(false);
                    // The broker answers PINGREQ after handling the PUBACKs before it on this connection.
                    await client.PingAsync().ConfigureAwait(false);
                    _onFlushed((epoch, null));
                }
                catch (Exception e)
                {
                    _onFlushed((epoch, e));
                }
            });
        }

        private void OnFlushed((int Epoch, Exception? Error) e)
        {
            if (e.Epoch != _epoch) return;
            _flushing = false;
            var ok = e.Error is null;
            foreach (var r in _batch) r.Done.TrySetResult(ok);
            if (ok) _unresolved -= _batch.Count;
            _batch.Clear();
            if (!ok) Log.Warning("MQTT source {Client}: PUBACK failed ({Reason})", _settings.Connection.ClientId, e.Error!.Message);
            Flush();
            if (_draining && _unresolved <= 0 && !_flushing) CompleteStage();
        }
    }
}
