using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Pipeline.Grib2.Data.Jpeg2000;

namespace Pipeline.Grib2.Data;

/// <summary>
/// Template 5.40: JPEG 2000 code stream (J2K or JP2). Decoded by our own C# decoder (Jpeg2000/J2kDecoder); OpenJPEG
/// (libopenjp2.so.7, the library ecCodes uses, loaded at first use) stays behind <c>managed: false</c> as the oracle the
/// tests compare against. The image's one component holds the packed integers.
/// </summary>
internal static unsafe class Jpeg2000Packing
{
    private const int CodecJ2k = 0, CodecJp2 = 2;

    // opj_image_t and opj_image_comp_t as laid out by OpenJPEG 2.x on 64-bit platforms.
    [StructLayout(LayoutKind.Sequential)]
    private struct OpjImage
    {
        public uint X0, Y0, X1, Y1, NumComps;
        public int ColorSpace;
        public OpjImageComp* Comps;
        public byte* IccProfile;
        public uint IccProfileLength;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct OpjImageComp
    {
        public uint Dx, Dy, W, H, X0, Y0, Prec, Bpp, Sgnd, ResnoDecoded, Factor;
        public int* Data;
        public ushort Alpha;
    }

    private struct MemoryInput
    {
        public byte* Data;
        public long Length;
        public long Position;
    }

    private sealed class Api
    {
        public delegate* unmanaged<int, void*> CreateDecompress;
        public delegate* unmanaged<void*, void> SetDefaultDecoderParameters;
        public delegate* unmanaged<void*, void*, int> SetupDecoder;
        public delegate* unmanaged<nuint, int, void*> StreamCreate;
        public delegate* unmanaged<void*, delegate* unmanaged<void*, nuint, void*, nuint>, void> SetReadFunction;
        public delegate* unmanaged<void*, delegate* unmanaged<long, void*, long>, void> SetSkipFunction;
        public delegate* unmanaged<void*, delegate* unmanaged<long, void*, int>, void> SetSeekFunction;
        public delegate* unmanaged<void*, void*, void*, void> SetUserData;
        public delegate* unmanaged<void*, ulong, void> SetUserDataLength;
        public delegate* unmanaged<void*, void*, OpjImage**, int> ReadHeader;
        public delegate* unmanaged<void*, void*, OpjImage*, int> DecodeImage;
        public delegate* unmanaged<void*, void*, int> EndDecompress;
        public delegate* unmanaged<void*, void> StreamDestroy;
        public delegate* unmanaged<void*, void> DestroyCodec;
        public delegate* unmanaged<OpjImage*, void> ImageDestroy;
        public delegate* unmanaged<void*, delegate* unmanaged<byte*, void*, void>, void*, int> SetErrorHandler;
        public delegate* unmanaged<void*, delegate* unmanaged<byte*, void*, void>, void*, int> SetWarningHandler;
        public delegate* unmanaged<void*, delegate* unmanaged<byte*, void*, void>, void*, int> SetInfoHandler;
    }

    private static readonly Lazy<Api> Native = new(() =>
    {
        var lib = NativeCodecs.Load("libopenjp2.so.7", "libopenjp2-7", "JPEG 2000 (template 5.40)", "libopenjp2.so");
        nint F(string name) => NativeLibrary.GetExport(lib, name);
        return new Api
        {
            CreateDecompress = (delegate* unmanaged<int, void*>)F("opj_create_decompress"),
            SetDefaultDecoderParameters = (delegate* unmanaged<void*, void>)F("opj_set_default_decoder_parameters"),
            SetupDecoder = (delegate* unmanaged<void*, void*, int>)F("opj_setup_decoder"),
            StreamCreate = (delegate* unmanaged<nuint, int, void*>)F("opj_stream_create"),
            SetReadFunction = (delegate* unmanaged<void*, delegate* unmanaged<void*, nuint, void*, nuint>, void>)F("opj_stream_set_read_function"),
            SetSkipFunction = (delegate* unmanaged<void*, delegate* unmanaged<long, void*, long>, void>)F("opj_stream_set_skip_function"),
            SetSeekFunction = (delegate* unmanaged<void*, delegate* unmanaged<long, void*, int>, void>)F("opj_stream_set_seek_function"),
            SetUserData = (delegate* unmanaged<void*, void*, void*, void>)F("opj_stream_set_user_data"),
            SetUserDataLength = (delegate* unmanaged<void*, ulong, void>)F("opj_stream_set_user_data_length"),
            ReadHeader = (delegate* unmanaged<void*, void*, OpjImage**, int>)F("opj_read_header"),
            DecodeImage = (delegate* unmanaged<void*, void*, OpjImage*, int>)F("opj_decode"),
            EndDecompress = (delegate* unmanaged<void*, void*, int>)F("opj_end_decompress"),
            StreamDestroy = (delegate* unmanaged<void*, void>)F("opj_stream_destroy"),
            DestroyCodec = (delegate* unmanaged<void*, void>)F("opj_destroy_codec"),
            ImageDestroy = (delegate* unmanaged<OpjImage*, void>)F("opj_image_destroy"),
            SetErrorHandler = (delegate* unmanaged<void*, delegate* unmanaged<byte*, void*, void>, void*, int>)F("opj_set_error_handler"),
            SetWarningHandler = (delegate* unmanaged<void*, delegate* unmanaged<byte*, void*, void>, void*, int>)F("opj_set_warning_handler"),
            SetInfoHandler = (delegate* unmanaged<void*, delegate* unmanaged<byte*, void*, void>, void*, int>)F("opj_set_info_handler"),
        };
    });

    // opj_dparameters_t is about 9 KB in OpenJPEG 2.5; give it room to grow.
    private const int ParametersSize = 32 * 1024;

    public static void Decode(GribField field, Span<double> dest) => Decode(field, dest, managed: true);

    /// <summary><paramref name="managed"/>: our decoder; false: OpenJPEG (the differential tests compare both).</summary>
    internal static void Decode(GribField field, Span<double> dest, bool managed)
    {
        var at5 = field.Offsets.S5;
        var at7 = field.Offsets.S7;
        var h = SimpleHeader.Read(field.Section5.Span, at5);
        var n = dest.Length;
        if (h.BitsPerValue == 0)
        {
            dest.Fill(h.Reference);
            return;
        }
        if (n == 0) return;
        var data = field.Section7.Span[5..];
        if (data.Length < 4)
            throw new GribFormatException("section 7 is too short for a JPEG 2000 code stream", at7, 7);
        if (managed)
        {
            // The integers go to the upper half of the destination's bytes and are scaled in place from there.
            DecodeIntegers(data, MemoryMarshal.Cast<double, int>(dest)[n..], at7);
            VectorScale.FromSamplesInTail(dest, 4, signed: true, h.Scaling);
            return;
        }
        var ints = OpenJpegIntegers(data, n, at7);
        VectorScale.FromInt32(ints, dest, h.Scaling);
    }

    /// <summary>The image's samples by our decoder into <paramref name="output"/>; every failure a GribFormatException.</summary>
    internal static void DecodeIntegers(ReadOnlySpan<byte> data, Span<int> output, long at7)
    {
        try
        {
            J2kDecoder.Decode(data, output, at7);
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentException or OverflowException or InvalidOperationException)
        {
            // A damaged stream the checks did not name: still a GRIB error about section 7, never a crash.
            throw new GribFormatException($"the JPEG 2000 code stream is damaged ({e.Message})", at7, 7, e);
        }
    }

    /// <summary>The image's samples as OpenJPEG decodes them (the test oracle for <see cref="J2kDecoder"/>).</summary>
    internal static int[] OpenJpegIntegers(ReadOnlySpan<byte> data, int n, long at7)
    {
        if (data.Length < 4)
            throw new GribFormatException("section 7 is too short for a JPEG 2000 code stream", at7, 7);
        int format;
        if (data[0] == 0xFF && data[1] == 0x4F) format = CodecJ2k;
        else if (data.Length >= 12 && data[4] == 0x6A && data[5] == 0x50 && data[6] == 0x20 && data[7] == 0x20) format = CodecJp2;
        else throw new GribFormatException("section 7 does not start a JPEG 2000 code stream (no SOC marker or JP2 signature)", at7, 7);

        if (format == CodecJ2k) CheckSiz(data, n, at7);
        var api = Native.Value;
        var codec = api.CreateDecompress(format);
        if (codec == null) throw new GribFormatException("OpenJPEG could not create a decoder", at7, 7);
        void* stream = null;
        OpjImage* image = null;
        var parameters = NativeMemory.AllocZeroed(ParametersSize);
        try
        {
            api.SetErrorHandler(codec, &Quiet, null);
            api.SetWarningHandler(codec, &Quiet, null);
            api.SetInfoHandler(codec, &Quiet, null);
            api.SetDefaultDecoderParameters(parameters);
            if (api.SetupDecoder(codec, parameters) == 0)
                throw new GribFormatException("OpenJPEG rejected the decoder parameters", at7, 7);
            fixed (byte* p = data)
            {
                var input = new MemoryInput { Data = p, Length = data.Length };
                stream = api.StreamCreate((nuint)Math.Min(data.Length, 1 << 20), 1);
                api.SetUserData(stream, &input, null);
                api.SetUserDataLength(stream, (ulong)data.Length);
                api.SetReadFunction(stream, &Read);
                api.SetSkipFunction(stream, &Skip);
                api.SetSeekFunction(stream, &Seek);
                if (api.ReadHeader(stream, codec, &image) == 0 || image == null)
                    throw new GribFormatException("the JPEG 2000 code stream header is damaged", at7, 7);
                long w = image->X1 - (long)image->X0, hgt = image->Y1 - (long)image->Y0;
                // GRIB's JPEG 2000 images are one grey component of at most 32 bits: refuse anything else before
                // OpenJPEG spends time (or memory) decoding it.
                if (image->NumComps != 1 || image->Comps == null || image->Comps->Prec is 0 or > 32)
                    throw new GribFormatException(
                        $"the JPEG 2000 image has {image->NumComps} components (GRIB uses 1 grey component of at most 32 bits)", at7, 7);
                if (w <= 0 || hgt <= 0 || w * hgt != n)
                    throw new GribFormatException(
                        $"the JPEG 2000 image is {w}x{hgt} with {image->NumComps} components, section 5 says {n} values", at7, 7);
                if (api.DecodeImage(codec, stream, image) == 0 || api.EndDecompress(codec, stream) == 0)
                    throw new GribFormatException("OpenJPEG could not decode the JPEG 2000 code stream", at7, 7);
            }
            var comp = image->Comps;
            if ((long)comp->W * comp->H != n || comp->Data == null)
                throw new GribFormatException($"the JPEG 2000 component is {comp->W}x{comp->H}, section 5 says {n} values", at7, 7);
            return new ReadOnlySpan<int>(comp->Data, n).ToArray();
        }
        finally
        {
            if (image != null) api.ImageDestroy(image);
            if (stream != null) api.StreamDestroy(stream);
            api.DestroyCodec(codec);
            NativeMemory.Free(parameters);
        }
    }

    /// <summary>
    /// Checks the SIZ marker (image and tile size, components) before OpenJPEG sees the stream: a damaged size
    /// would make it allocate and work for an image that cannot be this field.
    /// </summary>
    private static void CheckSiz(ReadOnlySpan<byte> cs, int n, long at7)
    {
        if (cs.Length < 42 || cs[2] != 0xFF || cs[3] != 0x51)
            throw new GribFormatException("the JPEG 2000 code stream has no SIZ marker after SOC", at7, 7);
        long xsiz = Be.U32(cs, 8), ysiz = Be.U32(cs, 12), x0 = Be.U32(cs, 16), y0 = Be.U32(cs, 20);
        long xt = Be.U32(cs, 24), yt = Be.U32(cs, 28), xt0 = Be.U32(cs, 32), yt0 = Be.U32(cs, 36);
        var components = Be.U16(cs, 40);
        long w = xsiz - x0, h = ysiz - y0;
        if (w <= 0 || h <= 0 || w * h != n)
            throw new GribFormatException($"the JPEG 2000 image is {w}x{h}, section 5 says {n} values", at7, 7);
        if (components != 1)
            throw new GribFormatException($"the JPEG 2000 image has {components} components, GRIB uses 1", at7, 7);
        if (xt == 0 || yt == 0 || xt0 > x0 || yt0 > y0)
            throw new GribFormatException("the JPEG 2000 tile size is not valid", at7, 7);
        var tiles = ((xsiz - xt0 + xt - 1) / xt) * ((ysiz - yt0 + yt - 1) / yt);
        if (tiles > n)
            throw new GribFormatException($"the JPEG 2000 image has {tiles} tiles for {n} values", at7, 7);
    }

    [UnmanagedCallersOnly]
    private static void Quiet(byte* message, void* user)
    {
    }

    [UnmanagedCallersOnly]
    private static nuint Read(void* buffer, nuint count, void* user)
    {
        var s = (MemoryInput*)user;
        var left = s->Length - s->Position;
        if (left <= 0) return unchecked((nuint)(-1));
        var n = (long)Math.Min((ulong)left, count);
        Buffer.MemoryCopy(s->Data + s->Position, buffer, (long)count, n);
        s->Position += n;
        return (nuint)n;
    }

    [UnmanagedCallersOnly]
    private static long Skip(long count, void* user)
    {
        var s = (MemoryInput*)user;
        var target = Math.Clamp(s->Position + count, 0, s->Length);
        var moved = target - s->Position;
        s->Position = target;
        return moved == 0 && count != 0 ? -1 : moved;
    }

    [UnmanagedCallersOnly]
    private static int Seek(long position, void* user)
    {
        var s = (MemoryInput*)user;
        if (position < 0 || position > s->Length) return 0;
        s->Position = position;
        return 1;
    }
}
