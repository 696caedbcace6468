namespace Pipeline.Grib2;

/// <summary>
/// A GRIB message that cannot be read: the message says where (byte offset in the file or buffer that was
/// scanned) and, when known, in which section (0-8).
/// </summary>
public sealed class GribFormatException : Exception
{
    public GribFormatException(string message, long offset, int? section = null, Exception? inner = null)
        : base(Compose(message, offset, section), inner)
    {
        Offset = offset;
        Section = section;
    }

    /// <summary>Absolute byte offset of the message (or of the damaged bytes) that failed.</summary>
    public long Offset { get; }

    /// <summary>The section (0-8) that failed, null when it is the message as a whole.</summary>
    public int? Section { get; }

    private static string Compose(string message, long offset, int? section) =>
        section is { } s
            ? $"GRIB message at offset {offset}, section {s}: {message}"
            : $"GRIB message at offset {offset}: {message}";
}
