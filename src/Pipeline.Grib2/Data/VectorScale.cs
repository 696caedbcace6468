using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Pipeline.Grib2.Data;

/// <summary>
/// Integer samples to scaled doubles, (x * b + r) * d, four or eight at a time with AVX. Multiply, add and multiply
/// stay separate operations (no fused multiply-add) so every value is bit-identical to ecCodes' scalar loop.
/// </summary>
internal static class VectorScale
{
    /// <summary>dest[i] = (src[i] * b + r) * d for 32-bit signed samples (OpenJPEG's component data).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FromInt32(ReadOnlySpan<int> src, Span<double> dest, in Scaling s)
    {
        var n = src.Length;
        if (dest.Length < n) throw new ArgumentException("destination is shorter than the source", nameof(dest));
        double b = s.Binary, r = s.Reference, d = s.Decimal;
        var i = 0;
        if (Avx.IsSupported && n >= 8)
        {
            var vb = Vector256.Create(b);
            var vr = Vector256.Create(r);
            var vd = Vector256.Create(d);
            ref var sp = ref MemoryMarshal.GetReference(src);
            ref var dp = ref MemoryMarshal.GetReference(dest);
            for (; i <= n - 8; i += 8)
            {
                var x0 = Avx.ConvertToVector256Double(Vector128.LoadUnsafe(ref sp, (nuint)i));
                var x1 = Avx.ConvertToVector256Double(Vector128.LoadUnsafe(ref sp, (nuint)(i + 4)));
                ((x0 * vb + vr) * vd).StoreUnsafe(ref dp, (nuint)i);
                ((x1 * vb + vr) * vd).StoreUnsafe(ref dp, (nuint)(i + 4));
            }
        }
        for (; i < n; i++) dest[i] = (src[i] * b + r) * d;
    }

    /// <summary>
    /// dest[i] = (x * b + r) * d for big-endian 16-bit unsigned samples (GRIB's simple packing at 16 bits, PNG's 16-bit
    /// grey): one pass, bytes swapped, widened and scaled in registers. <typeparamref name="T"/> is double, or float:
    /// each value computed in double, then ecCodes' missing value 9999 (tested on the double) becomes NaN and the rest
    /// are rounded to the nearest float, the same floats as decoding to doubles and narrowing them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void FromBigEndianUInt16<T>(ReadOnlySpan<byte> src, Span<T> dest, in Scaling s) where T : unmanaged
    {
        RequireDoubleOrFloat<T>();
        var n = dest.Length;
        if (src.Length < 2 * n) throw new ArgumentException("source is shorter than the destination needs", nameof(src));
        double b = s.Binary, r = s.Reference, d = s.Decimal;
        fixed (byte* sp = src)
        fixed (T* dp = dest)
        {
            var i = 0;
            if (Avx2.IsSupported)
            {
                var vb = Vector256.Create(b);
                var vr = Vector256.Create(r);
                var vd = Vector256.Create(d);
                var swap = Vector128.Create((byte)1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
                for (; i <= n - 8; i += 8)
                {
                    var v = Ssse3.Shuffle(Vector128.Load(sp + 2 * i), swap).AsUInt16();
                    Store8(dp + i, Avx2.ConvertToVector256Int32(v), vb, vr, vd);
                }
            }
            for (; i < n; i++) Put(dp + i, (((sp[2 * i] << 8) | sp[2 * i + 1]) * b + r) * d);
        }
    }

    /// <summary>dest[i] = (src[i] * b + r) * d for 8-bit unsigned samples, to double or float (as <see cref="FromBigEndianUInt16{T}"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void FromUInt8<T>(ReadOnlySpan<byte> src, Span<T> dest, in Scaling s) where T : unmanaged
    {
        RequireDoubleOrFloat<T>();
        var n = dest.Length;
        if (src.Length < n) throw new ArgumentException("source is shorter than the destination needs", nameof(src));
        double b = s.Binary, r = s.Reference, d = s.Decimal;
        fixed (byte* sp = src)
        fixed (T* dp = dest)
        {
            var i = 0;
            if (Avx2.IsSupported)
            {
                var vb = Vector256.Create(b);
                var vr = Vector256.Create(r);
                var vd = Vector256.Create(d);
                for (; i <= n - 8; i += 8) Store8(dp + i, Avx2.ConvertToVector256Int32(Vector128.CreateScalarUnsafe(*(ulong*)(sp + i)).AsByte()), vb, vr, vd);
            }
            for (; i < n; i++) Put(dp + i, (sp[i] * b + r) * d);
        }
    }

    private static void RequireDoubleOrFloat<T>()
    {
        if (typeof(T) != typeof(double) && typeof(T) != typeof(float))
            throw new NotSupportedException($"values decode to double or float, not {typeof(T).Name}");
    }

    /// <summary>One value to a double or float slot (narrowed as <see cref="Narrow"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Put<T>(T* dst, double v) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) *(float*)dst = Narrow(v);
        else *(double*)dst = v;
    }

    /// <summary>Eight int32 lanes to eight scaled doubles, or floats (narrowed as <see cref="Narrow"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store8<T>(T* dst, Vector256<int> w, Vector256<double> vb, Vector256<double> vr, Vector256<double> vd) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) Store8Float((float*)dst, w, vb, vr, vd);
        else Store4((double*)dst, w, vb, vr, vd);
    }

    /// <summary>A decoded double as a float32 value: ecCodes' missing value 9999 becomes NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Narrow(double v) => v == 9999 ? float.NaN : (float)v;

    /// <summary>dest[i] = (src[i] * b + r) * d for 16-bit unsigned samples.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void FromUInt16(ReadOnlySpan<ushort> src, Span<double> dest, in Scaling s)
    {
        var n = src.Length;
        if (dest.Length < n) throw new ArgumentException("destination is shorter than the source", nameof(dest));
        double b = s.Binary, r = s.Reference, d = s.Decimal;
        fixed (ushort* sp = src)
        fixed (double* dp = dest)
        {
            var i = 0;
            if (Avx2.IsSupported)
            {
                var vb = Vector256.Create(b);
                var vr = Vector256.Create(r);
                var vd = Vector256.Create(d);
                for (; i <= n - 8; i += 8) Store4(dp + i, Avx2.ConvertToVector256Int32(Vector128.Load(sp + i)), vb, vr, vd);
            }
            for (; i < n; i++) dp[i] = (sp[i] * b + r) * d;
        }
    }

    /// <summary>
    /// dest[i] = (src[i] * b + r) * d for unsigned samples; <paramref name="below2Pow31"/> says they fit in 31 bits
    /// (then the signed AVX conversion is exact).
    /// </summary>
    public static void FromUInt32(ReadOnlySpan<uint> src, Span<double> dest, bool below2Pow31, in Scaling s)
    {
        if (below2Pow31)
        {
            FromInt32(MemoryMarshal.Cast<uint, int>(src), dest, s);
            return;
        }
        double b = s.Binary, r = s.Reference, d = s.Decimal;
        for (var i = 0; i < src.Length; i++) dest[i] = (src[i] * b + r) * d;
    }

    /// <summary>
    /// The first <c>n * sampleBytes</c> bytes of <paramref name="samples"/> hold n little-endian samples of 1, 2 or 4
    /// bytes; <paramref name="dest"/> (n doubles) may overlap them as long as the samples sit in its last bytes
    /// (the caller decodes into the tail of the destination): each step reads its samples before it writes, and a
    /// write never reaches samples not yet read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void FromSamplesInTail(Span<double> dest, int sampleBytes, bool signed, in Scaling s)
    {
        var n = dest.Length;
        double b = s.Binary, r = s.Reference, d = s.Decimal;
        var bytes = MemoryMarshal.AsBytes(dest);
        var start = bytes.Length - n * sampleBytes;
        fixed (byte* p = bytes)
        {
            var src = p + start;
            var dst = (double*)p;
            var i = 0;
            if (Avx2.IsSupported)
            {
                var vb = Vector256.Create(b);
                var vr = Vector256.Create(r);
                var vd = Vector256.Create(d);
                switch (sampleBytes)
                {
                    case 1:
                        for (; i <= n - 16; i += 16)
                        {
                            var v = Vector128.Load(src + i);
                            Vector256<int> lo, hi;
                            if (signed)
                            {
                                lo = Avx2.ConvertToVector256Int32(v.AsSByte());
                                hi = Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(v, 8).AsSByte());
                            }
                            else
                            {
                                lo = Avx2.ConvertToVector256Int32(v);
                                hi = Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(v, 8));
                            }
                            Store4(dst + i, lo, vb, vr, vd);
                            Store4(dst + i + 8, hi, vb, vr, vd);
                        }
                        break;
                    case 2:
                        for (; i <= n - 8; i += 8)
                        {
                            var v = Vector128.Load((ushort*)src + i);
                            var w = signed ? Avx2.ConvertToVector256Int32(v.AsInt16()) : Avx2.ConvertToVector256Int32(v);
                            Store4(dst + i, w, vb, vr, vd);
                        }
                        break;
                    default:
                        if (signed)
                            for (; i <= n - 8; i += 8)
                                Store4(dst + i, Vector256.Load((int*)src + i), vb, vr, vd);
                        break;
                }
            }
            switch (sampleBytes)
            {
                case 1:
                    if (signed) for (; i < n; i++) dst[i] = (((sbyte*)src)[i] * b + r) * d;
                    else for (; i < n; i++) dst[i] = (src[i] * b + r) * d;
                    break;
                case 2:
                    if (signed) for (; i < n; i++) dst[i] = (((short*)src)[i] * b + r) * d;
                    else for (; i < n; i++) dst[i] = (((ushort*)src)[i] * b + r) * d;
                    break;
                default:
                    if (signed) for (; i < n; i++) dst[i] = (((int*)src)[i] * b + r) * d;
                    else for (; i < n; i++) dst[i] = (((uint*)src)[i] * b + r) * d;
                    break;
            }
        }
    }

    /// <summary>Eight int32 lanes to eight scaled doubles at <paramref name="dst"/>; both halves are converted before either store.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store4(double* dst, Vector256<int> w, Vector256<double> vb, Vector256<double> vr, Vector256<double> vd)
    {
        var x0 = Avx.ConvertToVector256Double(w.GetLower());
        var x1 = Avx.ConvertToVector256Double(w.GetUpper());
        ((x0 * vb + vr) * vd).Store(dst);
        ((x1 * vb + vr) * vd).Store(dst + 4);
    }

    /// <summary>Eight int32 lanes to eight scaled values narrowed to float32 at <paramref name="dst"/> (9999 becomes NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store8Float(float* dst, Vector256<int> w, Vector256<double> vb, Vector256<double> vr, Vector256<double> vd)
    {
        var lo = (Avx.ConvertToVector256Double(w.GetLower()) * vb + vr) * vd;
        var hi = (Avx.ConvertToVector256Double(w.GetUpper()) * vb + vr) * vd;
        var missing = Vector256.Create(9999.0);
        // The 9999 test is on the doubles (a double that only rounds to 9999f is a value, not missing).
        var isMissing = Vector256.Narrow(Vector256.Equals(lo, missing).AsInt64(), Vector256.Equals(hi, missing).AsInt64()).AsSingle();
        Vector256.ConditionalSelect(isMissing, Vector256.Create(float.NaN), Vector256.Narrow(lo, hi)).Store(dst);
    }
}
