using System.Buffers;
using System.Buffers.Binary;

namespace Pipeline.Grib2.Writing;

/// <summary>
/// Writes GRIB edition 2 messages: sections 0 to 8 with one field each, grid template 3.0, product template 4.0
/// or 4.8, data representation template 5.0 (simple packing), and a bitmap (section 6 indicator 0) when any value
/// is missing (NaN); otherwise section 6 says "no bitmap" (255). Section 2 is not written.
/// </summary>
public static class GribEncoder
{
    private const uint Missing4 = 0xFFFFFFFF;

    /// <summary>
    /// Encodes one message. <paramref name="values"/> holds <see cref="RegularLatLonGrid.PointCount"/> values in the
    /// grid's scanning order; NaN marks a missing value. Infinities are refused.
    /// </summary>
    public static byte[] Encode(GribFieldSpec spec, ReadOnlySpan<double> values)
    {
        var length = EncodeRented(spec, values, out var rented);
        try
        {
            return rented.AsSpan(0, length).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Encodes one message into <paramref name="destination"/> without allocating the message (large messages
    /// would otherwise land on the large object heap, one per field).
    /// </summary>
    /// <returns>The message length in bytes.</returns>
    public static int Encode(GribFieldSpec spec, ReadOnlySpan<double> values, Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var length = EncodeRented(spec, values, out var rented);
        try
        {
            destination.Write(rented, 0, length);
            return length;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Encodes into an array rented from the shared pool (the caller returns it); returns the message length.</summary>
    private static int EncodeRented(GribFieldSpec spec, ReadOnlySpan<double> values, out byte[] rented)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Validate(spec, values.Length);
        var packing = Pack(spec.Packing, values);
        var s1 = Section1(spec.Identity);
        var s3 = Section3(spec.Grid);
        var s4 = Section4(spec.Product, spec.Identity.ReferenceTime);
        var n = values.Length;
        var bitmapBytes = packing.Missing > 0 ? (n + 7) / 8 : 0;
        var s5Length = 21;
        var s6Length = 6 + bitmapBytes;
        var dataBytes = (int)(((long)packing.Present * packing.Bits + 7) / 8);
        var s7Length = 5 + dataBytes;
        long total = 16 + s1.Length + s3.Length + s4.Length + s5Length + s6Length + s7Length + 4;
        if (total > int.MaxValue) throw new ArgumentException($"the message would be {total} bytes, too large for one buffer", nameof(values));

        rented = ArrayPool<byte>.Shared.Rent((int)total);
        var span = rented.AsSpan(0, (int)total);
        // Section 0: indicator.
        "GRIB"u8.CopyTo(span);
        span[4] = 0;
        span[5] = 0;
        span[6] = (byte)spec.Product.Discipline;
        span[7] = 2;
        BinaryPrimitives.WriteUInt64BigEndian(span[8..], (ulong)total);
        var at = 16;
        s1.CopyTo(span[at..]);
        at += s1.Length;
        s3.CopyTo(span[at..]);
        at += s3.Length;
        s4.CopyTo(span[at..]);
        at += s4.Length;

        // Section 5: template 5.0.
        var s5 = span.Slice(at, s5Length);
        U4(s5, 0, (uint)s5Length);
        s5[4] = 5;
        U4(s5, 5, (uint)packing.Present);
        U2(s5, 9, 0);
        BinaryPrimitives.WriteSingleBigEndian(s5[11..], packing.Reference);
        S2(s5, 15, packing.BinaryScale);
        S2(s5, 17, packing.DecimalScale);
        s5[19] = (byte)packing.Bits;
        s5[20] = 0; // type of original values: floating point
        at += s5Length;

        // Section 6: bitmap.
        var s6 = span.Slice(at, s6Length);
        U4(s6, 0, (uint)s6Length);
        s6[4] = 6;
        s6[5] = bitmapBytes > 0 ? (byte)0 : (byte)255;
        if (bitmapBytes > 0)
        {
            var bitmap = s6[6..];
            bitmap.Clear();
            for (var i = 0; i < n; i++)
                if (!double.IsNaN(values[i])) bitmap[i >> 3] |= (byte)(0x80 >> (i & 7));
        }
        at += s6Length;

        // Section 7: packed values.
        var s7 = span.Slice(at, s7Length);
        U4(s7, 0, (uint)s7Length);
        s7[4] = 7;
        if (packing.Bits > 0) WritePacked(values, packing, s7[5..]);
        at += s7Length;

        "7777"u8.CopyTo(span[at..]);
        return (int)total;
    }

    /// <summary>Encodes single-precision values (converted to double; see <see cref="Encode(GribFieldSpec, ReadOnlySpan{double})"/>).</summary>
    public static byte[] Encode(GribFieldSpec spec, ReadOnlySpan<float> values)
    {
        var buffer = ArrayPool<double>.Shared.Rent(values.Length);
        try
        {
            var d = buffer.AsSpan(0, values.Length);
            for (var i = 0; i < values.Length; i++) d[i] = values[i];
            return Encode(spec, d);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(buffer);
        }
    }

    /// <summary>Encodes single-precision values into <paramref name="destination"/>; returns the message length.</summary>
    public static int Encode(GribFieldSpec spec, ReadOnlySpan<float> values, Stream destination)
    {
        var buffer = ArrayPool<double>.Shared.Rent(values.Length);
        try
        {
            var d = buffer.AsSpan(0, values.Length);
            for (var i = 0; i < values.Length; i++) d[i] = values[i];
            return Encode(spec, d, destination);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(buffer);
        }
    }

    private static void Validate(GribFieldSpec spec, int count)
    {
        var g = spec.Grid ?? throw new ArgumentException("the grid is missing", nameof(spec));
        if (g.Ni <= 0 || g.Nj <= 0) throw new ArgumentException($"grid Ni={g.Ni}, Nj={g.Nj}: both must be positive", nameof(spec));
        if ((long)g.Ni * g.Nj != count)
            throw new ArgumentException($"{count} values given; the {g.Ni} x {g.Nj} grid has {(long)g.Ni * g.Nj} points", nameof(spec));
        if (!(g.IIncrement > 0) || !(g.JIncrement > 0))
            throw new ArgumentException($"grid increments {g.IIncrement}, {g.JIncrement} must be positive", nameof(spec));
        if (g.ScanningMode is < 0 or > 255) throw new ArgumentException($"scanning mode {g.ScanningMode} is not an octet", nameof(spec));
        CheckLatitude(g.FirstLatitude, "first latitude");
        CheckLatitude(g.LastLatitude, "last latitude");
        var p = spec.Product ?? throw new ArgumentException("the product is missing", nameof(spec));
        CheckOctet(p.Discipline, "discipline");
        CheckOctet(p.Category, "parameter category");
        CheckOctet(p.Number, "parameter number");
        CheckOctet(p.Level.Type, "type of first fixed surface");
        CheckOctet(p.TypeOfGeneratingProcess, "type of generating process");
        CheckOctet(p.GeneratingProcessIdentifier, "generating process identifier");
        if (p.Interval is { } iv)
        {
            if (iv.StartHours < 0 || iv.EndHours < iv.StartHours)
                throw new ArgumentException($"interval {iv.StartHours}-{iv.EndHours} h must start at 0 or later and not end before it starts", nameof(spec));
            CheckOctet(iv.StatisticalProcess, "type of statistical processing");
        }
        else if (p.ForecastHours < 0)
        {
            throw new ArgumentException($"forecast time {p.ForecastHours} h is negative", nameof(spec));
        }
        var id = spec.Identity ?? throw new ArgumentException("the identity is missing", nameof(spec));
        if (id.Centre is < 0 or > 65535) throw new ArgumentException($"centre {id.Centre} does not fit 2 octets", nameof(spec));
        if (id.SubCentre is < 0 or > 65535) throw new ArgumentException($"sub-centre {id.SubCentre} does not fit 2 octets", nameof(spec));
        CheckOctet(id.MasterTablesVersion, "master tables version");
        CheckOctet(id.LocalTablesVersion, "local tables version");
        CheckOctet(id.ProductionStatus, "production status");
        CheckOctet(id.TypeOfData, "type of data");
        CheckOctet(id.SignificanceOfReferenceTime, "significance of reference time");
        if (spec.Packing is null) throw new ArgumentException("the packing is missing", nameof(spec));

        static void CheckOctet(int v, string what)
        {
            if (v is < 0 or > 255) throw new ArgumentException($"{what} {v} does not fit one octet (0-255)", nameof(spec));
        }

        static void CheckLatitude(double v, string what)
        {
            if (!(v is >= -90 and <= 90)) throw new ArgumentException($"{what} {v} is not between -90 and 90", nameof(spec));
        }
    }

    /// <summary>The outcome of choosing the packing parameters for a field.</summary>
    private readonly record struct Packing(float Reference, int BinaryScale, int DecimalScale, int Bits, int Present, int Missing)
    {
        public double DecimalFactor => Math.Pow(10, DecimalScale);
    }

    private static Packing Pack(SimplePackingSpec spec, ReadOnlySpan<double> values)
    {
        if (spec.DecimalScale is < -32767 or > 32767) throw new ArgumentException($"decimal scale {spec.DecimalScale} does not fit 2 octets", nameof(spec));
        if (spec.BitsPerValue is { } b && b is < 0 or > 32) throw new ArgumentException($"{b} bits per value: simple packing takes 0 to 32", nameof(spec));
        if (spec.BitsPerValue is null && spec.BinaryScale is null)
            throw new ArgumentException("give bits per value, binary scale, or both", nameof(spec));
        if (spec.BinaryScale is { } e0 && e0 is < -32767 or > 32767) throw new ArgumentException($"binary scale {e0} does not fit 2 octets", nameof(spec));

        var factor = Math.Pow(10, spec.DecimalScale);
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        var present = 0;
        for (var i = 0; i < values.Length; i++)
        {
            var v = values[i];
            if (double.IsNaN(v)) continue;
            if (double.IsInfinity(v)) throw new ArgumentException($"value {i} is {v}: GRIB2 simple packing cannot hold infinities", nameof(values));
            var y = v * factor;
            if (y < min) min = y;
            if (y > max) max = y;
            present++;
        }
        var missing = values.Length - present;
        if (present == 0) return new Packing(0f, 0, 0, 0, 0, missing);
        if (min == max || spec.BitsPerValue == 0)
        {
            // A constant field: ecCodes returns the reference value as is (no decimal scaling) when bits are 0.
            var constant = min / factor;
            if (Math.Abs(constant) > float.MaxValue) throw new ArgumentException($"value {constant} does not fit the 32-bit reference value", nameof(values));
            if (min != max) throw new ArgumentException($"0 bits per value, but the values range from {min / factor} to {max / factor}", nameof(spec));
            return new Packing((float)constant, 0, 0, 0, present, missing);
        }
        if (Math.Abs(min) > float.MaxValue) throw new ArgumentException($"minimum {min} (x 10^{spec.DecimalScale}) does not fit the 32-bit reference value", nameof(values));
        var reference = (float)min;
        if (reference > min) reference = MathF.BitDecrement(reference);
        var range = max - reference;

        int bits, e;
        if (spec.BinaryScale is { } givenE)
        {
            e = givenE;
            var steps = Math.Round(range * Math.ScaleB(1.0, -e), MidpointRounding.AwayFromZero);
            var needed = steps < 1 ? 1 : (int)Math.Floor(Math.Log2(steps)) + 1;
            if (steps >= 1 && Math.ScaleB(1.0, needed) <= steps) needed++;
            if (spec.BitsPerValue is { } givenBits)
            {
                if (needed > givenBits)
                    throw new ArgumentException(
                        $"the range {range / factor} at decimal scale {spec.DecimalScale} and binary scale {e} needs {needed} bits; {givenBits} given", nameof(spec));
                bits = givenBits;
            }
            else
            {
                if (needed > 32)
                    throw new ArgumentException(
                        $"the range {range / factor} at decimal scale {spec.DecimalScale} and binary scale {e} needs {needed} bits, more than 32", nameof(spec));
                bits = needed;
            }
        }
        else
        {
            bits = spec.BitsPerValue!.Value;
            var maxInt = Math.ScaleB(1.0, bits) - 1;
            e = (int)Math.Ceiling(Math.Log2(range / maxInt));
            while (range * Math.ScaleB(1.0, -e) > maxInt) e++;
            while (range * Math.ScaleB(1.0, -(e - 1)) <= maxInt) e--;
            if (e is < -32767 or > 32767) throw new ArgumentException($"binary scale {e} does not fit 2 octets", nameof(values));
        }
        return new Packing(reference, e, spec.DecimalScale, bits, present, missing);
    }

    private static void WritePacked(ReadOnlySpan<double> values, Packing p, Span<byte> dest)
    {
        var factor = p.DecimalFactor;
        var inverse = Math.ScaleB(1.0, -p.BinaryScale);
        double reference = p.Reference;
        var bits = p.Bits;
        var maxInt = (ulong)((1L << bits) - 1);
        ulong acc = 0;
        var held = 0;
        var o = 0;
        double top = maxInt;
        for (var i = 0; i < values.Length; i++)
        {
            var v = values[i];
            if (double.IsNaN(v)) continue;
            // Round half away from zero (the scaled offset is never negative, so + 0.5 and truncation do it).
            var x = (v * factor - reference) * inverse + 0.5;
            var q = x < 1 ? 0UL : x >= top ? maxInt : (ulong)x;
            acc = (acc << bits) | q;
            held += bits;
            while (held >= 8)
            {
                held -= 8;
                dest[o++] = (byte)(acc >> held);
            }
            acc &= (1UL << held) - 1;
        }
        if (held > 0) dest[o] = (byte)(acc << (8 - held));
    }

    private static byte[] Section1(GribIdentity id)
    {
        var s = new byte[21];
        U4(s, 0, 21);
        s[4] = 1;
        U2(s, 5, id.Centre);
        U2(s, 7, id.SubCentre);
        s[9] = (byte)id.MasterTablesVersion;
        s[10] = (byte)id.LocalTablesVersion;
        s[11] = (byte)id.SignificanceOfReferenceTime;
        Time(s, 12, id.ReferenceTime);
        s[19] = (byte)id.ProductionStatus;
        s[20] = (byte)id.TypeOfData;
        return s;
    }

    private static byte[] Section3(RegularLatLonGrid g)
    {
        var s = new byte[72];
        U4(s, 0, 72);
        s[4] = 3;
        s[5] = 0; // source of grid definition: code table 3.1
        U4(s, 6, (uint)(g.Ni * g.Nj));
        s[10] = 0; // no list of numbers of points
        s[11] = 0;
        U2(s, 12, 0); // template 3.0
        s[14] = 6; // earth: spherical, radius 6 371 229 m
        s[15] = 255; // radius scale factor and value, major and minor axes: missing
        U4(s, 16, Missing4);
        s[20] = 255;
        U4(s, 21, Missing4);
        s[25] = 255;
        U4(s, 26, Missing4);
        U4(s, 30, (uint)g.Ni);
        U4(s, 34, (uint)g.Nj);
        U4(s, 38, 0); // basic angle 0 and subdivisions missing: units of 10^-6 degree
        U4(s, 42, Missing4);
        S4(s, 46, MicroDegrees(g.FirstLatitude));
        S4(s, 50, MicroDegrees(g.FirstLongitude));
        s[54] = 0x30; // i and j increments given; u, v relative to easterly and northerly directions
        S4(s, 55, MicroDegrees(g.LastLatitude));
        S4(s, 59, MicroDegrees(g.LastLongitude));
        U4(s, 63, (uint)MicroDegrees(g.IIncrement));
        U4(s, 67, (uint)MicroDegrees(g.JIncrement));
        s[71] = (byte)g.ScanningMode;
        return s;
    }

    private static byte[] Section4(GribProduct p, DateTime reference)
    {
        var statistical = p.Interval is not null;
        var length = statistical ? 58 : 34;
        var s = new byte[length];
        U4(s, 0, (uint)length);
        s[4] = 4;
        U2(s, 5, 0); // no coordinate values after the template
        U2(s, 7, statistical ? 8 : 0);
        s[9] = (byte)p.Category;
        s[10] = (byte)p.Number;
        s[11] = (byte)p.TypeOfGeneratingProcess;
        s[12] = 0; // background generating process
        s[13] = (byte)p.GeneratingProcessIdentifier;
        U2(s, 14, 0); // hours and minutes after cut-off
        s[16] = 0;
        s[17] = 1; // unit of time range: hour
        S4(s, 18, p.Interval?.StartHours ?? p.ForecastHours);
        var (scale, scaled) = ScaledValue(p.Level);
        s[22] = (byte)p.Level.Type;
        s[23] = (byte)(scale < 0 ? 0x80 | -scale : scale);
        U4(s, 24, scaled);
        s[28] = 255; // no second fixed surface
        s[29] = 255;
        U4(s, 30, Missing4);
        if (p.Interval is { } iv)
        {
            Time(s, 34, reference.AddHours(iv.EndHours));
            s[41] = 1; // one time range
            U4(s, 42, 0); // no missing values in the statistical process
            s[46] = (byte)iv.StatisticalProcess;
            s[47] = 2; // successive fields: same start of forecast, forecast time incremented
            s[48] = 1; // unit of the range: hour
            U4(s, 49, (uint)(iv.EndHours - iv.StartHours));
            s[53] = 255; // increment between fields: missing (continuous processing)
            U4(s, 54, 0);
        }
        return s;
    }

    /// <summary>A level value as (scale factor, scaled value) with the smallest scale that keeps it whole (up to 6 decimals).</summary>
    private static (int Scale, uint Scaled) ScaledValue(GribLevel level)
    {
        var v = level.Value;
        if (!double.IsFinite(v) || v < 0) throw new ArgumentException($"level value {v} must be finite and not negative", nameof(level));
        for (var scale = 0; scale <= 6; scale++)
        {
            var x = v * Math.Pow(10, scale);
            var r = Math.Round(x);
            if (Math.Abs(x - r) <= 1e-9 * Math.Max(1, Math.Abs(x)))
            {
                if (r > uint.MaxValue - 1) break;
                return (scale, (uint)r);
            }
        }
        throw new ArgumentException($"level value {v} cannot be written as a 4-octet integer with at most 6 decimals", nameof(level));
    }

    private static int MicroDegrees(double degrees)
    {
        var v = Math.Round(degrees * 1e6);
        if (Math.Abs(v) > int.MaxValue) throw new ArgumentException($"angle {degrees} is out of range", nameof(degrees));
        return (int)v;
    }

    private static void Time(Span<byte> s, int at, DateTime t)
    {
        if (t.Kind == DateTimeKind.Local) t = t.ToUniversalTime();
        U2(s, at, t.Year);
        s[at + 2] = (byte)t.Month;
        s[at + 3] = (byte)t.Day;
        s[at + 4] = (byte)t.Hour;
        s[at + 5] = (byte)t.Minute;
        s[at + 6] = (byte)t.Second;
    }

    private static void U2(Span<byte> s, int at, int v) => BinaryPrimitives.WriteUInt16BigEndian(s[at..], (ushort)v);

    private static void U4(Span<byte> s, int at, uint v) => BinaryPrimitives.WriteUInt32BigEndian(s[at..], v);

    /// <summary>GRIB2 signed integers are sign and magnitude: the top bit is the sign.</summary>
    private static void S2(Span<byte> s, int at, int v) =>
        BinaryPrimitives.WriteUInt16BigEndian(s[at..], (ushort)(v < 0 ? 0x8000 | -v : v));

    private static void S4(Span<byte> s, int at, int v) =>
        BinaryPrimitives.WriteUInt32BigEndian(s[at..], v < 0 ? 0x80000000u | (uint)-v : (uint)v);
}
