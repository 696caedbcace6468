using System.Collections.Concurrent;

namespace Pipeline.Streams.Fetch;

/// <summary>
/// A few dedicated threads for the fetcher's blocking file work (fsync, sniff, rename, hashing a resumed prefix), so
/// it never occupies the shared thread pool (on which HTTP continuations run) and never pays a thread start per file.
/// </summary>
internal sealed class BlockingIoScheduler : TaskScheduler, IDisposable
{
    private readonly BlockingCollection<Task> _queue = new();
    private readonly Thread[] _threads;

    public BlockingIoScheduler(int threads, string name)
    {
        _threads = new Thread[threads];
        for (var i = 0; i < threads; i++)
        {
            _threads[i] = new Thread(Work) { IsBackground = true, Name = $"{name}-{i}" };
            _threads[i].Start();
        }
    }

    public override int MaximumConcurrencyLevel => _threads.Length;

    public Task<T> Run<T>(Func<T> work, CancellationToken ct) =>
        Task.Factory.StartNew(work, ct, TaskCreationOptions.DenyChildAttach, this);

    public Task Run(Action work, CancellationToken ct) =>
        Task.Factory.StartNew(work, ct, TaskCreationOptions.DenyChildAttach, this);

    private void Work()
    {
        foreach (var task in _queue.GetConsumingEnumerable())
            TryExecuteTask(task);
    }

    protected override void QueueTask(Task task) => _queue.Add(task);

    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) =>
        Thread.CurrentThread.Name?.StartsWith("fetch-io", StringComparison.Ordinal) == true && TryExecuteTask(task);

    protected override IEnumerable<Task> GetScheduledTasks() => _queue.ToArray();

    public void Dispose() => _queue.CompleteAdding();
}
