using System.Collections.Frozen;
using System.Runtime.Serialization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Hosting;
using Akka.Serialization;
using Pipeline.Actors.Contracts;
using Pipeline.Actors.DataStreams;
using Pipeline.Actors.Jobs;
using Pipeline.Actors.ModelRuns;

namespace Pipeline.Actors.Serialization;

/// <summary>
/// The serializer of every <see cref="IPipelineMessage"/>: System.Text.Json with a stable short manifest per type,
/// except the admission batch (<see cref="FilesAdmitted"/>) and the run snapshot (<see cref="ModelRunState"/>), which have
/// compact binary forms (<see cref="AdmissionEncoding"/>, <see cref="SnapshotEncoding"/>).
/// A manifest, once written to a journal, never changes meaning; renaming a type keeps its manifest.
/// </summary>
public sealed class PipelineSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int Id = 4711;

    /// <summary>Type → manifest. Add new types at the end with a new manifest; never reuse one.</summary>
    public static readonly FrozenDictionary<Type, string> Manifests = new Dictionary<Type, string>
    {
        // ModelRun commands (MRA admission, MRM milestones, MRR refresh, MRF finalization, MRQ queries)
        [typeof(AdmitFiles)] = "MRA1",
        [typeof(AdmitFilesResult)] = "MRA2",
        [typeof(ReportFileFetched)] = "MRM1",
        [typeof(ReportFileIndexed)] = "MRM2",
        [typeof(ReportFileFailed)] = "MRM3",
        [typeof(MilestoneAck)] = "MRM4",
        [typeof(RefreshFile)] = "MRR1",
        [typeof(RefreshRun)] = "MRR2",
        [typeof(RefreshAccepted)] = "MRR3",
        [typeof(RefreshRejected)] = "MRR4",
        [typeof(ConfirmRunFinalized)] = "MRF1",
        [typeof(FinalizationAck)] = "MRF2",
        [typeof(GetModelRun)] = "MRQ1",
        [typeof(ModelRunView)] = "MRQ2",
        [typeof(ReplayAnnouncements)] = "MRQ3",
        [typeof(AnnouncementsReplayed)] = "MRQ4",
        [typeof(WakeModelRun)] = "MRQ5",
        // ModelRun events and snapshot
        [typeof(FileAdmitted)] = "MRE1",
        [typeof(FileFetched)] = "MRE2",
        [typeof(FileIndexed)] = "MRE3",
        [typeof(FileRetryScheduled)] = "MRE4",
        [typeof(FileFailed)] = "MRE5",
        [typeof(RunRefreshed)] = "MRE6",
        [typeof(RunCompleted)] = "MRE7",
        [typeof(RunFinalized)] = "MRE8",
        // MRS1 was the JSON snapshot; still read (see FromBinary), never written.
        [typeof(ModelRunState)] = "MRS2",
        // DataStream commands, events, snapshot
        [typeof(AdmitAnnouncements)] = "DSA1",
        [typeof(AdmitAnnouncementsResult)] = "DSA2",
        [typeof(PauseDataStream)] = "DSC1",
        [typeof(ResumeDataStream)] = "DSC2",
        [typeof(GetDataStream)] = "DSQ1",
        [typeof(DataStreamStatus)] = "DSQ2",
        [typeof(RefreshWindow)] = "DSR1",
        [typeof(RefreshWindowAccepted)] = "DSR2",
        [typeof(DataStreamPaused)] = "DSE1",
        [typeof(DataStreamResumed)] = "DSE2",
        [typeof(RunSeen)] = "DSE3",
        [typeof(CountersRecorded)] = "DSE4",
        [typeof(DataStreamState)] = "DSS1",
        [typeof(GetDataStreamRuns)] = "DSQ3",
        [typeof(DataStreamRuns)] = "DSQ4",
        // PackageJob commands, replies, events, snapshot (PJ*) and the packaging registry (PR*)
        [typeof(SubmitPackageJob)] = "PJC1",
        [typeof(GetPackageJob)] = "PJC2",
        [typeof(CancelPackageJob)] = "PJC3",
        [typeof(WakePackageJob)] = "PJC4",
        [typeof(ReportPackageJobProgress)] = "PJC5",
        [typeof(ReportPackageJobSucceeded)] = "PJC6",
        [typeof(ReportPackageJobFailed)] = "PJC7",
        [typeof(PackageJobAck)] = "PJR1",
        [typeof(PackageJobView)] = "PJR2",
        [typeof(PackageJobSubmitted)] = "PJE1",
        [typeof(PackageJobAttemptStarted)] = "PJE2",
        [typeof(PackageJobProgressed)] = "PJE3",
        [typeof(PackageJobSucceeded)] = "PJE4",
        [typeof(PackageJobFailed)] = "PJE5",
        [typeof(PackageJobCancelled)] = "PJE6",
        [typeof(PackageJobState)] = "PJS1",
        [typeof(DefineBoundaries)] = "PRC1",
        [typeof(GetBoundaries)] = "PRC2",
        [typeof(GetBoundary)] = "PRC3",
        [typeof(RegisterPackageJob)] = "PRC4",
        [typeof(SettlePackageJob)] = "PRC5",
        [typeof(ListPackageJobs)] = "PRC6",
        [typeof(WakePackagingRegistry)] = "PRC7",
        [typeof(BoundariesDefined)] = "PRR1",
        [typeof(BoundaryList)] = "PRR2",
        [typeof(BoundaryFound)] = "PRR3",
        [typeof(PackageJobIndex)] = "PRR4",
        [typeof(BoundaryDefined)] = "PRE1",
        [typeof(PackageJobRegistered)] = "PRE2",
        [typeof(PackageJobSettled)] = "PRE3",
        [typeof(PackagingRegistryState)] = "PRS1",
        // Batched admission (issue 7): one event per admitted batch; MRE1 (FileAdmitted) and DSE3 (RunSeen) stay readable.
        // Wake answers: the DataStream keeps waking a run until it is settled (a run whose node died restarts elsewhere).
        [typeof(FilesAdmitted)] = "MRE9",
        [typeof(RunsSeen)] = "DSE5",
        [typeof(ModelRunWoken)] = "MRQ6",
    }.ToFrozenDictionary();

    private static readonly FrozenDictionary<string, Type> Types =
        Manifests.ToFrozenDictionary(kv => kv.Value, kv => kv.Key, StringComparer.Ordinal);

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.General)
    {
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        RespectNullableAnnotations = true,
    };

    public override int Identifier => Id;

    public override string Manifest(object o) =>
        Manifests.TryGetValue(o.GetType(), out var m)
            ? m
            : throw new SerializationException($"{o.GetType().FullName} is an IPipelineMessage without a manifest in {nameof(PipelineSerializer)}");

    /// <summary>The manifest whose payload is <see cref="AdmissionEncoding"/> (binary) rather than JSON.</summary>
    private const string CompactAdmission = "MRE9";

    /// <summary>The manifest of the binary <see cref="ModelRunState"/> snapshot (<see cref="SnapshotEncoding"/>).</summary>
    private const string CompactSnapshot = "MRS2";

    /// <summary>The manifest of the JSON <see cref="ModelRunState"/> snapshots written before MRS2.</summary>
    public const string LegacyJsonSnapshot = "MRS1";

    public override byte[] ToBinary(object obj) => obj switch
    {
        FilesAdmitted batch => AdmissionEncoding.Write(batch),
        ModelRunState state => SnapshotEncoding.Write(state),
        _ => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), Json),
    };

    /// <summary>The JSON form, as every type but the compact ones is written (and as MRS1 snapshots were).</summary>
    public static byte[] ToJson(object obj) => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), Json);

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (manifest == CompactAdmission) return AdmissionEncoding.Read(bytes, manifest);
        if (manifest == CompactSnapshot) return SnapshotEncoding.Read(bytes, manifest);
        var type = manifest == LegacyJsonSnapshot ? typeof(ModelRunState) : null;
        if (type is null && !Types.TryGetValue(manifest, out type))
            throw new SerializationException($"unknown manifest '{manifest}' for {nameof(PipelineSerializer)} ({bytes.Length} bytes)");
        try
        {
            return JsonSerializer.Deserialize(bytes, type, Json)
                   ?? throw new SerializationException($"manifest '{manifest}' ({type.Name}): the payload is null");
        }
        catch (JsonException e)
        {
            throw new SerializationException($"manifest '{manifest}' ({type.Name}): cannot read {bytes.Length} bytes: {e.Message}", e);
        }
    }
}

public static class SerializationHostingExtensions
{
    /// <summary>Binds <see cref="PipelineSerializer"/> to every <see cref="IPipelineMessage"/>.</summary>
    public static AkkaConfigurationBuilder AddPipelineSerialization(this AkkaConfigurationBuilder builder) =>
        builder.WithCustomSerializer("pipeline", [typeof(IPipelineMessage)], system => new PipelineSerializer(system));
}
