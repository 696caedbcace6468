using System.Runtime.CompilerServices;

namespace Pipeline.Grib2.Data;

/// <summary>
/// value = (R + X * 2^E) * 10^-D, computed with the same double operations as ecCodes
/// (<c>grib_power</c>: repeated multiplication or division) so that results agree bit for bit.
/// </summary>
internal readonly struct Scaling
{
    public readonly double Reference;
    public readonly double Binary;
    public readonly double Decimal;

    public Scaling(double reference, int binaryScale, int decimalScale)
    {
        Reference = reference;
        Binary = Power(binaryScale, 2);
        Decimal = Power(-decimalScale, 10);
    }

    /// <summary>ecCodes' grib_power(s, n): n^s by repeated multiplication or division.</summary>
    public static double Power(long s, long n)
    {
        var divisor = 1.0;
        if (s == 0) return 1.0;
        if (s == 1) return n;
        while (s < 0)
        {
            divisor /= n;
            s++;
        }
        while (s > 0)
        {
            divisor *= n;
            s--;
        }
        return divisor;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double Apply(double x) => (x * Binary + Reference) * Decimal;

    /// <summary>Scales unsigned integers into doubles.</summary>
    public void Apply(ReadOnlySpan<uint> x, Span<double> dest)
    {
        double b = Binary, r = Reference, d = Decimal;
        for (var i = 0; i < x.Length; i++) dest[i] = (x[i] * b + r) * d;
    }
}

/// <summary>Template 5.0-style header (octets 12-21) shared by 5.0, 5.2, 5.3, 5.40, 5.41, 5.42, 5.61.</summary>
internal readonly record struct SimpleHeader(float Reference, int BinaryScale, int DecimalScale, int BitsPerValue, int TypeOfOriginalValues)
{
    public static SimpleHeader Read(ReadOnlySpan<byte> s5, long offset)
    {
        if (s5.Length < 21)
            throw new GribFormatException($"section 5 is {s5.Length} bytes, template 5.{Be.U16(s5, 9)} needs at least 21", offset, 5);
        return new SimpleHeader(Be.F32(s5, 11), Be.S16(s5, 15), Be.S16(s5, 17), s5[19], s5[20]);
    }

    public Scaling Scaling => new(Reference, BinaryScale, DecimalScale);
}
