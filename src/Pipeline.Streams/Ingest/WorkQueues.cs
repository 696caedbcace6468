using System.Threading.Channels;
using Pipeline.Actors.ModelRuns;

namespace Pipeline.Streams.Ingest;

/// <summary>
/// The node's bounded work intake: ModelRun entities offer admitted files here (never blocking; a full queue is
/// back-pressure and the entity offers again later) and the processing graph reads them from <see cref="Reader"/>.
/// </summary>
public sealed class FileWorkQueue(int capacity = 1024) : IFileWorkIntake
{
    private readonly Channel<FileWork> _channel = Channel.CreateBounded<FileWork>(new BoundedChannelOptions(capacity)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = false,
        SingleWriter = false,
    });

    public ChannelReader<FileWork> Reader => _channel.Reader;

    /// <summary>Files waiting for the processing graph.</summary>
    public int Depth => _channel.Reader.Count;

    public bool TryOffer(FileWork work) => _channel.Writer.TryWrite(work);
}

/// <summary>The bounded queue of complete runs waiting for their run-level outputs.</summary>
public sealed class RunFinalizationQueue(int capacity = 256) : IRunFinalizationSink
{
    private readonly Channel<RunFinalization> _channel = Channel.CreateBounded<RunFinalization>(new BoundedChannelOptions(capacity)
    {
        FullMode = BoundedChannelFullMode.Wait,
    });

    public ChannelReader<RunFinalization> Reader => _channel.Reader;

    public int Depth => _channel.Reader.Count;

    public bool TryOffer(RunFinalization request) => _channel.Writer.TryWrite(request);
}
