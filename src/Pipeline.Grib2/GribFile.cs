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
}
