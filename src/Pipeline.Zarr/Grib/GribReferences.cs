using System.Buffers.Binary;
using System.Text.Json.Nodes;
using Pipeline.Zarr.Kerchunk;
using Pipeline.Zarr.Metadata;

namespace Pipeline.Zarr.Grib;

/// <summary>
/// kerchunk <c>scan_grib</c>-style references for one GRIB2 message: the variable is a single chunk pointing at the
/// message's byte range in the original file (decoded by the numcodecs <c>grib</c> filter), coordinates inline.
/// </summary>
public static class GribReferences
{
    private static readonly Codecs.ZlibCodec Zlib = new(5);

    public static ReferenceSet ForMessage(Hypercube cube, GribFieldRecord f)
    {
        var set = new ReferenceSet();
        set.Templates["u"] = Path.GetFullPath(f.File);
        var layout = cube.Layout;
        var nonDim = new List<string>();
        set.SetText(".zgroup", "{\"zarr_format\":2}");
        var groupAttrs = (JsonObject)layout.GroupAttributes.DeepClone();
        var coordNames = new List<string>();
        var v = layout.Variable(f.Variable);
        var shape = layout.GridShape;
        var attrs = (JsonObject)v.Attributes.DeepClone();
        attrs["_ARRAY_DIMENSIONS"] = new JsonArray([.. layout.GridDimensions.Select(d => (JsonNode)d)]);
        set.SetText(f.Variable + "/.zarray", Compact(new JsonObject
        {
            ["chunks"] = new JsonArray([.. shape.Select(s => (JsonNode)s)]),
            ["compressor"] = null,
            ["dtype"] = "<f8",
            ["fill_value"] = null,
            ["filters"] = new JsonArray(new JsonObject { ["dtype"] = "float64", ["id"] = "grib", ["var"] = f.Variable }),
            ["order"] = "C",
            ["shape"] = new JsonArray([.. shape.Select(s => (JsonNode)s)]),
            ["zarr_format"] = 2,
        }));
        set.Set(f.Variable + "/" + string.Join('.', shape.Select(_ => "0")), KerchunkRef.Range("{{u}}", f.Field.Message.Offset, f.Field.Message.Length));
        var varAttrs = (JsonObject)attrs.DeepClone();
        varAttrs.Remove("coordinates");
        set.SetText(f.Variable + "/.zattrs", Compact(varAttrs));
        // Scalar coordinates of this message (dims of the hypercube become scalars here, as in scan_grib).
        foreach (var axis in layout.Axes)
            AddScalar(set, axis.Name, axis.DataType, axis.Attributes, CfgribMapping.AxisValue(f, NameToAxis(cube, axis.Name)), coordNames);
        foreach (var s in layout.StaticArrays)
        {
            if (s.Dimensions.Length == 0 && s.Name != "valid_time")
            {
                AddScalar(set, s.Name, s.DataType, s.Attributes, s.Values[0], coordNames);
            }
            else if (s.Dimensions.Length > 0)
            {
                var sshape = s.Shape ?? [s.Values.Length];
                // Big inline coordinates (2-D latitude/longitude) are zlib-compressed: numcodecs reads them anywhere.
                var compress = s.Values.Length > 1024;
                set.SetText(s.Name + "/.zarray", Compact(new JsonObject
                {
                    ["chunks"] = new JsonArray([.. sshape.Select(x => (JsonNode)x)]),
                    ["compressor"] = compress ? Zlib.V2Config() : null, ["dtype"] = "<f8", ["fill_value"] = null, ["filters"] = null, ["order"] = "C",
                    ["shape"] = new JsonArray([.. sshape.Select(x => (JsonNode)x)]), ["zarr_format"] = 2,
                }));
                var bytes = new byte[s.Values.Length * 8];
                for (var i = 0; i < s.Values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * 8), s.Values[i]);
                if (compress) bytes = Zlib.Encode(bytes);
                set.Set(s.Name + "/" + string.Join('.', sshape.Select(_ => "0")), KerchunkRef.Bytes(bytes));
                var a = (JsonObject)s.Attributes.DeepClone();
                a["_ARRAY_DIMENSIONS"] = new JsonArray([.. s.Dimensions.Select(d => (JsonNode)d)]);
                set.SetText(s.Name + "/.zattrs", Compact(a));
                coordNames.Add(s.Name);
            }
        }
        AddScalar(set, "valid_time", ZarrDataType.Int64, new JsonObject
        {
            ["calendar"] = "proleptic_gregorian", ["long_name"] = "time", ["standard_name"] = "time", ["units"] = "seconds since 1970-01-01T00:00:00",
        }, f.TimeSeconds + f.StepHours * 3600, coordNames);
        coordNames.Sort(StringComparer.Ordinal);
        groupAttrs["coordinates"] = string.Join(' ', coordNames);
        // .zattrs goes second, as scan_grib writes it.
        var ordered = new ReferenceSet();
        ordered.Templates["u"] = set.Templates["u"];
        ordered.Set(".zgroup", set[".zgroup"]);
        ordered.SetText(".zattrs", Compact(groupAttrs));
        foreach (var k in set.Keys.Where(k => k != ".zgroup")) ordered.Set(k, set[k]);
        _ = nonDim;
        return ordered;
    }

    private static string NameToAxis(Hypercube cube, string name) =>
        name is "time" or "step" or "number" ? name : CfgribMapping.LevelAxis;

    private static void AddScalar(ReferenceSet set, string name, ZarrDataType type, JsonObject attrs, double value, List<string> coords)
    {
        var dtype = type == ZarrDataType.Int64 ? "<i8" : "<f8";
        set.SetText(name + "/.zarray", Compact(new JsonObject
        {
            ["chunks"] = new JsonArray(), ["compressor"] = null, ["dtype"] = dtype, ["fill_value"] = null, ["filters"] = null,
            ["order"] = "C", ["shape"] = new JsonArray(), ["zarr_format"] = 2,
        }));
        var bytes = new byte[8];
        if (dtype == "<i8") BinaryPrimitives.WriteInt64LittleEndian(bytes, (long)value);
        else BinaryPrimitives.WriteDoubleLittleEndian(bytes, value);
        set.Set(name + "/0", KerchunkRef.Bytes(bytes));
        var a = (JsonObject)attrs.DeepClone();
        a["_ARRAY_DIMENSIONS"] = new JsonArray();
        set.SetText(name + "/.zattrs", Compact(a));
        coords.Add(name);
    }

    private static string Compact(JsonNode n) => CanonicalJson.SerializeToString(n, indented: false);
}
