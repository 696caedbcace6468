using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Grib2;
using Pipeline.Packaging.Processing;
using Pipeline.Packaging.Writing;
using Pipeline.Zarr;
using Pipeline.Zarr.Codecs;
using Pipeline.Zarr.Grib;
using Pipeline.Zarr.Metadata;
using Pipeline.Zarr.Runs;
using Pipeline.Zarr.Storage;

namespace Pipeline.Packaging;

/// <summary>
/// Builds one package from the original GRIB2 files of a run: read the inventory, select fields (variables,
/// levels, wgrib2-style match, steps), clip to the boundary's box and mask by its polygon, write Zarr (cfgrib layout)
/// or a GRIB2 subset of the original message bytes, then describe it: <c>datapackage.json</c> (Frictionless Data
/// Package: resources with path, bytes, sha256 hash, media type; licences; sources) and <c>provenance.json</c>
/// (inputs with checksums, processors with parameters, software, times). Every key is under the package prefix and
/// deterministic, so building again overwrites the same objects.
/// </summary>
public static class PackageBuilder
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static async Task<PackageResult> BuildAsync(PackageRequest request, IReadOnlyList<PackageInput> inputs, IObjectStore store, string prefix,
        IProgress<PackageProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        StoreKey.ValidatePrefix(prefix);
        if (inputs.Count == 0) throw new PackagingException($"run {request.Run} of dataset '{request.Dataset}' has no input file");
        if (request.Format == PackageFormat.Grib2 && request.Clip)
            throw new PackagingException("a GRIB2 package copies the original messages and cannot be clipped: ask for zarr, or clip=false");
        if (request.Clip && request.Boundary is null) throw new PackagingException("clipping needs a boundary");

        // Map every input, read its inventory and keep only the selected fields. Mapped, not read: a run of hundreds
        // of files is packaged without holding them on the heap (a selected field's data is read from the page cache
        // when it is decoded or copied); a file with no selected field is unmapped at once, the rest when done.
        var mapped = new List<MappedGribFile>();
        try
        {
            return await BuildFromAsync(request, inputs, store, prefix, progress, mapped, started, clock, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            foreach (var m in mapped) m.Dispose();
        }
    }

    private static async Task<PackageResult> BuildFromAsync(PackageRequest request, IReadOnlyList<PackageInput> inputs, IObjectStore store, string prefix,
        IProgress<PackageProgress>? progress, List<MappedGribFile> mapped, DateTimeOffset started, Stopwatch clock, CancellationToken cancellationToken)
    {
        var selected = new List<GribFieldRecord>();
        var available = new SortedSet<string>(StringComparer.Ordinal);
        var total = 0;
        for (var i = 0; i < inputs.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            IReadOnlyList<GribFieldRecord> records;
            try
            {
                var file = MappedGribFile.Open(inputs[i].Path);
                mapped.Add(file);
                records = GribFieldRecord.Of(file);
            }
            catch (GribFormatException e)
            {
                throw new PackagingException($"input {inputs[i].Source} is not readable GRIB2: {e.Message}");
            }
            var before = selected.Count;
            foreach (var r in records)
            {
                total++;
                if (request.Selection.Selects(r)) selected.Add(r);
                else if (available.Count < 40) available.Add($"{r.Entry.ShortName}@{r.TypeOfLevel}:{r.Level.ToString(CultureInfo.InvariantCulture)}");
            }
            if (selected.Count == before)
            {
                mapped[^1].Dispose();
                mapped.RemoveAt(mapped.Count - 1);
            }
            progress?.Report(new PackageProgress("read", i + 1, inputs.Count, inputs[i].Source.AbsoluteUri));
        }

        progress?.Report(new PackageProgress("select", selected.Count, total));
        if (selected.Count == 0)
            throw new PackagingException($"no field of dataset '{request.Dataset}' run {request.Run} matches the selection; it has " +
                                         string.Join(", ", available.Take(20)));

        var recording = new RecordingStore(new PrefixedStore(store, prefix));
        var warnings = new List<string>();
        long cells = 0, inside = 0;
        int fields;
        if (request.Format == PackageFormat.Zarr)
            (fields, cells, inside) = await WriteZarrAsync(request, selected, new PrefixedStore(recording, "data.zarr"), warnings, progress, cancellationToken).ConfigureAwait(false);
        else
            fields = await WriteGribAsync(selected, inputs, recording, warnings, progress, cancellationToken).ConfigureAwait(false);

        // Describe.
        cancellationToken.ThrowIfCancellationRequested();
        var resources = recording.Written.OrderBy(w => w.Key, StringComparer.Ordinal)
            .Select(w => new PackageResource(ResourceName(w.Key), w.Key, w.Value.Bytes, "sha256:" + w.Value.Sha256, MediaType(w.Key, request.Format),
                request.Format == PackageFormat.Zarr ? "zarr" : "grib2"))
            .ToList();
        var finished = DateTimeOffset.UtcNow;
        var provenance = Provenance(request, inputs, selected, fields, cells, inside, warnings, started, finished, clock.Elapsed);
        var provenanceBytes = JsonSerializer.SerializeToUtf8Bytes(provenance, Indented);
        await recording.PutAsync("provenance.json", provenanceBytes, cancellationToken).ConfigureAwait(false);
        var provenanceResource = new PackageResource("provenance", "provenance.json", provenanceBytes.Length,
            "sha256:" + recording.Written["provenance.json"].Sha256, "application/json", "json");
        var all = resources.Append(provenanceResource).ToList();
        var package = DataPackage(request, inputs, all, finished);
        var packageBytes = JsonSerializer.SerializeToUtf8Bytes(package, Indented);
        await new PrefixedStore(store, prefix).PutAsync("datapackage.json", packageBytes, cancellationToken).ConfigureAwait(false);
        progress?.Report(new PackageProgress("describe", 1, 1, $"{all.Count} resources"));
        return new PackageResult(prefix, StoreKey.Join(prefix, "datapackage.json"), StoreKey.Join(prefix, "provenance.json"), request.Format, fields, cells, inside,
            all.Sum(r => r.Bytes) + packageBytes.Length, all, warnings);
    }

    private static async Task<(int Fields, long Cells, long Inside)> WriteZarrAsync(PackageRequest request, List<GribFieldRecord> selected, IObjectStore store,
        List<string> warnings, IProgress<PackageProgress>? progress, CancellationToken cancellationToken)
    {
        var boundary = request.Clip ? request.Boundary : null;
        var cubes = CfgribMapping.Plan(selected, CodecPipeline.Zstd());
        var plans = new List<(Hypercube Cube, ClipPlan Plan)>();
        foreach (var cube in cubes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var f = cube.Fields[0];
            var lat = cube.Layout.StaticArrays.FirstOrDefault(s => s.Name == "latitude")?.Values;
            var lon = cube.Layout.StaticArrays.FirstOrDefault(s => s.Name == "longitude")?.Values;
            if (lat is null || lon is null || lat.Length == 0)
            {
                if (boundary is not null)
                {
                    warnings.Add($"group '{cube.Group}': grid {f.Grid.GridType} has no coordinates, left out");
                    continue;
                }
                lat = lon = [];
            }
            var plan = ClipPlan.For(f.Layout, lat, lon, f.Grid.Ny, f.Grid.Nx, boundary);
            if (plan is null || plan.InsideCount == 0)
            {
                warnings.Add($"group '{cube.Group}': no grid point of its {f.Grid.GridType} grid is inside boundary '{boundary?.Name}'");
                continue;
            }
            plans.Add((cube, plan));
        }
        progress?.Report(new PackageProgress("clip", plans.Count, cubes.Count));
        if (plans.Count == 0)
        {
            var grids = string.Join("; ", cubes.Select(c => c.Fields[0].Grid).DistinctBy(g => g.GridType).Select(g => g.GetBoundingBox() is { } bb
                ? string.Create(CultureInfo.InvariantCulture, $"{g.GridType} [{bb.West:0.##}, {bb.South:0.##}, {bb.East:0.##}, {bb.North:0.##}]")
                : g.GridType));
            throw new PackagingException($"boundary '{request.Boundary?.Name}' {request.Boundary?.Box} covers no grid point of dataset '{request.Dataset}' run {request.Run} (grids: {grids})");
        }

        var writer = new ZarrWriter(store, ZarrFormat.V2);
        await writer.WriteGroupAsync("", new JsonObject
        {
            ["Conventions"] = "CF-1.7",
            ["groups"] = string.Join(' ', plans.Select(p => p.Cube.Group)),
            ["title"] = $"{request.Dataset} {request.Run}" + (request.Boundary is { } b ? $" for {b.Name}" : ""),
            ["package_id"] = request.Id,
            ["boundary"] = request.Boundary?.Name,
        }, cancellationToken).ConfigureAwait(false);
        var total = plans.Sum(p => p.Cube.Fields.Count);
        var done = 0;
        long cells = 0, inside = 0;
        foreach (var (cube, plan) in plans)
        {
            var layout = Clipped(cube.Layout, plan, request);
            var run = new RunDataset(writer, layout);
            var state = RunState.Empty;
            var source = new float[cube.Fields[0].Field.NumberOfDataPoints];
            foreach (var f in cube.Fields)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (source.Length != f.Field.NumberOfDataPoints) source = new float[f.Field.NumberOfDataPoints];
                f.DecodeFloat32(source);
                var clipped = new float[plan.Cells];
                plan.Apply(source, clipped);
                var written = await run.WriteFieldAsync(f.Variable, cube.AxisValues(f), clipped, cancellationToken).ConfigureAwait(false);
                state = state.Apply(layout, written);
                progress?.Report(new PackageProgress("write", ++done, total, $"{cube.Group}/{f.Variable}"));
            }
            await run.CommitMetadataAsync(state, cancellationToken).ConfigureAwait(false);
            cells += plan.Cells;
            inside += plan.InsideCount;
        }
        await writer.ConsolidateAsync("", cancellationToken).ConfigureAwait(false);
        return (total, cells, inside);
    }

    /// <summary>The group's layout on the clipped grid: new grid shape and coordinates, attributes saying what was done.</summary>
    private static RunLayout Clipped(RunLayout layout, ClipPlan plan, PackageRequest request)
    {
        var statics = layout.StaticArrays.Where(s => s.Name is not ("latitude" or "longitude")).ToList();
        var lat = layout.StaticArrays.FirstOrDefault(s => s.Name == "latitude");
        var lon = layout.StaticArrays.FirstOrDefault(s => s.Name == "longitude");
        if (lat is not null && lon is not null)
        {
            statics.Add(lat with { Values = plan.Lat, Shape = plan.CoordinateShape });
            statics.Add(lon with { Values = plan.Lon, Shape = plan.CoordinateShape });
        }
        var variables = layout.Variables.Select(v =>
        {
            var attrs = (JsonObject)v.Attributes.DeepClone();
            attrs["GRIB_numberOfPoints"] = plan.Cells;
            if (plan.Shape.Length == 2)
            {
                attrs["GRIB_Ny"] = plan.Shape[0];
                attrs["GRIB_Nx"] = plan.Shape[1];
            }
            if (request.Clip && request.Boundary is { } b) attrs["comment"] = $"clipped to boundary '{b.Name}'; cells whose centre is outside it are missing (NaN)";
            return v with { Attributes = attrs };
        }).ToList();
        var group = (JsonObject)layout.GroupAttributes.DeepClone();
        if (request.Boundary is { } bb) group["boundary"] = bb.Name;
        return layout with { GridShape = plan.Shape, StaticArrays = statics, Variables = variables, GroupAttributes = group };
    }

    private static async Task<int> WriteGribAsync(List<GribFieldRecord> selected, IReadOnlyList<PackageInput> inputs, IObjectStore store, List<string> warnings,
        IProgress<PackageProgress>? progress, CancellationToken cancellationToken)
    {
        var byFile = selected.GroupBy(r => r.File).ToList();
        var done = 0;
        foreach (var file in byFile)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var messages = file.GroupBy(r => r.MessageNumber).OrderBy(g => g.Key).ToList();
            using var buffer = new MemoryStream();
            foreach (var m in messages)
            {
                var message = m.First().Field.Message;
                if (m.Count() < message.Fields.Count)
                    warnings.Add($"{Path.GetFileName(file.Key)} message {m.Key}: {message.Fields.Count} fields in one message, {m.Count()} selected; the whole message is copied");
                buffer.Write(message.Bytes.Span);
            }
            var input = inputs.First(i => i.Path == file.Key);
            var name = Path.GetFileName(input.Source.AbsolutePath) is { Length: > 0 } n ? n : Path.GetFileName(file.Key);
            if (!name.EndsWith(".grib2", StringComparison.OrdinalIgnoreCase)) name += ".grib2";
            name = new string([.. name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_')]);
            await store.PutAsync("grib2/" + name, buffer.GetBuffer().AsMemory(0, (int)buffer.Length), cancellationToken).ConfigureAwait(false);
            done += file.Count();
            progress?.Report(new PackageProgress("write", done, selected.Count, name));
        }
        return selected.Count;
    }

    private static object DataPackage(PackageRequest request, IReadOnlyList<PackageInput> inputs, List<PackageResource> resources, DateTimeOffset created)
    {
        var license = new Dictionary<string, string> { ["name"] = request.LicenseName, ["title"] = request.LicenseTitle };
        if (request.LicensePath is { } p) license["path"] = p;
        return new Dictionary<string, object?>
        {
            ["profile"] = "data-package",
            ["name"] = PackageName(request.Id),
            ["id"] = request.Id,
            ["title"] = $"{request.Dataset} {request.Run}" + (request.Boundary is { } b ? $" for {b.Name}" : ""),
            ["created"] = created.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            ["keywords"] = new[] { request.Dataset, request.Format == PackageFormat.Zarr ? "zarr" : "grib2" },
            ["licenses"] = new[] { license },
            ["sources"] = inputs.Select(i => new Dictionary<string, string> { ["title"] = $"{request.Dataset} {request.Run}: {Path.GetFileName(i.Source.AbsolutePath)}", ["path"] = i.Source.AbsoluteUri }).ToList(),
            ["contributors"] = new[] { new Dictionary<string, string> { ["title"] = request.Software, ["role"] = "author" } },
            ["resources"] = resources.Select(r => new Dictionary<string, object>
            {
                ["name"] = r.Name,
                ["path"] = r.Path,
                ["profile"] = "data-resource",
                ["format"] = r.Format,
                ["mediatype"] = r.MediaType,
                ["bytes"] = r.Bytes,
                ["hash"] = r.Hash,
            }).ToList(),
        };
    }

    private static object Provenance(PackageRequest request, IReadOnlyList<PackageInput> inputs, List<GribFieldRecord> selected, int fields, long cells,
        long inside, List<string> warnings, DateTimeOffset started, DateTimeOffset finished, TimeSpan elapsed)
    {
        var processors = new List<object>
        {
            new { name = "select", parameters = new { variables = request.Selection.Variables, levels = request.Selection.Levels, match = request.Selection.Match } },
            new { name = "temporal-subset", parameters = new { fromStep = request.Selection.FromStep, toStep = request.Selection.ToStep } },
        };
        if (request.Clip && request.Boundary is { } b)
            processors.Add(new { name = "clip-mask", parameters = new { boundary = b.Name, boundarySha256 = b.Sha256, box = new[] { b.Box.West, b.Box.South, b.Box.East, b.Box.North }, rule = "cell centre inside polygon (even-odd), others NaN" } });
        processors.Add(new { name = "write", parameters = new { format = request.Format == PackageFormat.Zarr ? "zarr-v2-cfgrib-layout" : "grib2-original-messages" } });
        return new
        {
            package = request.Id,
            dataset = request.Dataset,
            run = request.Run,
            trigger = request.Trigger,
            software = new { name = "PipelineCluster", version = request.Software, runtime = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription },
            inputs = inputs.Select(i => new { url = i.Source.AbsoluteUri, sha256 = i.Sha256, bytes = i.Bytes }),
            boundary = request.Boundary is { } bd ? new { name = bd.Name, sha256 = bd.Sha256, vertices = bd.Vertices } : null,
            processors,
            fields = selected.Select(r => new { file = inputs.First(i => i.Path == r.File).Source.AbsoluteUri, message = r.MessageNumber, inventory = Pipeline.Grib2.Indexing.Idx.Line(r.Entry) }),
            result = new { fields, cells, insideCells = inside, warnings },
            times = new
            {
                started = started.ToString("O", CultureInfo.InvariantCulture),
                finished = finished.ToString("O", CultureInfo.InvariantCulture),
                seconds = Math.Round(elapsed.TotalSeconds, 3),
            },
        };
    }

    /// <summary>A Data Package name: lowercase letters, digits and <c>-._/</c>.</summary>
    public static string PackageName(string id)
    {
        var sb = new StringBuilder(id.Length);
        foreach (var c in id.ToLowerInvariant()) sb.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '/' ? c : '-');
        return sb.ToString();
    }

    private static string ResourceName(string key)
    {
        var sb = new StringBuilder(key.Length);
        foreach (var c in key.ToLowerInvariant()) sb.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' ? c : '-');
        return sb.ToString().TrimStart('.', '-') is { Length: > 0 } s ? s : "resource";
    }

    private static string MediaType(string key, PackageFormat format) =>
        key.EndsWith(".json", StringComparison.Ordinal) || key.EndsWith(".zarray", StringComparison.Ordinal) || key.EndsWith(".zattrs", StringComparison.Ordinal)
        || key.EndsWith(".zgroup", StringComparison.Ordinal) || key.EndsWith(".zmetadata", StringComparison.Ordinal)
            ? "application/json"
            : format == PackageFormat.Grib2 ? "application/x-grib2" : "application/octet-stream";
}
