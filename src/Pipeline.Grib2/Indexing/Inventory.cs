using System.Globalization;
using System.Text;
using System.Text.Json;
using Pipeline.Grib2.Products;
using Pipeline.Grib2.Tables;

namespace Pipeline.Grib2.Indexing;

/// <summary>One field of a GRIB2 file, with the keys other tools name it by.</summary>
public sealed record InventoryEntry
{
    /// <summary>1-based message number.</summary>
    public required int Message { get; init; }
    /// <summary>1-based field number within the message (1 unless sections 2-7 repeat).</summary>
    public required int Field { get; init; }
    public required long Offset { get; init; }
    public required long Length { get; init; }
    public required int Centre { get; init; }
    public required int Discipline { get; init; }
    public required int ParameterCategory { get; init; }
    public required int ParameterNumber { get; init; }
    public required string ShortName { get; init; }
    public required string Name { get; init; }
    public required string Units { get; init; }
    public string? CfVarName { get; init; }
    public string? CfName { get; init; }
    public string? TypeOfLevel { get; init; }
    public double? Level { get; init; }
    public int GridDefinitionTemplateNumber { get; init; }
    public string? GridType { get; init; }
    public int ProductDefinitionTemplateNumber { get; init; }
    public int DataRepresentationTemplateNumber { get; init; }
    public long NumberOfDataPoints { get; init; }
    public long NumberOfValues { get; init; }
    public bool BitmapPresent { get; init; }
    public DateTime ReferenceTime { get; init; }
    /// <summary>Forecast time in its unit (<see cref="ForecastTimeUnit"/>, code table 4.4); null when the template has none.</summary>
    public long? ForecastTime { get; init; }
    public int? ForecastTimeUnit { get; init; }
    public string? StepRange { get; init; }
    public int? TypeOfStatisticalProcessing { get; init; }
    public int? PerturbationNumber { get; init; }
    /// <summary>wgrib2's variable abbreviation (TMP, UGRD...).</summary>
    public required string Wgrib2Name { get; init; }
    /// <summary>wgrib2's level text ("500 mb", "2 m above ground").</summary>
    public required string Wgrib2Level { get; init; }
    /// <summary>wgrib2's forecast text ("anl", "6 hour fcst", "0-6 hour acc fcst").</summary>
    public required string Wgrib2Forecast { get; init; }
    /// <summary>wgrib2's extra fields after the forecast (ensemble member, probability), each ending with ':'.</summary>
    public string Wgrib2Extra { get; init; } = "";
    /// <summary>Why a part of the field could not be described (a template this reader does not know), else null.</summary>
    public string? Problem { get; init; }

    /// <summary>The --json object: the issue's fixed keys first, then a few more.</summary>
    public void WriteJson(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteNumber("message", Message);
        if (Field != 1) w.WriteNumber("field", Field);
        w.WriteNumber("offset", Offset);
        w.WriteNumber("length", Length);
        w.WriteNumber("discipline", Discipline);
        w.WriteNumber("parameterCategory", ParameterCategory);
        w.WriteNumber("parameterNumber", ParameterNumber);
        w.WriteString("shortName", ShortName);
        if (TypeOfLevel is null) w.WriteNull("typeOfLevel");
        else w.WriteString("typeOfLevel", TypeOfLevel);
        if (Level is { } l)
        {
            if (l == Math.Floor(l) && Math.Abs(l) < 1e15) w.WriteNumber("level", (long)l);
            else w.WriteNumber("level", l);
        }
        else
        {
            w.WriteNull("level");
        }
        w.WriteNumber("gridDefinitionTemplateNumber", GridDefinitionTemplateNumber);
        w.WriteNumber("productDefinitionTemplateNumber", ProductDefinitionTemplateNumber);
        w.WriteNumber("dataRepresentationTemplateNumber", DataRepresentationTemplateNumber);
        w.WriteNumber("numberOfDataPoints", NumberOfDataPoints);
        w.WriteNumber("numberOfValues", NumberOfValues);
        w.WriteBoolean("bitmapPresent", BitmapPresent);
        w.WriteString("referenceTime", ReferenceTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
        if (ForecastTime is { } ft) w.WriteNumber("forecastTime", ft);
        else w.WriteNull("forecastTime");
        if (ForecastTimeUnit is { } fu) w.WriteNumber("indicatorOfUnitOfTimeRange", fu);
        if (StepRange is not null) w.WriteString("stepRange", StepRange);
        w.WriteNumber("centre", Centre);
        w.WriteString("name", Name);
        w.WriteString("units", Units);
        if (CfVarName is not null) w.WriteString("cfVarName", CfVarName);
        if (CfName is not null) w.WriteString("cfName", CfName);
        if (GridType is not null) w.WriteString("gridType", GridType);
        if (PerturbationNumber is { } pn) w.WriteNumber("perturbationNumber", pn);
        if (Problem is not null) w.WriteString("problem", Problem);
        w.WriteEndObject();
    }

    public string ToJson()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms)) WriteJson(w);
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>The plain inventory line: number, offset, date, names, level, step.</summary>
    public string ToText()
    {
        var number = Field == 1 ? Message.ToString(CultureInfo.InvariantCulture) : $"{Message}.{Field}";
        var level = Level is { } l ? l.ToString("0.#########", CultureInfo.InvariantCulture) : "-";
        return $"{number}:{Offset}:d={ReferenceTime:yyyyMMddHH}:{ShortName}:{TypeOfLevel ?? "unknown"}:{level}:{StepRange ?? "-"}:" +
               $"{Wgrib2Name}:{Wgrib2Level}:{Wgrib2Forecast}:grid 3.{GridDefinitionTemplateNumber}:packing 5.{DataRepresentationTemplateNumber}:" +
               $"points {NumberOfDataPoints}" + (Problem is null ? "" : $":problem {Problem}");
    }
}

/// <summary>Builds inventories from scanned messages.</summary>
public static class Inventory
{
    /// <summary>One entry per field of every message, in file order.</summary>
    public static IReadOnlyList<InventoryEntry> Build(IReadOnlyList<GribMessage> messages)
    {
        var list = new List<InventoryEntry>();
        for (var m = 0; m < messages.Count; m++)
        {
            var msg = messages[m];
            for (var f = 0; f < msg.Fields.Count; f++)
                list.Add(Describe(msg.Fields[f], m + 1));
        }
        return list;
    }

    /// <summary>Describes one field; <paramref name="messageNumber"/> is 1-based.</summary>
    public static InventoryEntry Describe(GribField field, int messageNumber)
    {
        var msg = field.Message;
        var id = msg.Identification;
        string? problem = null;
        ProductDefinition product;
        try
        {
            product = ProductDefinition.ParseLenient(field.Section4.Span, msg.Offset);
            if (!product.IsKnownTemplate) problem = $"product definition template 4.{product.TemplateNumber} is not supported";
        }
        catch (GribFormatException e)
        {
            problem = e.Message;
            product = ProductDefinition.ParseLenient(MinimalSection4(field.Section4.Span), msg.Offset);
        }
        string? gridType = null;
        try
        {
            gridType = Grids.GridDefinition.Parse(field.Section3.Span, msg.Offset).GridType;
        }
        catch (GribFormatException e)
        {
            problem ??= e.Message;
        }
        var keys = product.ConceptKeys(id.Centre, field.Discipline, id.LocalTablesVersion, field.GridDefinitionTemplateNumber);
        var info = ParameterTable.Lookup(keys);
        var (level, typeOfLevel) = product.Level(id.Centre);
        return new InventoryEntry
        {
            Message = messageNumber,
            Field = field.IndexInMessage + 1,
            Offset = msg.Offset,
            Length = msg.Length,
            Centre = id.Centre,
            Discipline = field.Discipline,
            ParameterCategory = product.ParameterCategory,
            ParameterNumber = product.ParameterNumber,
            ShortName = info.ShortName,
            Name = info.Name,
            Units = info.Units,
            CfVarName = info.CfVarName,
            CfName = info.CfName,
            TypeOfLevel = typeOfLevel,
            Level = typeOfLevel is null ? null : Math.Round(level, 9),
            GridDefinitionTemplateNumber = field.GridDefinitionTemplateNumber,
            GridType = gridType,
            ProductDefinitionTemplateNumber = product.TemplateNumber,
            DataRepresentationTemplateNumber = field.DataRepresentationTemplateNumber,
            NumberOfDataPoints = field.NumberOfDataPoints,
            NumberOfValues = field.NumberOfValues,
            BitmapPresent = field.BitmapPresent,
            ReferenceTime = id.ReferenceTime,
            ForecastTime = product.ForecastTime,
            ForecastTimeUnit = product.IndicatorOfUnitOfTimeRange,
            StepRange = product.StepRange,
            TypeOfStatisticalProcessing = product.TypeOfStatisticalProcessing,
            PerturbationNumber = product.PerturbationNumber,
            Wgrib2Name = Wgrib2Names.Lookup(id.Centre, field.Discipline, product.ParameterCategory, product.ParameterNumber),
            Wgrib2Level = Wgrib2Text.Level(product),
            Wgrib2Forecast = Wgrib2Text.Forecast(product),
            Wgrib2Extra = Wgrib2Text.Extra(product),
            Problem = problem,
        };
    }

    // When a known template is damaged, keep category/number (octets 10-11) and describe the rest as unknown.
    private static byte[] MinimalSection4(ReadOnlySpan<byte> s4)
    {
        var b = new byte[11];
        b[3] = 11;
        b[4] = 4;
        b[7] = 0xFF;
        b[8] = 0xFF;
        if (s4.Length >= 11)
        {
            b[9] = s4[9];
            b[10] = s4[10];
        }
        return b;
    }
}
