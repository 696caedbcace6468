using System.Collections.Immutable;
using System.Runtime.Serialization;
using System.Text;
using Akka.Actor;
using Pipeline.Actors.Contracts;
using Pipeline.Actors.DataStreams;
using Pipeline.Actors.ModelRuns;
using Pipeline.Actors.Serialization;
using Xunit;
using static Pipeline.Actors.Tests.Fixtures;

namespace Pipeline.Actors.Tests;

public sealed class PipelineSerializerSpecs : Akka.TestKit.Xunit2.TestKit
{
    private static readonly DateTimeOffset T = new(2026, 11, 1, 3, 4, 5, TimeSpan.Zero);
    private static readonly FileId File = FileId.Of(Announcement("TMP", 0));
    private static readonly DatasetId Ds = new(DatasetName);

    public static IEnumerable<object[]> Samples()
    {
        var admit = Admit(Request("TMP", 0), Request("UGRD", 3));
        var state = admit.Items.Aggregate(ModelRunState.Empty(Run),
            (s, i) => s.Apply(new FileAdmitted(FileId.Of(i.Announcement), i.Announcement, i.Variable, i.Step, i.Key, T)));
        state = state.Apply(new FileRetryScheduled(File, 1, T.AddMinutes(1), "404", T)).Apply(new RunCompleted(0, "expected-count", T));
        var counters = new CountersRecorded(10, 7, 2, 1, 0, 3.5, 12.25, T, T);
        var stream = DataStreamState.Empty(Ds).Apply(new RunSeen(Run, T)).Apply(counters).Apply(new DataStreamPaused("maintenance", T));
        object[] all =
        [
            admit,
            new AdmitFilesResult(Run, [new AdmissionOutcome("a", AdmissionVerdict.Admitted), new AdmissionOutcome("b", AdmissionVerdict.Rejected, "why")]),
            new ReportFileFetched(Run, File, 123456789012),
            new ReportFileIndexed(Run, File, 42),
            new ReportFileFailed(Run, File, "404 Not Found", true),
            new MilestoneAck(Run, File, true),
            new RefreshFile(Run, File.DataId, "bad"),
            new RefreshRun(Run, "bad run"),
            new RefreshAccepted(Run, 2, 10),
            new RefreshRejected(Run, "no files"),
            new ConfirmRunFinalized(Run, 3),
            new FinalizationAck(Run, 3, false),
            new GetModelRun(Run),
            state.View(),
            new ReplayAnnouncements(Run),
            new WakeModelRun(Run),
            new ModelRunWoken(Run, true),
            new AnnouncementsReplayed(Run, [Announcement("TMP", 0), Announcement("TMP", 3) with { Integrity = null, Topic = null, Size = null }]),
            new FileAdmitted(File, Announcement("TMP", 0), "TMP", "000", "TMP/000", T),
            new FilesAdmitted([new AdmittedFile(File, Announcement("TMP", 0), "TMP", "000", "TMP/000"),
                new AdmittedFile(FileId.Of(Announcement("TMP", 3)), Announcement("TMP", 3) with { Integrity = null, Topic = null, Size = null, Relation = "update" },
                    null, null, "TMP/003")], T),
            new FileFetched(File, 99, T),
            new FileIndexed(File, 3, T),
            new FileRetryScheduled(File, 2, T.AddSeconds(30), "404", T),
            new FileFailed(File, 10, "gave up", T),
            new RunRefreshed(4, ["a", "b"], "operator", T),
            new RunCompleted(4, "quiet-period", T),
            new RunFinalized(4, T),
            state,
            new AdmitAnnouncements(Ds, [Announcement("TMP", 0)]),
            new AdmitAnnouncementsResult(Ds, [new AdmissionOutcome("a", AdmissionVerdict.Deferred, "paused")]),
            new PauseDataStream(Ds, "maintenance"),
            new ResumeDataStream(Ds),
            new GetDataStream(Ds),
            new GetDataStreamRuns(Ds, 10),
            new DataStreamRuns(Ds, [Run]),
            stream.Status(),
            new RefreshWindow(Ds, T, T.AddDays(1), "reprocess"),
            new RefreshWindowAccepted(Ds, [Run]),
            new DataStreamPaused("maintenance", T),
            new DataStreamResumed(T),
            new RunSeen(Run, T),
            new RunsSeen([Run, Run with { ReferenceTime = RefTime.AddHours(6) }], T),
            counters,
            stream,
        ];
        return all.Concat(PackageJobSamples.All(T)).Select(o => new[] { o });
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Should_read_back_the_same_message_when_round_tripped(object message)
    {
        var serializer = new PipelineSerializer((ExtendedActorSystem)Sys);

        var manifest = serializer.Manifest(message);
        var bytes = serializer.ToBinary(message);
        var back = serializer.FromBinary(bytes, manifest);

        Assert.IsType(message.GetType(), back);
        Assert.Equal(Encoding.UTF8.GetString(bytes), Encoding.UTF8.GetString(serializer.ToBinary(back)));
        if (message is not (IReadOnlyCollection<object> or ModelRunState or DataStreamState or ModelRunView or Pipeline.Actors.Jobs.PackageJobState or Pipeline.Actors.Jobs.PackagingRegistryState or Pipeline.Actors.Jobs.PackageJobView or Pipeline.Actors.Jobs.SubmitPackageJob or Pipeline.Actors.Jobs.PackageJobSubmitted) && !HasCollections(message))
            Assert.Equal(message, back);
    }

    [Fact]
    public void Should_have_a_sample_and_a_unique_manifest_for_every_pipeline_message_type()
    {
        var types = typeof(IPipelineMessage).Assembly.GetTypes()
            .Where(t => typeof(IPipelineMessage).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false }).ToHashSet();

        Assert.Equal(types.OrderBy(t => t.Name), PipelineSerializer.Manifests.Keys.OrderBy(t => t.Name));
        Assert.Equal(PipelineSerializer.Manifests.Count, PipelineSerializer.Manifests.Values.Distinct().Count());
        Assert.Equal(types.OrderBy(t => t.Name), Samples().Select(s => s[0].GetType()).Distinct().OrderBy(t => t.Name));
    }

    [Fact]
    public void Should_read_back_every_field_of_an_admission_batch_when_written_in_the_compact_form()
    {
        var serializer = new PipelineSerializer((ExtendedActorSystem)Sys);
        var local = new DateTimeOffset(2026, 11, 1, 3, 4, 5, 678, TimeSpan.FromHours(-5)).AddTicks(9);
        var files = new[]
        {
            new AdmittedFile(File, Announcement("TMP", 0), "TMP", "000", "TMP/000"),
            new AdmittedFile(FileId.Of(Announcement("TMP", 3)), Announcement("TMP", 3) with
            {
                DataId = "other-id", RelPath = "20261101/00/TMP_P003.grib2", Topic = null, Size = null, Integrity = null,
                PublishedAt = local, RawMessage = "{\"é\": \"\u0000\"}", Relation = AnnouncementRelations.Update,
            }, null, null, "TMP/003"),
            new AdmittedFile(FileId.Of(Announcement("UGRD", 3)), Announcement("UGRD", 3) with { Size = 0 }, "UGRD", "003", "UGRD/003"),
        };
        var batch = new FilesAdmitted(files, local);

        var back = Assert.IsType<FilesAdmitted>(serializer.FromBinary(serializer.ToBinary(batch), serializer.Manifest(batch)));

        Assert.Equal(batch.At, back.At);
        Assert.Equal(batch.At.Offset, back.At.Offset);
        Assert.Equal(files, back.Files);
        Assert.Equal(local.Offset, back.Files[1].Announcement.PublishedAt.Offset);
        // Compact: smaller than the JSON of the same batch.
        Assert.True(serializer.ToBinary(batch).Length < System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(batch).Length / 2);
    }

    [Fact]
    public void Should_read_back_every_field_of_a_run_snapshot_when_written_in_the_compact_form()
    {
        var serializer = new PipelineSerializer((ExtendedActorSystem)Sys);
        var local = new DateTimeOffset(2026, 11, 1, 3, 4, 5, 678, TimeSpan.FromHours(-5)).AddTicks(9);
        var other = Announcement("TMP", 3) with { DataId = "other-id", Topic = null, Size = null, Integrity = null, PublishedAt = local, Relation = "update" };
        var state = ModelRunState.Empty(Run)
            .Apply(new FilesAdmitted([new AdmittedFile(File, Announcement("TMP", 0), "TMP", "000", "TMP/000"),
                new AdmittedFile(FileId.Of(other), other, null, null, "TMP/003"),
                new AdmittedFile(FileId.Of(Announcement("UGRD", 3)), Announcement("UGRD", 3), "UGRD", "003", "UGRD/003")], local))
            .Apply(new FileRetryScheduled(File, 2, T.AddMinutes(1), "404", T))
            .Apply(new FileFailed(FileId.Of(other), 10, "gave up: \u00e9", T))
            .Apply(new FileIndexed(FileId.Of(Announcement("UGRD", 3)), 5, T))
            .Apply(new RunRefreshed(1, [Announcement("UGRD", 3).DataId], "operator", T))
            .Apply(new RunCompleted(1, "quiet-period", local));

        var bytes = serializer.ToBinary(state);
        var back = Assert.IsType<ModelRunState>(serializer.FromBinary(bytes, serializer.Manifest(state)));

        Assert.Equal("MRS2", serializer.Manifest(state));
        Assert.Equal(state with { Files = back.Files }, back);
        Assert.Equal(state.Files.OrderBy(f => f.Key, StringComparer.Ordinal), back.Files.OrderBy(f => f.Key, StringComparer.Ordinal));
        Assert.Equal(local.Offset, back.Files[other.DataId].Announcement.PublishedAt.Offset);
        // The JSON snapshots of older builds (MRS1) read back to the same state.
        var legacy = Assert.IsType<ModelRunState>(serializer.FromBinary(PipelineSerializer.ToJson(state), PipelineSerializer.LegacyJsonSnapshot));
        Assert.Equal(state.Files.OrderBy(f => f.Key, StringComparer.Ordinal), legacy.Files.OrderBy(f => f.Key, StringComparer.Ordinal));
        Assert.True(bytes.Length < PipelineSerializer.ToJson(state).Length / 2, $"{bytes.Length} bytes against {PipelineSerializer.ToJson(state).Length} as JSON");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(30)]
    [InlineData(-1)]
    public void Should_throw_a_serialization_exception_when_a_compact_run_snapshot_is_truncated_or_padded(int cut)
    {
        var serializer = new PipelineSerializer((ExtendedActorSystem)Sys);
        var state = ModelRunState.Empty(Run).Apply(new FilesAdmitted([new AdmittedFile(File, Announcement("TMP", 0), "TMP", "000", "TMP/000")], T));
        var bytes = serializer.ToBinary(state);
        var damaged = cut >= 0 ? bytes[..cut] : [.. bytes, 7];

        var e = Assert.Throws<SerializationException>(() => serializer.FromBinary(damaged, "MRS2"));

        Assert.Contains("MRS2", e.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(20)]
    [InlineData(-1)]
    public void Should_throw_a_serialization_exception_when_a_compact_admission_batch_is_truncated_or_padded(int cut)
    {
        var serializer = new PipelineSerializer((ExtendedActorSystem)Sys);
        var bytes = serializer.ToBinary(new FilesAdmitted([new AdmittedFile(File, Announcement("TMP", 0), "TMP", "000", "TMP/000")], T));
        var damaged = cut >= 0 ? bytes[..cut] : [.. bytes, 7];

        var e = Assert.Throws<SerializationException>(() => serializer.FromBinary(damaged, "MRE9"));

        Assert.Contains("MRE9", e.Message);
    }

    [Fact]
    public void Should_throw_a_serialization_exception_naming_the_manifest_when_it_is_unknown()
    {
        var serializer = new PipelineSerializer((ExtendedActorSystem)Sys);

        var e = Assert.Throws<SerializationException>(() => serializer.FromBinary("{}"u8.ToArray(), "ZZZ9"));

        Assert.Contains("ZZZ9", e.Message);
    }

    [Theory]
    [InlineData("{\"RunId\":\"test.model/2026-11-01T00Z\",\"File\":{\"DataId\":\"x\",\"Checksum\"")]
    [InlineData("{\"RunId\":\"not a run\",\"File\":{\"DataId\":\"x\",\"Checksum\":\"c\"},\"Bytes\":1}")]
    [InlineData("\u0000\u0001garbage")]
    [InlineData("null")]
    public void Should_throw_a_serialization_exception_when_the_payload_is_corrupt(string payload)
    {
        var serializer = new PipelineSerializer((ExtendedActorSystem)Sys);

        var e = Assert.Throws<SerializationException>(() => serializer.FromBinary(Encoding.UTF8.GetBytes(payload), "MRM1"));

        Assert.Contains("MRM1", e.Message);
    }

    [Fact]
    public async Task Should_be_the_serializer_akka_picks_when_bound_by_the_hosting_extension()
    {
        var dir = TempDir();
        await using var node = await TestNode.StartAsync(Sqlite(dir), CatalogOf());

        Assert.IsType<PipelineSerializer>(node.System.Serialization.FindSerializerFor(new GetModelRun(Run)));
        Assert.IsType<PipelineSerializer>(node.System.Serialization.FindSerializerFor(ModelRunState.Empty(Run)));
    }

    private static bool HasCollections(object message) =>
        message.GetType().GetProperties().Any(p => p.PropertyType != typeof(string) &&
                                                   typeof(System.Collections.IEnumerable).IsAssignableFrom(p.PropertyType)) ||
        message is ImmutableSortedSet<DateTimeOffset>;
}
