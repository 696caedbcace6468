using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Pipeline.Zarr.Codecs;
using Pipeline.Zarr.Metadata;

namespace Pipeline.Zarr.Runs;

/// <summary>
/// A growing leading dimension of a model run (time, step, level). The index of a value is a pure function of the
/// value (position in <see cref="Values"/>, or <c>(value - Start) / Increment</c> on a regular axis), never of the
/// order files arrive in: that is what makes a run written in any order equal to the ordered run.
/// </summary>
public sealed record RunAxis(string Name, ZarrDataType DataType, JsonObject Attributes, double Start = 0, double Increment = 1,
    IReadOnlyList<double>? Values = null)
{
    public long IndexOf(double value)
    {
        if (Values is not null)
        {
            for (var i = 0; i < Values.Count; i++) if (Values[i].Equals(value)) return i;
            throw new ArgumentOutOfRangeException(nameof(value), $"axis '{Name}': {value} is not one of its {Values.Count} values");
        }
        var k = (value - Start) / Increment;
        var rounded = Math.Round(k);
        if (Math.Abs(k - rounded) > 1e-9 || rounded < 0)
            throw new ArgumentOutOfRangeException(nameof(value), $"axis '{Name}': {value} is not on the regular axis {Start} + k * {Increment}");
        return (long)rounded;
    }

    public double ValueAt(long index) => Values is not null ? Values[(int)index] : Start + index * Increment;
}

/// <summary>A data variable of the run: its leading axes (by name) then the grid dimensions of the layout.</summary>
public sealed record RunVariable(string Name, IReadOnlyList<string> Axes, JsonObject Attributes, ZarrDataType? DataType = null);

/// <summary>A fixed coordinate (latitude, longitude, a scalar level) written whole with the metadata.</summary>
public sealed record RunStaticArray(string Name, string[] Dimensions, ZarrDataType DataType, JsonObject Attributes, double[] Values, long[]? Shape = null);

/// <summary>A coordinate computed from axis values, e.g. <c>valid_time(time, step) = time + step * 3600</c>.</summary>
public sealed record RunDerivedArray(string Name, IReadOnlyList<string> Axes, ZarrDataType DataType, JsonObject Attributes,
    Func<IReadOnlyDictionary<string, double>, double> Compute);

/// <summary>Everything fixed about one run group (one cfgrib hypercube).</summary>
public sealed record RunLayout(
    string GroupPath,
    IReadOnlyList<RunAxis> Axes,
    string[] GridDimensions,
    long[] GridShape,
    IReadOnlyList<RunVariable> Variables,
    IReadOnlyList<RunStaticArray> StaticArrays,
    IReadOnlyList<RunDerivedArray> DerivedArrays,
    JsonObject GroupAttributes,
    CodecPipeline Codecs,
    int MaxChunkBytes = ChunkPlanner.DefaultMaxChunkBytes)
{
    public RunAxis Axis(string name) => Axes.FirstOrDefault(a => a.Name == name)
                                        ?? throw new ArgumentException($"run '{GroupPath}' has no axis '{name}'", nameof(name));

    public RunVariable Variable(string name) => Variables.FirstOrDefault(v => v.Name == name)
                                                ?? throw new ArgumentException($"run '{GroupPath}' has no variable '{name}'", nameof(name));
}

/// <summary>One field's chunks are in the store: the event the metadata owner folds into <see cref="RunState"/>.</summary>
public sealed record FieldWritten(string Variable, ImmutableArray<long> Indices, IReadOnlyList<string> Keys);

/// <summary>
/// What the metadata says about a run: the extent of each axis. Pure and order-free: folding the same events in any
/// order, any number of times, gives the same state (extents are maxima).
/// </summary>
public sealed record RunState(ImmutableSortedDictionary<string, long> Extents)
{
    public static readonly RunState Empty = new(ImmutableSortedDictionary<string, long>.Empty.WithComparers(StringComparer.Ordinal));

    public long Extent(string axis) => Extents.GetValueOrDefault(axis);

    public RunState Apply(RunLayout layout, FieldWritten written)
    {
        var variable = layout.Variable(written.Variable);
        var extents = Extents;
        for (var i = 0; i < variable.Axes.Count; i++)
        {
            var needed = written.Indices[i] + 1;
            if (needed > extents.GetValueOrDefault(variable.Axes[i])) extents = extents.SetItem(variable.Axes[i], needed);
        }
        return ReferenceEquals(extents, Extents) ? this : new RunState(extents);
    }
}

/// <summary>
/// A model-run dataset that grows as files arrive. Two roles, so that chunk writes run in parallel while one owner
/// (the ModelRun actor) serialises metadata:
/// <list type="bullet">
/// <item><see cref="WriteFieldAsync"/>: any thread, any order, any number of times; writes only the field's own
/// chunks (deterministic keys and bytes) and returns a <see cref="FieldWritten"/>.</item>
/// <item><see cref="RunState.Apply"/> + <see cref="CommitMetadataAsync"/>: the owner only; the metadata written
/// is a pure function of the state, so re-committing is idempotent.</item>
/// </list>
/// </summary>
public sealed class RunDataset(ZarrWriter writer, RunLayout layout)
{
    public RunLayout Layout { get; } = layout;

    public ZarrWriter Writer { get; } = writer;

    /// <summary>Writes one 2-D (or 1-D <c>values</c>) field at the given axis values; returns what the owner must fold in.</summary>
    public async Task<FieldWritten> WriteFieldAsync(string variable, IReadOnlyList<double> axisValues, ReadOnlyMemory<float> values,
        CancellationToken cancellationToken = default)
    {
        var v = Layout.Variable(variable);
        var indices = IndicesOf(variable, axisValues);
        var shape = indices.Select(i => i + 1).Concat(Layout.GridShape).ToArray();
        var array = ArrayOf(v, shape);
        var keys = await Writer.WriteBlockAsync(array, indices, values, cancellationToken).ConfigureAwait(false);
        return new FieldWritten(variable, [.. indices], keys);
    }

    /// <summary>The index of a field along each of the variable's axes: a pure function of the axis values.</summary>
    public long[] IndicesOf(string variable, IReadOnlyList<double> axisValues)
    {
        var v = Layout.Variable(variable);
        if (axisValues.Count != v.Axes.Count)
            throw new ArgumentException($"variable '{variable}' has axes ({string.Join(", ", v.Axes)}); got {axisValues.Count} values");
        var indices = new long[v.Axes.Count];
        for (var i = 0; i < indices.Length; i++) indices[i] = Layout.Axis(v.Axes[i]).IndexOf(axisValues[i]);
        return indices;
    }

    /// <summary>
    /// Writes all metadata for <paramref name="state"/>: group, every variable's array metadata at the current extents,
    /// axis and derived coordinates, static coordinates (all at once, within the writer's bound on puts in flight),
    /// then the consolidated metadata, built from the documents just written (nothing is read back) and put last, once
    /// everything it describes is in place. Call from one owner at a time. Returns the consolidated metadata's bytes.
    /// </summary>
    public async Task<byte[]> CommitMetadataAsync(RunState state, CancellationToken cancellationToken = default)
    {
        var prefix = Layout.GroupPath.Length == 0 ? "" : Layout.GroupPath + "/";
        var writes = new List<Task> { Writer.WriteGroupAsync(Layout.GroupPath, Layout.GroupAttributes, cancellationToken) };
        foreach (var v in Layout.Variables)
        {
            var shape = v.Axes.Select(state.Extent).Concat(Layout.GridShape).ToArray();
            writes.Add(Writer.WriteArrayMetadataAsync(ArrayOf(v, shape), cancellationToken));
        }
        foreach (var axis in Layout.Axes)
        {
            var n = state.Extent(axis.Name);
            var data = new double[n];
            for (var i = 0; i < n; i++) data[i] = axis.ValueAt(i);
            writes.Add(WriteNumbersAsync(new ZarrArray(prefix + axis.Name, axis.DataType, [n], [(int)Math.Max(1, n)], [axis.Name], axis.Attributes), data, cancellationToken));
        }
        foreach (var d in Layout.DerivedArrays)
        {
            var shape = d.Axes.Select(state.Extent).ToArray();
            var total = shape.Aggregate(1L, (a, b) => a * b);
            var data = new double[total];
            var values = new Dictionary<string, double>();
            for (long flat = 0; flat < total; flat++)
            {
                var rest = flat;
                for (var k = shape.Length - 1; k >= 0; k--)
                {
                    var idx = shape[k] == 0 ? 0 : rest % shape[k];
                    rest = shape[k] == 0 ? 0 : rest / shape[k];
                    values[d.Axes[k]] = Layout.Axis(d.Axes[k]).ValueAt(idx);
                }
                data[flat] = d.Compute(values);
            }
            var chunks = shape.Select(s => (int)Math.Max(1, s)).ToArray();
            writes.Add(WriteNumbersAsync(new ZarrArray(prefix + d.Name, d.DataType, shape, chunks, [.. d.Axes], d.Attributes), data, cancellationToken));
        }
        foreach (var s in Layout.StaticArrays)
            writes.Add(WriteStaticAsync(StaticArrayOf(s), s.Values, cancellationToken));
        await Task.WhenAll(writes).ConfigureAwait(false);
        return await Writer.ConsolidateWrittenAsync(Layout.GroupPath, cancellationToken).ConfigureAwait(false);
    }

    // zstd above level 1 buys under 5% on shuffled coordinates at two to three times the time: level 1 for them.
    // The shuffle filter (v2) uses the coordinate's own element size.
    private CodecPipeline CoordinateCodecs(ZarrDataType type)
    {
        var compressor = Layout.Codecs.Compressor is ZstdCodec { Level: > 1 } ? new ZstdCodec(1) : Layout.Codecs.Compressor;
        var others = Layout.Codecs.Filters.Where(f => f is not ShuffleFilter).ToList();
        return Writer.Format == ZarrFormat.V2 && compressor is not null && others.Count == 0 && type.Size > 1
            ? new CodecPipeline([new ShuffleFilter(type.Size)], compressor)
            : new CodecPipeline(Layout.Codecs.Filters, compressor);
    }

    /// <summary>The array definition of a variable at a given shape (chunk shape depends only on the grid).</summary>
    public ZarrArray ArrayOf(RunVariable v, long[] shape)
    {
        var prefix = Layout.GroupPath.Length == 0 ? "" : Layout.GroupPath + "/";
        var type = v.DataType ?? ZarrDataType.Float32;
        var chunks = ChunkPlanner.Plan(shape, v.Axes.Count, type.Size, Layout.MaxChunkBytes);
        return new ZarrArray(prefix + v.Name, type, shape, chunks, [.. v.Axes, .. Layout.GridDimensions], v.Attributes, Layout.Codecs,
            type.IsFloat ? double.NaN : null);
    }

    // Encoded chunks of static coordinates by source array: groups on one grid share one latitude/longitude array
    // (see CfgribMapping), so its chunks are encoded once, not once per group. Weak keys: no leak.
    private static readonly ConditionalWeakTable<double[], ConcurrentDictionary<string, (string Suffix, byte[] Bytes)[]>> EncodedStatics = new();

    private async Task WriteStaticAsync(ZarrArray array, double[] data, CancellationToken cancellationToken)
    {
        if (!IsCached(array, data))
        {
            await WriteNumbersAsync(array, data, cancellationToken).ConfigureAwait(false);
            return;
        }
        var chunks = EncodedStatic(array, data);
        await Task.WhenAll(chunks.Select(c => Writer.PutAsync(array.Path + c.Suffix, c.Bytes, cancellationToken))
            .Append(Writer.WriteArrayMetadataAsync(array, cancellationToken))).ConfigureAwait(false);
    }

    private static bool IsCached(ZarrArray array, double[] data) => data.Length > 1024 && array.Rank <= 2 && array.DataType == ZarrDataType.Float64;

    private (string Suffix, byte[] Bytes)[] EncodedStatic(ZarrArray array, double[] data)
    {
        var signature = string.Join('|', Writer.Format, string.Join(',', array.Shape), string.Join(',', array.Chunks), array.FillValue,
            array.Codecs.Compressor?.V2Config().ToJsonString() ?? "none", string.Join(',', array.Codecs.Filters.Select(f => f.V2Config().ToJsonString())));
        var cache = EncodedStatics.GetOrCreateValue(data);
        return cache.GetOrAdd(signature, _ => [.. Writer.EncodeBlock<double>(array, [], data).Select(c => (c.Key[array.Path.Length..], c.Bytes))]);
    }

    /// <summary>The whole-array definition of a static coordinate, as <see cref="CommitMetadataAsync"/> writes it.</summary>
    private ZarrArray StaticArrayOf(RunStaticArray s)
    {
        var prefix = Layout.GroupPath.Length == 0 ? "" : Layout.GroupPath + "/";
        var shape = s.Shape ?? (s.Dimensions.Length == 0 ? [] : [s.Values.Length]);
        var chunks = ChunkPlanner.Plan(shape, 0, s.DataType.Size, Layout.MaxChunkBytes);
        // Large coordinates (2-D latitude/longitude of projected grids) are compressed with the data's compressor,
        // after the shuffle filter in Zarr v2: smooth doubles then compress better and several times faster.
        var codecs = s.Values.Length > 1024 ? CoordinateCodecs(s.DataType) : null;
        return new ZarrArray(prefix + s.Name, s.DataType, shape, chunks, s.Dimensions, s.Attributes, codecs);
    }

    /// <summary>
    /// Encodes the large static coordinates (2-D latitude/longitude) ahead of <see cref="CommitMetadataAsync"/>, which
    /// then only writes them: lets a caller run that CPU work in parallel with other work. Optional.
    /// </summary>
    public void EncodeStaticArrays()
    {
        foreach (var s in Layout.StaticArrays)
        {
            var array = StaticArrayOf(s);
            if (IsCached(array, s.Values)) _ = EncodedStatic(array, s.Values);
        }
    }

    /// <summary>Writes a whole numeric array given as doubles, converted to its data type.</summary>
    public Task WriteNumbersAsync(ZarrArray array, double[] data, CancellationToken cancellationToken) =>
        WriteNumbers(Writer, array, data, cancellationToken);

    public static async Task WriteNumbers(ZarrWriter writer, ZarrArray array, double[] data, CancellationToken cancellationToken)
    {
        // Whole coordinate arrays may be tiled in both trailing dimensions; leading ones are split here.
        if (array.Rank > 2 && data.Length > 0)
            throw new NotSupportedException($"array '{array.Path}': whole-array writes of rank {array.Rank} are not supported");
        var metadata = writer.WriteArrayMetadataAsync(array, cancellationToken);
        if (data.Length == 0)
        {
            await metadata.ConfigureAwait(false);
            return;
        }
        await Task.WhenAll(metadata, WriteChunks(writer, array, data, cancellationToken)).ConfigureAwait(false);
    }

    private static async Task WriteChunks(ZarrWriter writer, ZarrArray array, double[] data, CancellationToken cancellationToken)
    {
        var t = array.DataType;
        if (t == ZarrDataType.Float64) await writer.WriteBlockAsync<double>(array, [], data.AsMemory(), cancellationToken).ConfigureAwait(false);
        else if (t == ZarrDataType.Float32) await writer.WriteBlockAsync<float>(array, [], data.Select(x => (float)x).ToArray().AsMemory(), cancellationToken).ConfigureAwait(false);
        else if (t == ZarrDataType.Int64) await writer.WriteBlockAsync<long>(array, [], data.Select(x => (long)x).ToArray().AsMemory(), cancellationToken).ConfigureAwait(false);
        else if (t == ZarrDataType.Int32) await writer.WriteBlockAsync<int>(array, [], data.Select(x => (int)x).ToArray().AsMemory(), cancellationToken).ConfigureAwait(false);
        else throw new NotSupportedException($"array '{array.Path}': {t} coordinates are not supported");
    }
}
