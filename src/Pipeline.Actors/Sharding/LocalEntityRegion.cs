using Akka.Actor;
using Akka.Cluster.Sharding;

namespace Pipeline.Actors.Sharding;

/// <summary>
/// A single-node stand-in for a shard region: the same message extractor, one child per entity id, and the
/// <see cref="Passivate"/> handshake (messages that arrive while an entity stops are buffered and start it again).
/// Used where there is no cluster (embedded mode, tests).
/// </summary>
public sealed class LocalEntityRegion : ReceiveActor
{
    private readonly IMessageExtractor _extractor;
    private readonly Func<string, Props> _entityProps;
    private readonly Dictionary<string, IActorRef> _entities = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, string> _ids = new();
    private readonly Dictionary<string, List<(object Message, IActorRef Sender)>> _passivating = new(StringComparer.Ordinal);

    public LocalEntityRegion(IMessageExtractor extractor, Func<string, Props> entityProps)
    {
        _extractor = extractor;
        _entityProps = entityProps;

        Receive<Passivate>(p =>
        {
            if (!_ids.TryGetValue(Sender, out var id) || _passivating.ContainsKey(id)) return;
            _passivating[id] = [];
            Sender.Tell(p.StopMessage);
        });
        Receive<Terminated>(t =>
        {
            if (!_ids.Remove(t.ActorRef, out var id)) return;
            _entities.Remove(id);
            if (!_passivating.Remove(id, out var buffered) || buffered.Count == 0) return;
            var entity = Start(id);
            foreach (var (message, sender) in buffered) entity.Tell(message, sender);
        });
        ReceiveAny(Route);
    }

    public static Props Props(IMessageExtractor extractor, Func<string, Props> entityProps) =>
        Akka.Actor.Props.Create(() => new LocalEntityRegion(extractor, entityProps));

    /// <summary>The child actor name of an entity id (ids may contain '/').</summary>
    public static string ChildName(string entityId) => Uri.EscapeDataString(entityId);

    private void Route(object message)
    {
        var id = _extractor.EntityId(message);
        if (id is null)
        {
            Unhandled(message);
            return;
        }

        var payload = _extractor.EntityMessage(message) ?? message;
        if (_passivating.TryGetValue(id, out var buffer))
        {
            buffer.Add((payload, Sender));
            return;
        }

        if (!_entities.TryGetValue(id, out var entity)) entity = Start(id);
        entity.Forward(payload);
    }

    private IActorRef Start(string id)
    {
        var entity = Context.ActorOf(_entityProps(id), ChildName(id));
        Context.Watch(entity);
        _entities[id] = entity;
        _ids[entity] = id;
        return entity;
    }
}
