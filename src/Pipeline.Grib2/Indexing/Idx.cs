using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Pipeline.Grib2.Indexing;

/// <summary>One line of a wgrib2-style .idx sidecar: <c>1:0:d=2021051800:TMP:1 mb:anl:</c>.</summary>
public sealed record IdxLine(int Message, int? Field, long Offset, string Date, string Variable, string Level, string Forecast, string Extra, string Text)
{
    /// <summary>"N" or "N.M" as the line numbers the field.</summary>
    public string Number => Field is { } f ? $"{Message}.{f}" : Message.ToString(CultureInfo.InvariantCulture);
}

/// <summary>A byte range of a file: <see cref="Start"/> inclusive, <see cref="End"/> exclusive (null: to the end of the file).</summary>
public sealed record ByteRange(long Start, long? End)
{
    public long? Length => End - Start;

    /// <summary>The HTTP Range header value (<c>bytes=0-99</c>, <c>bytes=100-</c>).</summary>
    public string ToHttpRange() => End is { } e ? $"bytes={Start}-{e - 1}" : $"bytes={Start}-";

    public override string ToString() => End is { } e ? $"{Start}-{e}" : $"{Start}-EOF";
}

/// <summary>Writes and reads the .idx sidecar NOAA publishes beside GRIB2 files (wgrib2 -s format), and turns a
/// wgrib2 <c>-match</c>-style regular expression into the byte ranges of the matching messages.</summary>
public static class Idx
{
    /// <summary>The .idx text: one line per field, <c>N:offset:d=YYYYMMDDHH:VAR:LEVEL:FCST:</c> plus wgrib2's extras.</summary>
    public static string Write(IEnumerable<InventoryEntry> entries)
    {
        var sb = new StringBuilder();
        foreach (var e in entries) sb.Append(Line(e)).Append('\n');
        return sb.ToString();
    }

    /// <summary>The .idx line of one field (no newline).</summary>
    public static string Line(InventoryEntry e)
    {
        var number = e.Field == 1 ? e.Message.ToString(CultureInfo.InvariantCulture) : $"{e.Message}.{e.Field}";
        return string.Create(CultureInfo.InvariantCulture,
            $"{number}:{e.Offset}:d={e.ReferenceTime:yyyyMMddHH}:{e.Wgrib2Name}:{e.Wgrib2Level}:{e.Wgrib2Forecast}:{e.Wgrib2Extra}");
    }

    /// <summary>Parses .idx text. A malformed line is a <see cref="FormatException"/> naming its line number.</summary>
    public static IReadOnlyList<IdxLine> Parse(string text)
    {
        var lines = new List<IdxLine>();
        var n = 0;
        long previous = -1;
        foreach (var raw in text.Split('\n'))
        {
            n++;
            var line = raw.TrimEnd('\r');
            if (line.Length == 0) continue;
            var parts = line.Split(':', 7);
            if (parts.Length < 6)
                throw new FormatException($".idx line {n}: expected at least 6 ':'-separated fields (N:offset:d=date:VAR:LEVEL:FCST), got {parts.Length}: '{Clip(line)}'");
            var number = parts[0];
            int message;
            int? field = null;
            var dot = number.IndexOf('.');
            if (dot >= 0)
            {
                if (!int.TryParse(number.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out message) ||
                    !int.TryParse(number.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var f))
                    throw new FormatException($".idx line {n}: message number '{Clip(number)}' is not N or N.M");
                field = f;
            }
            else if (!int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out message))
            {
                throw new FormatException($".idx line {n}: message number '{Clip(number)}' is not a number");
            }
            if (!long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
                throw new FormatException($".idx line {n}: offset '{Clip(parts[1])}' is not a non-negative integer");
            if (offset < previous)
                throw new FormatException($".idx line {n}: offset {offset} goes back before the previous line's {previous}");
            previous = offset;
            var date = parts[2].StartsWith("d=", StringComparison.Ordinal) ? parts[2][2..] : parts[2];
            var extra = parts.Length > 6 ? parts[6] : "";
            lines.Add(new IdxLine(message, field, offset, date, parts[3], parts[4], parts[5], extra, line));
        }
        return lines;
    }

    /// <summary>Each line's byte range: from its offset to the next message's offset (the last message: to EOF,
    /// or to <paramref name="fileLength"/> when given). Fields of one message share the message's range.</summary>
    public static IReadOnlyList<(IdxLine Line, ByteRange Range)> Ranges(IReadOnlyList<IdxLine> lines, long? fileLength = null)
    {
        var result = new List<(IdxLine, ByteRange)>(lines.Count);
        for (var i = 0; i < lines.Count; i++)
        {
            long? end = fileLength;
            for (var j = i + 1; j < lines.Count; j++)
            {
                if (lines[j].Offset != lines[i].Offset)
                {
                    end = lines[j].Offset;
                    break;
                }
            }
            if (end is { } e && e < lines[i].Offset)
                throw new FormatException($".idx line for message {lines[i].Number}: file length {e} is before its offset {lines[i].Offset}");
            result.Add((lines[i], new ByteRange(lines[i].Offset, end)));
        }
        return result;
    }

    /// <summary>
    /// The byte ranges of the lines whose text matches <paramref name="match"/> (as <c>wgrib2 -match</c> applies a regex to
    /// the inventory line, e.g. <c>":(TMP|UGRD):500 mb:"</c>). With <paramref name="merge"/>, adjacent or repeated ranges
    /// are merged so one HTTP request fetches a run of messages.
    /// </summary>
    public static IReadOnlyList<ByteRange> Select(IReadOnlyList<IdxLine> lines, Regex match, long? fileLength = null, bool merge = true)
    {
        var picked = Ranges(lines, fileLength).Where(x => match.IsMatch(x.Line.Text)).Select(x => x.Range).Distinct().ToList();
        if (!merge || picked.Count < 2) return picked;
        var merged = new List<ByteRange> { picked[0] };
        foreach (var r in picked.Skip(1))
        {
            var last = merged[^1];
            if (last.End is { } e && r.Start <= e)
                merged[^1] = new ByteRange(last.Start, r.End is null ? null : Math.Max(e, r.End.Value));
            else
                merged.Add(r);
        }
        return merged;
    }

    /// <summary>Convenience: parse and select with a pattern string.</summary>
    public static IReadOnlyList<ByteRange> Select(string idxText, string pattern, long? fileLength = null, bool merge = true) =>
        Select(Parse(idxText), new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(5)), fileLength, merge);

    private static string Clip(string s) => s.Length <= 80 ? s : s[..80] + "...";
}
