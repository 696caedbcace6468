using Pipeline.Actors.Contracts;
using Pipeline.Actors.DataStreams;
using Pipeline.Actors.ModelRuns;
using Xunit;
using static Pipeline.Actors.Tests.Fixtures;

namespace Pipeline.Actors.Tests;

public sealed class MessageExtractorSpecs
{
    [Fact]
    public void Should_route_commands_by_run_id_and_refuse_replies_and_strangers()
    {
        var extractor = new ModelRunMessageExtractor();

        Assert.Equal("test.model/2026-11-01T00Z", extractor.EntityId(new GetModelRun(Run)));
        var id = Run.ToString();
        Assert.Equal(extractor.ShardId(id, new GetModelRun(Run)), extractor.ShardId(id, Admit(Request("TMP", 0))));
        Assert.Null(extractor.EntityId(new AdmitFilesResult(Run, [])));
        Assert.Null(extractor.EntityId("hello"));
        Assert.InRange(int.Parse(extractor.ShardId(id, new GetModelRun(Run))), 0, ModelRunMessageExtractor.ShardCount - 1);
    }

    [Fact]
    public void Should_route_data_stream_commands_by_dataset_id_only()
    {
        var extractor = new DataStreamMessageExtractor();
        var id = new DatasetId(DatasetName);

        Assert.Equal(DatasetName, extractor.EntityId(new GetDataStream(id)));
        Assert.Null(extractor.EntityId(new AdmitAnnouncementsResult(id, [])));
        Assert.Null(extractor.EntityId(new GetModelRun(Run)));
    }
}
