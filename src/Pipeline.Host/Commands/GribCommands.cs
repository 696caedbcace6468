using System.Buffers.Binary;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Pipeline.Grib2;
using Pipeline.Grib2.Grids;
using Pipeline.Grib2.Indexing;

namespace Pipeline.Host.Commands;

/// <summary>
/// <c>pipeline grib ...</c>: inventory, values, latlon, idx, bench. Output formats are fixed (other tools call these
/// commands): see issue 3 and the README section of Pipeline.Grib2.
/// </summary>
public static class GribCommands
{
    public static Command Build()
    {
        var grib = new Command("grib", "Read GRIB2 files: inventory, values, coordinates, .idx sidecars, decode benchmark.");
        grib.Subcommands.Add(Inventory());
        grib.Subcommands.Add(Values());
        grib.Subcommands.Add(LatLon());
        grib.Subcommands.Add(Idx());
        grib.Subcommands.Add(Bench());
        return grib;
    }

    private static Argument<FileInfo> FileArgument() => new("FILE") { Description = "A GRIB2 file (GRIB1 messages in it are skipped with a warning)." };

    private static Command Inventory()
    {
        var file = FileArgument();
        var json = new Option<bool>("--json") { Description = "One JSON object per line instead of the text inventory." };
        var cmd = new Command("inventory", "One line per message (per field when a message holds several).") { file, json };
        cmd.SetAction(r => Run(r, () =>
        {
            var output = r.InvocationConfiguration.Output;
            var messages = Read(r, r.GetValue(file)!);
            foreach (var e in Pipeline.Grib2.Indexing.Inventory.Build(messages))
                output.WriteLine(r.GetValue(json) ? e.ToJson() : e.ToText());
            return 0;
        }));
        return cmd;
    }

    private static Command Values()
    {
        var file = FileArgument();
        var outDir = new Option<DirectoryInfo>("--out") { Description = "Directory for msgNNN.f64 files (created if absent).", Required = true };
        var cmd = new Command("values",
            "Write DIR/msgNNN.f64 per field as ecCodes lists them with multi-field support on (NNN 1-based, 3 digits, " +
            "counting every field of a message that repeats sections 2-7): numberOfDataPoints float64 little-endian " +
            "values in ecCodes' order, NaN where a point is missing.") { file, outDir };
        cmd.SetAction(r => Run(r, () =>
        {
            var messages = Read(r, r.GetValue(file)!);
            var dir = r.GetValue(outDir)!;
            Directory.CreateDirectory(dir.FullName);
            var failures = 0;
            var number = 0;
            foreach (var message in messages)
                foreach (var field in message.Fields)
                {
                    number++;
                    var path = Path.Combine(dir.FullName, $"msg{number:000}.f64");
                    try
                    {
                        var values = field.DecodeValues();
                        WriteDoubles(path, values);
                    }
                    catch (Exception e) when (e is GribFormatException or NotSupportedException or DllNotFoundException)
                    {
                        failures++;
                        var which = message.Fields.Count > 1 ? $" field {field.IndexInMessage + 1} of {message.Fields.Count}" : "";
                        r.InvocationConfiguration.Error.WriteLine($"msg{number:000}: message{which} at offset {message.Offset}: {e.Message}");
                    }
                }
            var fieldsNote = number == messages.Count ? "" : $" ({number} fields in {messages.Count} messages)";
            r.InvocationConfiguration.Output.WriteLine($"{number - failures} of {number} fields written to {dir.FullName}{fieldsNote}");
            return failures == 0 ? 0 : 1;
        }));
        return cmd;
    }

    private static Command LatLon()
    {
        var file = FileArgument();
        var message = new Option<int>("--message") { Description = "1-based message number.", Required = true };
        var outFile = new Option<FileInfo>("--out") { Description = "Output: latitudes then longitudes, float64 little-endian.", Required = true };
        var cmd = new Command("latlon", "Write the latitude and longitude of every point of one message (ecCodes' order).") { file, message, outFile };
        cmd.SetAction(r => Run(r, () =>
        {
            var messages = Read(r, r.GetValue(file)!);
            var n = r.GetValue(message);
            if (n < 1 || n > messages.Count)
            {
                r.InvocationConfiguration.Error.WriteLine($"--message {n}: the file has {messages.Count} messages (1-{messages.Count})");
                return 2;
            }
            var msg = messages[n - 1];
            var grid = GridDefinition.Parse(msg.Fields[0].Section3.Span, msg.Offset);
            if (!grid.HasCoordinates)
            {
                r.InvocationConfiguration.Error.WriteLine(
                    $"message {n}: grid template 3.{grid.TemplateNumber} ({grid.GridType}) has no coordinates in the message");
                return 1;
            }
            var count = checked((int)grid.PointCount);
            var buffer = new double[2 * (long)count];
            grid.GetLatLons(buffer.AsSpan(0, count), buffer.AsSpan(count, count));
            var path = r.GetValue(outFile)!.FullName;
            WriteDoubles(path, buffer);
            r.InvocationConfiguration.Output.WriteLine($"{count} points ({grid.GridType}) written to {path}");
            return 0;
        }));
        return cmd;
    }

    private static Command Idx()
    {
        var file = FileArgument();
        var cmd = new Command("idx", "Write FILE.idx, the wgrib2-style index NOAA publishes (N:offset:d=YYYYMMDDHH:VAR:LEVEL:FCST:).") { file };
        cmd.SetAction(r => Run(r, () =>
        {
            var f = r.GetValue(file)!;
            var messages = Read(r, f);
            var text = Pipeline.Grib2.Indexing.Idx.Write(Pipeline.Grib2.Indexing.Inventory.Build(messages));
            var path = f.FullName + ".idx";
            File.WriteAllText(path, text);
            r.InvocationConfiguration.Output.WriteLine($"{messages.Count} messages indexed in {path}");
            return 0;
        }));
        return cmd;
    }

    private static Command Bench()
    {
        var files = new Argument<FileInfo[]>("FILE") { Description = "GRIB2 files (read into memory first).", Arity = ArgumentArity.OneOrMore };
        var repeat = new Option<int>("--repeat") { Description = "Decode every field this many times.", DefaultValueFactory = _ => 3 };
        var cmd = new Command("bench",
            "Decode only (files already in memory), one thread: M values/s per packing template, last line 'total <M values/s>'.") { files, repeat };
        cmd.SetAction(r => Run(r, () =>
        {
            var output = r.InvocationConfiguration.Output;
            var times = r.GetValue(repeat);
            if (times < 1)
            {
                r.InvocationConfiguration.Error.WriteLine($"--repeat {times}: must be at least 1");
                return 2;
            }
            var fields = new List<GribField>();
            foreach (var f in r.GetValue(files)!)
                fields.AddRange(Read(r, f).SelectMany(m => m.Fields));
            var perTemplate = new SortedDictionary<int, (long Values, long Ticks, int Fields)>();
            double[] buffer = [];
            foreach (var field in fields)
            {
                if (buffer.Length < field.NumberOfDataPoints) buffer = new double[field.NumberOfDataPoints];
                var span = buffer.AsSpan(0, field.NumberOfDataPoints);
                try
                {
                    field.DecodeValues(span); // warm-up; also skips fields that cannot be decoded
                }
                catch (Exception e) when (e is GribFormatException or NotSupportedException or DllNotFoundException)
                {
                    r.InvocationConfiguration.Error.WriteLine($"skipped message at offset {field.Message.Offset}: {e.Message}");
                    continue;
                }
                var sw = Stopwatch.StartNew();
                for (var i = 0; i < times; i++) field.DecodeValues(span);
                sw.Stop();
                perTemplate.TryGetValue(field.DataRepresentationTemplateNumber, out var acc);
                perTemplate[field.DataRepresentationTemplateNumber] =
                    (acc.Values + (long)field.NumberOfDataPoints * times, acc.Ticks + sw.ElapsedTicks, acc.Fields + 1);
            }
            long totalValues = 0, totalTicks = 0;
            foreach (var (template, (values, ticks, count)) in perTemplate)
            {
                totalValues += values;
                totalTicks += ticks;
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"5.{template} {Rate(values, ticks):F2} M values/s ({PackingName(template)}, {count} fields, {values} values)"));
            }
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"total {Rate(totalValues, totalTicks):F2}"));
            return 0;
        }));
        return cmd;
    }

    private static double Rate(long values, long ticks) =>
        ticks == 0 ? 0 : values / 1e6 / ((double)ticks / Stopwatch.Frequency);

    private static string PackingName(int template) => template switch
    {
        0 => "simple", 2 => "complex", 3 => "complex+spatial differencing", 4 => "IEEE", 40 => "JPEG2000", 41 => "PNG",
        42 => "CCSDS", 61 => "simple log", 200 => "run length", _ => "other",
    };

    private static IReadOnlyList<GribMessage> Read(ParseResult r, FileInfo file)
    {
        if (!file.Exists) throw new FileNotFoundException($"{file.FullName} does not exist", file.FullName);
        return GribFile.Read(file.FullName, w => r.InvocationConfiguration.Error.WriteLine($"warning: {w}"));
    }

    private static void WriteDoubles(string path, ReadOnlySpan<double> values)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(values));
            return;
        }
        var buf = new byte[8];
        foreach (var v in values)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(buf, v);
            stream.Write(buf);
        }
    }

    // Known failures (bad file, bad GRIB) are one clear line on stderr and exit code 1, never a stack trace.
    private static int Run(ParseResult r, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is GribFormatException or FileNotFoundException or IOException or NotSupportedException or FormatException)
        {
            r.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
