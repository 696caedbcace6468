using System.Buffers.Binary;

namespace Pipeline.Grib2.Grids;

/// <summary>
/// Reads GRIB2 template octets by their 1-based octet number as the WMO tables print them.
/// Signed values use GRIB's sign-and-magnitude convention; an all-ones field is "missing".
/// </summary>
internal readonly ref struct Octets
{
    private readonly ReadOnlySpan<byte> _s;
    private readonly string _what;
    private readonly long _offset;
    private readonly int _section;

    public Octets(ReadOnlySpan<byte> section, string what, long offset, int sectionNumber)
    {
        _s = section;
        _what = what;
        _offset = offset;
        _section = sectionNumber;
    }

    public int Length => _s.Length;

    public ReadOnlySpan<byte> Span => _s;

    private ReadOnlySpan<byte> Slice(int octet, int count)
    {
        if (octet < 1 || octet - 1 + count > _s.Length)
            throw Error($"octets {octet}-{octet + count - 1} lie past the end of the section ({_s.Length} octets)");
        return _s.Slice(octet - 1, count);
    }

    public GribFormatException Error(string message) => new($"{_what}: {message}", _offset, _section);

    public int U1(int octet) => Slice(octet, 1)[0];

    public int U2(int octet) => BinaryPrimitives.ReadUInt16BigEndian(Slice(octet, 2));

    public long U4(int octet) => BinaryPrimitives.ReadUInt32BigEndian(Slice(octet, 4));

    public bool Missing4(int octet) => U4(octet) == 0xFFFFFFFF;

    public bool Missing1(int octet) => U1(octet) == 0xFF;

    public bool Missing2(int octet) => U2(octet) == 0xFFFF;

    /// <summary>Sign-and-magnitude 4-octet integer.</summary>
    public long S4(int octet)
    {
        var u = U4(octet);
        var mag = u & 0x7FFFFFFF;
        return (u & 0x80000000) != 0 ? -mag : mag;
    }

    public int S2(int octet)
    {
        var u = U2(octet);
        var mag = u & 0x7FFF;
        return (u & 0x8000) != 0 ? -mag : mag;
    }

    public int S1(int octet)
    {
        var u = U1(octet);
        var mag = u & 0x7F;
        return (u & 0x80) != 0 ? -mag : mag;
    }

    public float F4(int octet) => BinaryPrimitives.ReadSingleBigEndian(Slice(octet, 4));

    public bool Has(int octet, int count) => octet >= 1 && octet - 1 + count <= _s.Length;
}
