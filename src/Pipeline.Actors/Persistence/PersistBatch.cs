namespace Pipeline.Actors.Persistence;

/// <summary>
/// The persist callback of a <c>PersistAll</c> batch: applies every event as it is written and runs
/// <c>afterLast</c> once, after the last one is written. That is where a reply or an ack belongs: only then is the
/// whole batch durable.
/// </summary>
public static class PersistBatch
{
    public static Action<TEvent> ThenAfterLast<TEvent>(int count, Action<TEvent> apply, Action afterLast)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var remaining = count;
        return e =>
        {
            apply(e);
            if (--remaining == 0) afterLast();
        };
    }
}
