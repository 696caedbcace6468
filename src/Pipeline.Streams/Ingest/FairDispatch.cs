using System.Threading.Channels;

namespace Pipeline.Streams.Ingest;

/// <summary>
/// Runs work items with a bounded number in flight overall and per key (per host, for fetching), starting the
/// waiting keys in turn, so that a slow or stalled host holds only its own places and never starves the others
/// (a plain <c>SelectAsyncUnordered</c> over one queue lets a host with a long backlog take every place while its
/// requests wait for its connections). Results go to a bounded channel; a result waits there until downstream
/// takes it, keeping its place, so back-pressure from the next stage stops new work.
/// Reading stops while <c>buffer</c> items wait in the per-key queues: memory stays bounded, and only a backlog of
/// more than <c>buffer</c> items of stalled keys can delay others.
/// </summary>
public static class FairDispatch
{
    public static ChannelReader<TOut> Run<TIn, TOut>(
        ChannelReader<TIn> input,
        Func<TIn, string> keyOf,
        Func<TIn, int> limitOf,
        int total,
        int buffer,
        Func<TIn, Task<TOut>> work,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentOutOfRangeException.ThrowIfLessThan(total, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(buffer, 1);
        var output = Channel.CreateBounded<TOut>(new BoundedChannelOptions(Math.Max(1, total)) { SingleWriter = false });
        _ = new Dispatcher<TIn, TOut>(input, output.Writer, keyOf, limitOf, total, buffer, work).RunAsync(cancellationToken);
        return output.Reader;
    }

    private sealed class Dispatcher<TIn, TOut>(
        ChannelReader<TIn> input,
        ChannelWriter<TOut> output,
        Func<TIn, string> keyOf,
        Func<TIn, int> limitOf,
        int total,
        int buffer,
        Func<TIn, Task<TOut>> work)
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<string, Queue<TIn>> _waiting = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _running = new(StringComparer.Ordinal);
        private readonly LinkedList<string> _turns = new(); // keys with waiting items, in the order they get their next turn
        private readonly SemaphoreSlim _wake = new(0);
        private int _waitingCount, _inFlight;

        public async Task RunAsync(CancellationToken ct)
        {
            Exception? error = null;
            try
            {
                var inputOpen = true;
                Task<bool>? readable = null; // one pending wait on each, kept until it completes
                Task? woke = null;
                while (true)
                {
                    StartWhatFits(ct);
                    lock (_lock)
                    {
                        if (!inputOpen && _waitingCount == 0 && _inFlight == 0) break;
                    }

                    woke ??= _wake.WaitAsync(ct);
                    if (inputOpen && Volatile.Read(ref _waitingCount) < buffer)
                    {
                        readable ??= input.WaitToReadAsync(ct).AsTask();
                        await Task.WhenAny(readable, woke).ConfigureAwait(false);
                        if (readable.IsCompleted)
                        {
                            if (await readable.ConfigureAwait(false))
                                while (Volatile.Read(ref _waitingCount) < buffer && input.TryRead(out var item)) Enqueue(item);
                            else inputOpen = false;
                            readable = null;
                        }
                    }
                    else
                    {
                        await woke.ConfigureAwait(false);
                    }

                    if (woke.IsCompleted)
                    {
                        await woke.ConfigureAwait(false); // throws when cancelled
                        woke = null;
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                error = e;
            }
            output.TryComplete(error);
        }

        private void Enqueue(TIn item)
        {
            var key = keyOf(item);
            lock (_lock)
            {
                if (!_waiting.TryGetValue(key, out var queue)) _waiting[key] = queue = new Queue<TIn>();
                if (queue.Count == 0) _turns.AddLast(key);
                queue.Enqueue(item);
                _waitingCount++;
            }
        }

        private void StartWhatFits(CancellationToken ct)
        {
            lock (_lock)
            {
                // One pass over the keys waiting their turn: each key with a free place starts one item and goes to
                // the back; repeat until no key can start anything or the overall limit is reached.
                var progress = true;
                while (progress && _inFlight < total && _turns.Count > 0)
                {
                    progress = false;
                    var node = _turns.First;
                    var seen = _turns.Count;
                    for (var i = 0; i < seen && node is not null && _inFlight < total; i++)
                    {
                        var next = node.Next;
                        var key = node.Value;
                        var queue = _waiting[key];
                        var running = _running.GetValueOrDefault(key);
                        if (running < Math.Max(1, limitOf(queue.Peek())))
                        {
                            var item = queue.Dequeue();
                            _waitingCount--;
                            _running[key] = running + 1;
                            _inFlight++;
                            _turns.Remove(node);
                            if (queue.Count > 0) _turns.AddLast(key);
                            else _waiting.Remove(key);
                            progress = true;
                            _ = RunOneAsync(key, item, ct);
                        }
                        node = next;
                    }
                }
            }
        }

        private async Task RunOneAsync(string key, TIn item, CancellationToken ct)
        {
            await Task.Yield();
            try
            {
                var result = await work(item).ConfigureAwait(false);
                await output.WriteAsync(result, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                output.TryComplete(e);
            }
            finally
            {
                lock (_lock)
                {
                    _inFlight--;
                    if (--_running[key] == 0) _running.Remove(key);
                }
                _wake.Release();
            }
        }
    }
}
