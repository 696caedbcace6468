using System.Runtime.InteropServices;

namespace Pipeline.Grib2.Tests;

/// <summary>Encoder options for <see cref="OpenJpegEncoder"/>: the knobs of opj_compress that a GRIB producer could turn.</summary>
internal sealed record J2kOptions
{
    public int Levels { get; init; } = 5;
    public int CodeBlockWidth { get; init; } = 64;
    public int CodeBlockHeight { get; init; } = 64;
    public int Layers { get; init; } = 1;
    public bool Irreversible { get; init; }
    public int Order { get; init; } // 0 LRCP, 1 RLCP, 2 RPCL, 3 PCRL, 4 CPRL
    public int Mode { get; init; } // code-block style: 1 bypass, 2 reset, 4 termall, 8 vsc, 16 pterm, 32 segsym
    public int TileWidth { get; init; }
    public int TileHeight { get; init; }
    public int[]? Precincts { get; init; } // sizes (powers of two), from the highest resolution down
    public int RoiShift { get; init; }
    public bool Sop { get; init; }
    public bool Eph { get; init; }
    public int X0 { get; init; }
    public int Y0 { get; init; }
    public bool Jp2 { get; init; }
    public bool Poc { get; init; }

    public override string ToString() =>
        $"levels {Levels} cb {CodeBlockWidth}x{CodeBlockHeight} layers {Layers} {(Irreversible ? "9/7" : "5/3")} order {Order} mode {Mode}" +
        $" tiles {TileWidth}x{TileHeight} precincts {(Precincts is null ? "-" : string.Join(",", Precincts))} roi {RoiShift}" +
        $"{(Sop ? " sop" : "")}{(Eph ? " eph" : "")} origin {X0},{Y0}{(Jp2 ? " jp2" : "")}{(Poc ? " poc" : "")}";
}

/// <summary>
/// OpenJPEG's encoder (libopenjp2.so.7) through its C API, to make JPEG 2000 code streams with every option for the
/// differential tests. opj_cparameters_t offsets are those of OpenJPEG 2.5 on 64-bit Linux (Debian's libopenjp2-7).
/// </summary>
internal static unsafe class OpenJpegEncoder
{
    private const int ParametersSize = 18720;

    private static readonly nint Lib = NativeLibrary.Load("libopenjp2.so.7");

    private static readonly delegate* unmanaged<void*, void> SetDefaults =
        (delegate* unmanaged<void*, void>)NativeLibrary.GetExport(Lib, "opj_set_default_encoder_parameters");
    private static readonly delegate* unmanaged<uint, void*, int, void*> ImageCreate =
        (delegate* unmanaged<uint, void*, int, void*>)NativeLibrary.GetExport(Lib, "opj_image_create");
    private static readonly delegate* unmanaged<void*, void> ImageDestroy =
        (delegate* unmanaged<void*, void>)NativeLibrary.GetExport(Lib, "opj_image_destroy");
    private static readonly delegate* unmanaged<int, void*> CreateCompress =
        (delegate* unmanaged<int, void*>)NativeLibrary.GetExport(Lib, "opj_create_compress");
    private static readonly delegate* unmanaged<void*, void*, void*, int> SetupEncoder =
        (delegate* unmanaged<void*, void*, void*, int>)NativeLibrary.GetExport(Lib, "opj_setup_encoder");
    private static readonly delegate* unmanaged<nuint, int, void*> StreamCreate =
        (delegate* unmanaged<nuint, int, void*>)NativeLibrary.GetExport(Lib, "opj_stream_create");
    private static readonly delegate* unmanaged<void*, delegate* unmanaged<void*, nuint, void*, nuint>, void> SetWrite =
        (delegate* unmanaged<void*, delegate* unmanaged<void*, nuint, void*, nuint>, void>)NativeLibrary.GetExport(Lib, "opj_stream_set_write_function");
    private static readonly delegate* unmanaged<void*, delegate* unmanaged<long, void*, long>, void> SetSkip =
        (delegate* unmanaged<void*, delegate* unmanaged<long, void*, long>, void>)NativeLibrary.GetExport(Lib, "opj_stream_set_skip_function");
    private static readonly delegate* unmanaged<void*, delegate* unmanaged<long, void*, int>, void> SetSeek =
        (delegate* unmanaged<void*, delegate* unmanaged<long, void*, int>, void>)NativeLibrary.GetExport(Lib, "opj_stream_set_seek_function");
    private static readonly delegate* unmanaged<void*, void*, void*, void> SetUserData =
        (delegate* unmanaged<void*, void*, void*, void>)NativeLibrary.GetExport(Lib, "opj_stream_set_user_data");
    private static readonly delegate* unmanaged<void*, void*, void*, int> StartCompress =
        (delegate* unmanaged<void*, void*, void*, int>)NativeLibrary.GetExport(Lib, "opj_start_compress");
    private static readonly delegate* unmanaged<void*, void*, int> EncodeCall =
        (delegate* unmanaged<void*, void*, int>)NativeLibrary.GetExport(Lib, "opj_encode");
    private static readonly delegate* unmanaged<void*, void*, int> EndCompress =
        (delegate* unmanaged<void*, void*, int>)NativeLibrary.GetExport(Lib, "opj_end_compress");
    private static readonly delegate* unmanaged<void*, void> StreamDestroy =
        (delegate* unmanaged<void*, void>)NativeLibrary.GetExport(Lib, "opj_stream_destroy");
    private static readonly delegate* unmanaged<void*, void> DestroyCodec =
        (delegate* unmanaged<void*, void>)NativeLibrary.GetExport(Lib, "opj_destroy_codec");

    private sealed class Sink
    {
        public byte[] Buffer = new byte[1 << 16];
        public long Position, Length;
    }

    [ThreadStatic] private static Sink? sink;

    [UnmanagedCallersOnly]
    private static nuint Write(void* buffer, nuint count, void* user)
    {
        var s = sink!;
        var n = (long)count;
        if (s.Position + n > s.Buffer.Length) Array.Resize(ref s.Buffer, (int)Math.Max(s.Buffer.Length * 2, s.Position + n));
        new ReadOnlySpan<byte>(buffer, (int)n).CopyTo(s.Buffer.AsSpan((int)s.Position));
        s.Position += n;
        s.Length = Math.Max(s.Length, s.Position);
        return count;
    }

    [UnmanagedCallersOnly]
    private static long Skip(long count, void* user)
    {
        var s = sink!;
        s.Position += count;
        if (s.Position > s.Buffer.Length) Array.Resize(ref s.Buffer, (int)s.Position * 2);
        s.Length = Math.Max(s.Length, s.Position);
        return count;
    }

    [UnmanagedCallersOnly]
    private static int Seek(long position, void* user)
    {
        var s = sink!;
        s.Position = position;
        if (s.Position > s.Buffer.Length) Array.Resize(ref s.Buffer, (int)s.Position * 2);
        return 1;
    }

    /// <summary>One grey component of <paramref name="prec"/> bits, w x h samples row-major, to a J2K (or JP2) stream.</summary>
    public static byte[] Encode(int[] samples, int w, int h, int prec, bool signed, J2kOptions o)
    {
        var p = (byte*)NativeMemory.AllocZeroed(ParametersSize);
        void* image = null, codec = null, stream = null;
        try
        {
            SetDefaults(p);
            *(int*)(p + 4796) = o.Layers; // tcp_numlayers
            var rates = (float*)(p + 4800);
            for (var l = 0; l < o.Layers; l++) rates[l] = l == o.Layers - 1 ? 0 : 40f / (l + 1); // last layer lossless
            *(int*)(p + 20) = 1; // cp_disto_alloc
            *(int*)(p + 5600) = o.Levels + 1; // numresolution
            *(int*)(p + 5604) = o.CodeBlockWidth;
            *(int*)(p + 5608) = o.CodeBlockHeight;
            *(int*)(p + 5612) = o.Mode;
            *(int*)(p + 5616) = o.Irreversible ? 1 : 0;
            *(int*)(p + 52) = o.Order;
            var csty = (o.Sop ? 2 : 0) | (o.Eph ? 4 : 0);
            if (o.Precincts is { } prc)
            {
                csty |= 1;
                *(int*)(p + 5628) = prc.Length; // res_spec
                for (var i = 0; i < prc.Length; i++)
                {
                    ((int*)(p + 5632))[i] = prc[i];
                    ((int*)(p + 5764))[i] = prc[i];
                }
            }
            *(int*)(p + 48) = csty;
            if (o.TileWidth > 0)
            {
                *(int*)(p + 0) = 1; // tile_size_on
                *(int*)(p + 12) = o.TileWidth;
                *(int*)(p + 16) = o.TileHeight;
                *(int*)(p + 4) = 0;
                *(int*)(p + 8) = 0;
            }
            if (o.RoiShift > 0)
            {
                *(int*)(p + 5620) = 0;
                *(int*)(p + 5624) = o.RoiShift;
            }
            else *(int*)(p + 5620) = -1;
            *(int*)(p + 18188) = o.X0;
            *(int*)(p + 18192) = o.Y0;
            if (o.Poc)
            {
                // Two progressions for tile 1: the first two resolutions of layer 0 in LRCP, then everything in RPCL.
                var poc = p + 56;
                void Entry(byte* e, int res1, int lay1, int prg)
                {
                    *(uint*)(e + 0) = 0; // resno0
                    *(uint*)(e + 4) = 0; // compno0
                    *(uint*)(e + 8) = (uint)lay1;
                    *(uint*)(e + 12) = (uint)res1;
                    *(uint*)(e + 16) = 1; // compno1
                    *(int*)(e + 32) = prg; // prg1
                    *(uint*)(e + 48) = 1; // tile (1-based)
                }
                Entry(poc, 2, 1, 0);
                Entry(poc + 148, o.Levels + 1, o.Layers, 2);
                *(uint*)(p + 4792) = 2; // numpocs
            }
            // opj_image_cmptparm_t: dx dy w h x0 y0 prec bpp sgnd
            var cmpt = stackalloc uint[9];
            cmpt[0] = 1; cmpt[1] = 1; cmpt[2] = (uint)w; cmpt[3] = (uint)h; cmpt[4] = (uint)o.X0; cmpt[5] = (uint)o.Y0;
            cmpt[6] = (uint)prec; cmpt[7] = (uint)prec; cmpt[8] = signed ? 1u : 0u;
            image = ImageCreate(1, cmpt, 1 /* OPJ_CLRSPC_GRAY */);
            if (image == null) throw new InvalidOperationException("opj_image_create failed");
            var img = (uint*)image; // x0 y0 x1 y1 numcomps color_space comps*
            img[0] = (uint)o.X0; img[1] = (uint)o.Y0; img[2] = (uint)(o.X0 + w); img[3] = (uint)(o.Y0 + h);
            var comps = *(byte**)((byte*)image + 24);
            var data = *(int**)(comps + 48);
            for (var i = 0; i < w * h; i++) data[i] = samples[i];
            codec = CreateCompress(o.Jp2 ? 2 : 0);
            if (SetupEncoder(codec, p, image) == 0) throw new InvalidOperationException($"opj_setup_encoder rejected {o}");
            sink = new Sink();
            stream = StreamCreate(1 << 20, 0);
            SetWrite(stream, &Write);
            SetSkip(stream, &Skip);
            SetSeek(stream, &Seek);
            SetUserData(stream, null, null);
            if (StartCompress(codec, image, stream) == 0 || EncodeCall(codec, stream) == 0 || EndCompress(codec, stream) == 0)
                throw new InvalidOperationException($"OpenJPEG could not encode with {o}");
            StreamDestroy(stream);
            stream = null;
            return sink.Buffer.AsSpan(0, (int)sink.Length).ToArray();
        }
        finally
        {
            if (stream != null) StreamDestroy(stream);
            if (codec != null) DestroyCodec(codec);
            if (image != null) ImageDestroy(image);
            NativeMemory.Free(p);
        }
    }
}
