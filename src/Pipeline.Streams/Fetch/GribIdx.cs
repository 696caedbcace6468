using System.Text.RegularExpressions;

namespace Pipeline.Streams.Fetch;

/// <summary>One line of a wgrib2 / NOMADS <c>.idx</c> inventory: <c>N:offset:d=YYYYMMDDHH:VAR:LEVEL:FCST:</c>.</summary>
/// <param name="Number">Message number (may be <c>3.1</c> for sub-messages; kept as text).</param>
/// <param name="Offset">Byte offset of the message in the GRIB2 file.</param>
/// <param name="Line">The whole line, what a <c>-match</c> pattern is applied to.</param>
public sealed record GribIdxEntry(string Number, long Offset, string Date, string Variable, string Level, string Forecast, string Line);

/// <summary>A byte range <c>[Start, End]</c> inclusive; <c>End</c> null means to the end of the file.</summary>
public readonly record struct ByteRange(long Start, long? End)
{
    public long? Length => End is { } e ? e - Start + 1 : null;

    public override string ToString() => End is { } e ? $"{Start}-{e}" : $"{Start}-";
}

/// <summary>
/// A small <c>.idx</c> reader for ranged fetches of wanted GRIB2 messages.
/// NOTE: the GRIB team writes the full inventory parser in <c>src/Pipeline.Grib2/Indexing</c>; this one should be
/// folded into it once that exists (Fetch only needs offsets and the line text).
/// </summary>
public static class GribIdx
{
    /// <summary>Parses the inventory; throws <see cref="FormatException"/> naming the line number and what is wrong.</summary>
    public static IReadOnlyList<GribIdxEntry> Parse(string text, string source = ".idx")
    {
        var entries = new List<GribIdxEntry>();
        var lineNo = 0;
        Span<Range> parts = stackalloc Range[8];
        foreach (var raw in text.AsSpan().EnumerateLines())
        {
            lineNo++;
            var line = raw.TrimEnd();
            if (line.IsEmpty) continue;
            var n = line.Split(parts, ':');
            if (n < 6)
                throw new FormatException($"{source} line {lineNo}: expected 'N:offset:d=YYYYMMDDHH:VAR:LEVEL:FCST:', found '{line}'");
            var offsetText = line[parts[1]];
            if (!long.TryParse(offsetText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var offset))
                throw new FormatException($"{source} line {lineNo}: offset '{offsetText}' is not a non-negative integer");
            var date = line[parts[2]];
            if (!date.StartsWith("d="))
                throw new FormatException($"{source} line {lineNo}: third field '{date}' does not start with 'd='");
            if (entries.Count > 0 && offset < entries[^1].Offset)
                throw new FormatException($"{source} line {lineNo}: offset {offset} goes backwards (previous {entries[^1].Offset})");
            entries.Add(new GribIdxEntry(line[parts[0]].ToString(), offset, date[2..].ToString(), line[parts[3]].ToString(),
                line[parts[4]].ToString(), line[parts[5]].ToString(), line.ToString()));
        }
        if (entries.Count == 0) throw new FormatException($"{source}: no inventory lines");
        return entries;
    }

    /// <summary>
    /// The byte ranges of the messages whose line matches <paramref name="match"/> (a .NET regex used like wgrib2's
    /// <c>-match</c>), adjacent ones merged. Sub-messages sharing an offset count once. The last message runs to the
    /// end of the file (open range) unless <paramref name="fileLength"/> is known.
    /// </summary>
    public static IReadOnlyList<ByteRange> Select(IReadOnlyList<GribIdxEntry> entries, string match, long? fileLength = null)
    {
        var regex = new Regex(match, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        var ranges = new List<ByteRange>();
        for (var i = 0; i < entries.Count; i++)
        {
            if (!regex.IsMatch(entries[i].Line)) continue;
            var start = entries[i].Offset;
            var next = i + 1;
            while (next < entries.Count && entries[next].Offset == start) next++;
            long? end = next < entries.Count ? entries[next].Offset - 1 : fileLength is { } len ? len - 1 : null;
            if (ranges.Count > 0 && ranges[^1].End is { } prevEnd && prevEnd + 1 == start)
                ranges[^1] = new ByteRange(ranges[^1].Start, end);
            else if (ranges.Count == 0 || ranges[^1].Start != start)
                ranges.Add(new ByteRange(start, end));
            i = next - 1;
        }
        return ranges;
    }
}
