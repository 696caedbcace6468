using Pipeline.Actors.Contracts;
using Pipeline.Actors.DataStreams;
using Xunit;

namespace Pipeline.Actors.Tests;

public sealed class DataStreamStateSpecs
{
    private static readonly DatasetId Ds = new("test.model");
    private static readonly DateTimeOffset T = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Should_list_seen_runs_newest_first_up_to_the_limit_when_asked_for_runs()
    {
        var state = DataStreamState.Empty(Ds);
        foreach (var hours in new[] { 6, 0, 18, 12 })
            state = state.Apply(new RunSeen(new ModelRunId(Ds, T.AddHours(hours)), T));

        var (reply, events) = state.Handle(new GetDataStreamRuns(Ds, Limit: 3), T);

        Assert.Empty(events);
        var runs = Assert.IsType<DataStreamRuns>(reply);
        Assert.Equal([T.AddHours(18), T.AddHours(12), T.AddHours(6)], runs.Runs.Select(r => r.ReferenceTime));
        Assert.All(runs.Runs, r => Assert.Equal(Ds, r.Dataset));
    }

    [Fact]
    public void Should_list_nothing_when_no_run_was_seen_or_the_limit_is_not_positive()
    {
        var state = DataStreamState.Empty(Ds).Apply(new RunSeen(new ModelRunId(Ds, T), T));
        Assert.Empty(Assert.IsType<DataStreamRuns>(DataStreamState.Empty(Ds).Handle(new GetDataStreamRuns(Ds), T).Reply).Runs);
        Assert.Empty(Assert.IsType<DataStreamRuns>(state.Handle(new GetDataStreamRuns(Ds, Limit: 0), T).Reply).Runs);
        Assert.Empty(Assert.IsType<DataStreamRuns>(state.Handle(new GetDataStreamRuns(Ds, Limit: -5), T).Reply).Runs);
    }
}
