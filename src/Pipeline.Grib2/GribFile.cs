using Pipeline.Grib2.Scanning;

namespace Pipeline.Grib2;

/// <summary>Finds GRIB2 messages in a buffer, a file or a stream.</summary>
public static class GribFile
{
    /// <summary>
    /// Every GRIB2 message in <paramref name="data"/>. Bytes between messages are ignored; a GRIB edition 1
    /// message is skipped with a warning naming its offset. A damaged GRIB2 message throws
    /// <see cref="GribFormatException"/> naming its offset (plus <paramref name="baseOffset"/>) and section.
    /// </summary>
    public static IReadOnlyList<GribMessage> Scan(ReadOnlyMemory<byte> data, long baseOffset = 0, Action<string>? warn = null) =>
        MessageScanner.Scan(data, baseOffset, warn);

    /// <summary>Reads the whole file into memory and scans it.</summary>
    public static IReadOnlyList<GribMessage> Read(string path, Action<string>? warn = null) =>
        Scan(File.ReadAllBytes(path), 0, warn);

    /// <summary>
    /// Reads messages one by one from a stream (which need not be seekable), holding one message in memory at a time.
    /// Offsets count from the stream's current position plus <paramref name="baseOffset"/>.
    /// </summary>
    public static IEnumerable<GribMessage> ReadStream(Stream stream, long baseOffset = 0, Action<string>? warn = null) =>
        StreamScanner.Read(stream, baseOffset, warn);

    /// <summary>
    /// Parses exactly one GRIB2 message that starts at the beginning of <paramref name="message"/> (for example a
    /// byte range fetched from an <c>.idx</c> entry).
    /// </summary>
    public static GribMessage ParseMessage(ReadOnlyMemory<byte> message, long offset = 0) =>
        MessageScanner.ParseOne(message, offset);

    /// <summary>
    /// Decodes every field of <paramref name="messages"/> (each field of a multi-field message in turn, as ecCodes lists
    /// them) on up to <paramref name="threads"/> threads (default: one per core): one array per field, in order. Fields
    /// are independent, so this scales with cores; each decode is the same as <see cref="GribField.DecodeValues()"/>.
    /// The first field that cannot be decoded throws its <see cref="GribFormatException"/>.
    /// </summary>
    public static double[][] DecodeAll(IEnumerable<GribMessage> messages, int threads = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        var fields = messages.SelectMany(m => m.Fields).ToArray();
        var result = new double[fields.Length][];
        var options = new ParallelOptions { MaxDegreeOfParallelism = threads == 0 ? Environment.ProcessorCount : threads };
        try
        {
            Parallel.For(0, fields.Length, options, i => result[i] = fields[i].DecodeValues());
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // The failure of the lowest-numbered field that failed, as a sequential decode would have reported it.
            var first = e.InnerExceptions.OfType<GribFormatException>().OrderBy(x => x.Offset).FirstOrDefault();
            if (first is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(first).Throw();
            throw;
        }
        return result;
    }
}
