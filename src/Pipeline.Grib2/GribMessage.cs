namespace Pipeline.Grib2;

/// <summary>One GRIB2 message (section 0 to section 8) and the fields it holds.</summary>
public sealed class GribMessage
{
    internal GribMessage(long offset, ReadOnlyMemory<byte> bytes, int discipline, Identification identification,
        ReadOnlyMemory<byte> section1)
    {
        Offset = offset;
        Bytes = bytes;
        Discipline = discipline;
        Identification = identification;
        Section1 = section1;
    }

    /// <summary>Byte offset of 'GRIB' in the scanned file or buffer (plus the base offset given to the scanner).</summary>
    public long Offset { get; }

    /// <summary>Total length of the message from section 0, 'GRIB' to '7777' inclusive.</summary>
    public long Length => Bytes.Length;

    /// <summary>Discipline (code table 0.0) from section 0.</summary>
    public int Discipline { get; }

    /// <summary>Always 2: edition 1 messages are skipped by the scanner.</summary>
    public int Edition => 2;

    public Identification Identification { get; }

    /// <summary>Section 1, including its 5-byte header.</summary>
    public ReadOnlyMemory<byte> Section1 { get; }

    /// <summary>The fields in the order ecCodes lists them (one per repetition of sections 4 to 7).</summary>
    public IReadOnlyList<GribField> Fields { get; internal set; } = [];

    /// <summary>The whole message.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }
}
