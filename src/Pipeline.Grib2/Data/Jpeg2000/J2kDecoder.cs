using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Pipeline.Grib2.Data.Jpeg2000;

/// <summary>
/// A JPEG 2000 part-1 decoder for what GRIB2 template 5.40 carries: one grey component of up to 31 bits, signed or
/// not, any tiling, decomposition levels, layers, code-block sizes and styles, precincts, progression orders (and POC
/// changes), quantization styles, 5/3 and 9/7 wavelets, ROI max-shift, packed packet headers (PPM / PPT), SOP / EPH.
/// Produces the same integers as OpenJPEG (the library ecCodes uses), so the scaled GRIB values match ecCodes.
/// Working memory comes from a per-thread context that is reused, so a decode allocates little beyond its output.
/// </summary>
internal static unsafe class J2kDecoder
{
    private struct Resolution
    {
        public int X0, Y0, X1, Y1, PpxExp, PpyExp, Pw, Ph, BandStart, BandCount, PrecinctIndexBase;
    }

    private struct Band
    {
        public int X0, Y0, X1, Y1, Orient, Mb, OffX, OffY, CbwExp, CbhExp, PrecStart;
        public float Step;
        public bool Empty => X1 <= X0 || Y1 <= Y0;
    }

    private struct PrecinctBand
    {
        public int Cw, Ch, CbStart, InclTree, ZbpTree;
    }

    private struct CodeBlock
    {
        public int X0, Y0, X1, Y1, Numbps, Lblock, Passes, NumSegs, SegHead, SegTail, ChunkHead, ChunkTail, DataLength;
        public bool Included;
    }

    private struct Segment
    {
        public int Length, Passes, MaxPasses, NewLength, NewPasses, Next;
    }

    private struct Chunk
    {
        public int Offset, Length, Next;
    }

    /// <summary>Per-thread working arrays, grown as needed and reused by every decode on the thread.</summary>
    private sealed class Context
    {
        public Resolution[] Res = new Resolution[33];
        public Band[] Bands = new Band[100];
        public PrecinctBand[] Precincts = new PrecinctBand[256];
        public CodeBlock[] Blocks = new CodeBlock[1024];
        public Segment[] Segments = new Segment[1024];
        public Chunk[] Chunks = new Chunk[1024];
        public int[] TagValue = new int[2048], TagLow = new int[2048], TagParent = new int[2048];
        public int[] Touched = new int[1024];
        public byte[] CbData = GC.AllocateArray<byte>(8192, pinned: true);
        public int NumSegments, NumChunks, NumTags;
        public readonly Tier1 T1 = new();
    }

    [ThreadStatic] private static Context? cached;

    private static void Grow<T>(ref T[] array, int needed)
    {
        if (array.Length >= needed) return;
        Array.Resize(ref array, Math.Max(needed, array.Length * 2));
    }

    /// <summary>Decodes section 7's code stream into <paramref name="output"/> (image width * height samples, row-major).</summary>
    public static void Decode(ReadOnlySpan<byte> section7Data, Span<int> output, long at7)
    {
        var cs = J2kCodestream.Unwrap(section7Data, at7);
        var stream = J2kCodestream.Parse(cs, output.Length, at7);
        var ctx = cached ??= new Context();
        var singleTile = stream.TilesX * stream.TilesY == 1;
        foreach (var tile in stream.Tiles.Values) DecodeTile(stream, tile, cs, output, ctx, singleTile);
    }

    private static long CeilDivPow2(long a, int k) => k >= 62 ? (a > 0 ? 1 : 0) : (a + (1L << k) - 1) >> k;
    private static long FloorDivPow2(long a, int k) => k >= 62 ? 0 : a >> k;

    private static void DecodeTile(J2kCodestream s, TileData tile, ReadOnlySpan<byte> cs, Span<int> output, Context ctx, bool singleTile)
    {
        var p = tile.Parameters;
        var style = p.Style;
        int tp = tile.Index % s.TilesX, tq = tile.Index / s.TilesX;
        long tx0 = Math.Max((long)s.XT0siz + (long)tp * s.XTsiz, s.X0siz), tx1 = Math.Min((long)s.XT0siz + (tp + 1L) * s.XTsiz, s.Xsiz);
        long ty0 = Math.Max((long)s.YT0siz + (long)tq * s.YTsiz, s.Y0siz), ty1 = Math.Min((long)s.YT0siz + (tq + 1L) * s.YTsiz, s.Ysiz);
        int tcx0 = J2kCodestream.CeilDiv((int)tx0, s.Dx), tcx1 = J2kCodestream.CeilDiv((int)tx1, s.Dx);
        int tcy0 = J2kCodestream.CeilDiv((int)ty0, s.Dy), tcy1 = J2kCodestream.CeilDiv((int)ty1, s.Dy);
        int tw = tcx1 - tcx0, th = tcy1 - tcy0;
        if (tw <= 0 || th <= 0) return;
        var nl = style.Levels;
        var reversible = style.Transform == 1;

        // Body: the tile-parts' data, one span when there is one part.
        byte[]? joined = null;
        ReadOnlySpan<byte> body;
        if (tile.Parts.Count == 1) body = cs.Slice(tile.Parts[0].Start, tile.Parts[0].Length);
        else
        {
            var total = tile.Parts.Sum(x => x.Length);
            joined = ArrayPool<byte>.Shared.Rent(total);
            var at = 0;
            foreach (var (start, length) in tile.Parts)
            {
                cs.Slice(start, length).CopyTo(joined.AsSpan(at));
                at += length;
            }
            body = joined.AsSpan(0, total);
        }

        int* tileBuf;
        int[]? tileArray = null;
        GCHandle pin = default;
        var outputIsTile = singleTile && tw == s.CompWidth && th == s.CompHeight;
        try
        {
            BuildGeometry(s, p, ctx, tcx0, tcy0, tcx1, tcy1, out var numRes, out var numBlocks, out var totalPrecincts);
            ReadPackets(s, p, ctx, body, tile.PackedHeaders, numRes, totalPrecincts, tx0, ty0, tx1, ty1);

            fixed (int* outPtr = output)
            {
                if (outputIsTile) tileBuf = outPtr;
                else
                {
                    tileArray = ArrayPool<int>.Shared.Rent(tw * th);
                    pin = GCHandle.Alloc(tileArray, GCHandleType.Pinned);
                    tileBuf = (int*)pin.AddrOfPinnedObject();
                }
                new Span<int>(tileBuf, tw * th).Clear();
                DecodeBlocks(s, p, ctx, numRes, tileBuf, tw, (long)tw * th, body);
                InverseTransform(ctx, nl, reversible, tileBuf, tw);
                LevelShift(s, reversible, tileBuf, tw * th);
                if (!outputIsTile)
                {
                    int ox = tcx0 - s.CompX0, oy = tcy0 - s.CompY0, ow = s.CompWidth;
                    for (var y = 0; y < th; y++)
                        new ReadOnlySpan<int>(tileBuf + (long)y * tw, tw).CopyTo(output.Slice((oy + y) * ow + ox, tw));
                }
            }
        }
        finally
        {
            if (pin.IsAllocated) pin.Free();
            if (tileArray is not null) ArrayPool<int>.Shared.Return(tileArray);
            if (joined is not null) ArrayPool<byte>.Shared.Return(joined);
        }
    }

    private static void BuildGeometry(J2kCodestream s, TileParameters p, Context ctx, int tcx0, int tcy0, int tcx1, int tcy1,
        out int numRes, out int numBlocks, out int totalPrecincts)
    {
        var style = p.Style;
        var q = p.Quant;
        var nl = style.Levels;
        numRes = nl + 1;
        var bandCount = 0;
        var precCount = 0;
        var blockCount = 0;
        totalPrecincts = 0;
        ctx.NumTags = 0;
        ctx.NumSegments = 0;
        ctx.NumChunks = 0;
        var tileArea = (long)(tcx1 - tcx0) * (tcy1 - tcy0);
        for (var r = 0; r <= nl; r++)
        {
            var level = nl - r;
            ref var res = ref ctx.Res[r];
            res.X0 = (int)CeilDivPow2(tcx0, level);
            res.Y0 = (int)CeilDivPow2(tcy0, level);
            res.X1 = (int)CeilDivPow2(tcx1, level);
            res.Y1 = (int)CeilDivPow2(tcy1, level);
            res.PpxExp = style.PrecinctWidthExp(r);
            res.PpyExp = style.PrecinctHeightExp(r);
            res.Pw = res.X1 > res.X0 ? (int)(CeilDivPow2(res.X1, res.PpxExp) - FloorDivPow2(res.X0, res.PpxExp)) : 0;
            res.Ph = res.Y1 > res.Y0 ? (int)(CeilDivPow2(res.Y1, res.PpyExp) - FloorDivPow2(res.Y0, res.PpyExp)) : 0;
            if ((long)res.Pw * res.Ph > 4 * tileArea + 16)
                throw s.Error("more precincts than samples", 0);
            res.PrecinctIndexBase = totalPrecincts;
            totalPrecincts += res.Pw * res.Ph;
            res.BandStart = bandCount;
            res.BandCount = r == 0 ? 1 : 3;
            for (var bi = 0; bi < res.BandCount; bi++)
            {
                Grow(ref ctx.Bands, bandCount + 1);
                ref var band = ref ctx.Bands[bandCount++];
                var orient = r == 0 ? 0 : bi + 1;
                band.Orient = orient;
                if (r == 0)
                {
                    band.X0 = res.X0; band.Y0 = res.Y0; band.X1 = res.X1; band.Y1 = res.Y1;
                    band.OffX = 0; band.OffY = 0;
                }
                else
                {
                    var nb = nl - r + 1;
                    int xob = orient & 1, yob = orient >> 1;
                    band.X0 = (int)CeilDivPow2(tcx0 - ((long)xob << (nb - 1)), nb);
                    band.Y0 = (int)CeilDivPow2(tcy0 - ((long)yob << (nb - 1)), nb);
                    band.X1 = (int)CeilDivPow2(tcx1 - ((long)xob << (nb - 1)), nb);
                    band.Y1 = (int)CeilDivPow2(tcy1 - ((long)yob << (nb - 1)), nb);
                    ref var prev = ref ctx.Res[r - 1];
                    band.OffX = xob == 1 ? prev.X1 - prev.X0 : 0;
                    band.OffY = yob == 1 ? prev.Y1 - prev.Y0 : 0;
                }
                var bandIndex = r == 0 ? 0 : 3 * (r - 1) + bi + 1;
                int expn, mant;
                if (q.Style == 1)
                {
                    expn = Math.Max(q.Exponents[0] - (r == 0 ? 0 : r - 1), 0);
                    mant = q.Mantissas[0];
                }
                else
                {
                    expn = q.Exponents[bandIndex];
                    mant = q.Mantissas[bandIndex];
                }
                band.Mb = expn + q.GuardBits - 1;
                // OpenJPEG: the decoded integers carry one extra bit, hence the half step.
                band.Step = 0.5f * (float)((1.0 + mant / 2048.0) * Math.Pow(2.0, s.Precision - expn));
                var bandPpx = r == 0 ? res.PpxExp : res.PpxExp - 1;
                var bandPpy = r == 0 ? res.PpyExp : res.PpyExp - 1;
                band.CbwExp = Math.Min(style.CbWidthExp, bandPpx);
                band.CbhExp = Math.Min(style.CbHeightExp, bandPpy);
                band.PrecStart = precCount;
                var nprec = res.Pw * res.Ph;
                Grow(ref ctx.Precincts, precCount + nprec);
                long startX = FloorDivPow2(res.X0, res.PpxExp) << res.PpxExp, startY = FloorDivPow2(res.Y0, res.PpyExp) << res.PpyExp;
                if (r > 0)
                {
                    startX = CeilDivPow2(startX, 1);
                    startY = CeilDivPow2(startY, 1);
                }
                for (var k = 0; k < nprec; k++)
                {
                    ref var pb = ref ctx.Precincts[precCount++];
                    int kx = k % res.Pw, ky = k / res.Pw;
                    long px0 = startX + ((long)kx << bandPpx), py0 = startY + ((long)ky << bandPpy);
                    long px1 = px0 + (1L << bandPpx), py1 = py0 + (1L << bandPpy);
                    px0 = Math.Max(px0, band.X0); py0 = Math.Max(py0, band.Y0);
                    px1 = Math.Min(px1, band.X1); py1 = Math.Min(py1, band.Y1);
                    if (band.Empty || px1 <= px0 || py1 <= py0)
                    {
                        pb = default;
                        pb.CbStart = blockCount;
                        continue;
                    }
                    long cbx0 = FloorDivPow2(px0, band.CbwExp) << band.CbwExp, cby0 = FloorDivPow2(py0, band.CbhExp) << band.CbhExp;
                    long cbx1 = CeilDivPow2(px1, band.CbwExp) << band.CbwExp, cby1 = CeilDivPow2(py1, band.CbhExp) << band.CbhExp;
                    pb.Cw = (int)((cbx1 - cbx0) >> band.CbwExp);
                    pb.Ch = (int)((cby1 - cby0) >> band.CbhExp);
                    pb.CbStart = blockCount;
                    var n = pb.Cw * pb.Ch;
                    Grow(ref ctx.Blocks, blockCount + n);
                    for (var j = 0; j < pb.Ch; j++)
                    for (var i = 0; i < pb.Cw; i++)
                    {
                        ref var cb = ref ctx.Blocks[blockCount++];
                        cb = default;
                        long x0 = cbx0 + ((long)i << band.CbwExp), y0 = cby0 + ((long)j << band.CbhExp);
                        cb.X0 = (int)Math.Max(x0, px0);
                        cb.Y0 = (int)Math.Max(y0, py0);
                        cb.X1 = (int)Math.Min(x0 + (1L << band.CbwExp), px1);
                        cb.Y1 = (int)Math.Min(y0 + (1L << band.CbhExp), py1);
                        cb.SegHead = cb.SegTail = cb.ChunkHead = cb.ChunkTail = -1;
                    }
                    pb.InclTree = NewTagTree(ctx, pb.Cw, pb.Ch);
                    pb.ZbpTree = NewTagTree(ctx, pb.Cw, pb.Ch);
                }
                if (blockCount > 4 * tileArea + 64)
                    throw s.Error("more code-blocks than samples", 0);
            }
        }
        numBlocks = blockCount;
    }

    /// <summary>A tag tree over w x h leaves: node values "unknown", lower bounds 0; returns the index of leaf 0.</summary>
    private static int NewTagTree(Context ctx, int w, int h)
    {
        var start = ctx.NumTags;
        var total = 0;
        int lw = w, lh = h;
        while (true)
        {
            total += lw * lh;
            if (lw * lh <= 1) break;
            lw = (lw + 1) >> 1;
            lh = (lh + 1) >> 1;
        }
        Grow(ref ctx.TagValue, start + total);
        Grow(ref ctx.TagLow, start + total);
        Grow(ref ctx.TagParent, start + total);
        var levelStart = start;
        lw = w;
        lh = h;
        while (true)
        {
            var n = lw * lh;
            var nextStart = levelStart + n;
            int pw = (lw + 1) >> 1;
            for (var j = 0; j < lh; j++)
            for (var i = 0; i < lw; i++)
            {
                var node = levelStart + j * lw + i;
                ctx.TagValue[node] = int.MaxValue;
                ctx.TagLow[node] = 0;
                ctx.TagParent[node] = n <= 1 ? -1 : nextStart + (j >> 1) * pw + (i >> 1);
            }
            if (n <= 1) break;
            levelStart = nextStart;
            lw = pw;
            lh = (lh + 1) >> 1;
        }
        ctx.NumTags = start + total;
        return start;
    }

    /// <summary>Packet header bits (B.10.1): MSB first, a byte after 0xFF carries 7 bits; zeros past the end.</summary>
    private ref struct BitReader
    {
        public ReadOnlySpan<byte> Data;
        public int Pos;
        private uint buf;
        private int ct;

        public BitReader(ReadOnlySpan<byte> data, int pos)
        {
            Data = data;
            Pos = pos;
            buf = 0;
            ct = 0;
        }

        private void ByteIn()
        {
            buf = (buf << 8) & 0xFFFF;
            ct = buf == 0xFF00 ? 7 : 8;
            if (Pos < Data.Length) buf |= Data[Pos];
            Pos++;
        }

        public uint Bit()
        {
            if (ct == 0) ByteIn();
            ct--;
            return (buf >> ct) & 1;
        }

        public uint Bits(int n)
        {
            uint v = 0;
            for (var i = 0; i < n; i++) v = (v << 1) | Bit();
            return v;
        }

        public void Align()
        {
            if ((buf & 0xFF) == 0xFF) ByteIn();
            ct = 0;
        }
    }

    [SkipLocalsInit]
    private static bool TagDecode(Context ctx, ref BitReader br, int leaf, int threshold)
    {
        Span<int> path = stackalloc int[40];
        var depth = 0;
        for (var node = leaf; node >= 0 && depth < 40; node = ctx.TagParent[node]) path[depth++] = node;
        var low = 0;
        for (var d = depth - 1; d >= 0; d--)
        {
            var node = path[d];
            if (low > ctx.TagLow[node]) ctx.TagLow[node] = low;
            else low = ctx.TagLow[node];
            while (low < threshold && low < ctx.TagValue[node])
            {
                if (br.Bit() != 0) ctx.TagValue[node] = low;
                else low++;
            }
            ctx.TagLow[node] = low;
        }
        return ctx.TagValue[leaf] < threshold;
    }

    private static void ReadPackets(J2kCodestream s, TileParameters p, Context ctx, ReadOnlySpan<byte> body, byte[]? packed,
        int numRes, int totalPrecincts, long tx0, long ty0, long tx1, long ty1)
    {
        var layers = p.Layers;
        var bodyPos = 0;
        var hdrPos = 0;
        ReadOnlySpan<byte> headers = packed;
        bool[]? included = null;
        List<Progression> progressions;
        // Every packet takes at least one byte of header: more packets than bytes is a damaged stream (and would be
        // a long loop over nothing).
        var packets = (long)layers * totalPrecincts;
        if (packets > 8L * body.Length + 8L * headers.Length + 1024)
            throw s.Error($"{layers} layers of {totalPrecincts} precincts cannot fit in the tile's {body.Length} bytes", 0);
        if (p.Progressions is { Count: > 0 } pocs)
        {
            progressions = pocs;
            included = new bool[packets];
        }
        else progressions = [new Progression(0, 0, layers, numRes, 1, p.Order)];
        var stop = false;

        void Packet(int l, int r, int k, ref int bodyPos, ref int hdrPos, ReadOnlySpan<byte> body, ReadOnlySpan<byte> headers)
        {
            if (stop) return;
            var global = ctx.Res[r].PrecinctIndexBase + k;
            if (included is not null)
            {
                ref var inc = ref included[(long)l * totalPrecincts + global];
                if (inc) return;
                inc = true;
            }
            if (packed is null && bodyPos >= body.Length)
            {
                stop = true; // a code stream truncated at a packet boundary: what was there is decoded
                return;
            }
            ReadPacket(s, p, ctx, r, k, l, body, ref bodyPos, headers, ref hdrPos, packed is not null);
        }

        foreach (var prog in progressions)
        {
            if (stop) break;
            if (prog.CompStart > 0 || prog.CompEnd < 1) continue;
            int l1 = Math.Min(prog.LayerEnd, layers), r0 = prog.ResStart, r1 = Math.Min(prog.ResEnd, numRes);
            switch (prog.Order)
            {
                case 0: // LRCP
                    for (var l = 0; l < l1 && !stop; l++)
                    for (var r = r0; r < r1; r++)
                    for (var k = 0; k < ctx.Res[r].Pw * ctx.Res[r].Ph; k++)
                        Packet(l, r, k, ref bodyPos, ref hdrPos, body, headers);
                    break;
                case 1: // RLCP
                    for (var r = r0; r < r1 && !stop; r++)
                    for (var l = 0; l < l1; l++)
                    for (var k = 0; k < ctx.Res[r].Pw * ctx.Res[r].Ph; k++)
                        Packet(l, r, k, ref bodyPos, ref hdrPos, body, headers);
                    break;
                case 2: // RPCL (one component: precincts in raster order)
                    for (var r = r0; r < r1 && !stop; r++)
                    for (var k = 0; k < ctx.Res[r].Pw * ctx.Res[r].Ph; k++)
                    for (var l = 0; l < l1; l++)
                        Packet(l, r, k, ref bodyPos, ref hdrPos, body, headers);
                    break;
                default: // PCRL, CPRL (the same with one component): by position on the reference grid
                    var list = PositionOrder(s, ctx, numRes - 1, r0, r1, l1, tx0, ty0, tx1, ty1);
                    foreach (var (l, r, k) in list) Packet(l, r, k, ref bodyPos, ref hdrPos, body, headers);
                    break;
            }
        }
    }

    /// <summary>Packets in position order (PCRL / CPRL), B.12.1.4, for the tile's one component.</summary>
    private static List<(int L, int R, int K)> PositionOrder(J2kCodestream s, Context ctx, int nl, int r0, int r1, int l1,
        long tx0, long ty0, long tx1, long ty1)
    {
        var list = new List<(int L, int R, int K)>();
        var res = ctx.Res;
        long stepX = long.MaxValue, stepY = long.MaxValue;
        for (var r = r0; r < r1; r++)
        {
            var level = nl - r;
            var ex = Math.Min(res[r].PpxExp + level, 40);
            var ey = Math.Min(res[r].PpyExp + level, 40);
            stepX = Math.Min(stepX, (long)s.Dx << ex);
            stepY = Math.Min(stepY, (long)s.Dy << ey);
        }
        if (stepX == long.MaxValue) return list;
        for (var y = ty0; y < ty1; y += stepY - y % stepY)
        for (var x = tx0; x < tx1; x += stepX - x % stepX)
        for (var r = r0; r < r1; r++)
        {
            ref var rr = ref res[r];
            if (rr.Pw == 0 || rr.Ph == 0) continue;
            var level = nl - r;
            var rpx = Math.Min(rr.PpxExp + level, 40);
            var rpy = Math.Min(rr.PpyExp + level, 40);
            if (!(y % ((long)s.Dy << rpy) == 0 || (y == ty0 && (((long)rr.Y0 << level) % (1L << rpy)) != 0))) continue;
            if (!(x % ((long)s.Dx << rpx) == 0 || (x == tx0 && (((long)rr.X0 << level) % (1L << rpx)) != 0))) continue;
            var prci = FloorDivPow2(CeilDivLong(x, (long)s.Dx << level), rr.PpxExp) - FloorDivPow2(rr.X0, rr.PpxExp);
            var prcj = FloorDivPow2(CeilDivLong(y, (long)s.Dy << level), rr.PpyExp) - FloorDivPow2(rr.Y0, rr.PpyExp);
            if (prci < 0 || prcj < 0 || prci >= rr.Pw || prcj >= rr.Ph) continue;
            var k = (int)(prci + prcj * rr.Pw);
            for (var l = 0; l < l1; l++) list.Add((l, r, k));
        }
        return list;
    }

    private static long CeilDivLong(long a, long b) => (a + b - 1) / b;

    private static void ReadPacket(J2kCodestream s, TileParameters p, Context ctx, int r, int k, int layer,
        ReadOnlySpan<byte> body, ref int bodyPos, ReadOnlySpan<byte> headers, ref int hdrPos, bool packedHeaders)
    {
        // SOP marker segment in the body.
        if ((p.Scod & 2) != 0 && bodyPos + 6 <= body.Length && body[bodyPos] == 0xFF && body[bodyPos + 1] == 0x91)
            bodyPos += 6;
        var hdr = packedHeaders ? headers : body;
        var br = new BitReader(hdr, packedHeaders ? hdrPos : bodyPos);
        ref var res = ref ctx.Res[r];
        var cbStyle = p.Style.CbStyle;
        var touched = 0;
        if (br.Bit() != 0)
        {
            for (var bi = 0; bi < res.BandCount; bi++)
            {
                ref var band = ref ctx.Bands[res.BandStart + bi];
                if (band.Empty) continue;
                ref var pb = ref ctx.Precincts[band.PrecStart + k];
                var n = pb.Cw * pb.Ch;
                for (var i = 0; i < n; i++)
                {
                    var cbIndex = pb.CbStart + i;
                    ref var cb = ref ctx.Blocks[cbIndex];
                    bool included;
                    if (!cb.Included) included = TagDecode(ctx, ref br, pb.InclTree + i, layer + 1);
                    else included = br.Bit() != 0;
                    if (!included) continue;
                    if (!cb.Included)
                    {
                        // The value in one walk: the bits are those of raising the threshold one by one (a node's
                        // bits follow its ancestors' once they are known), without walking the path each time.
                        if (!TagDecode(ctx, ref br, pb.ZbpTree + i, 75))
                            throw s.Error("a code-block's zero bit-plane count is beyond any image", br.Pos);
                        var zbp = ctx.TagValue[pb.ZbpTree + i];
                        cb.Numbps = band.Mb - zbp;
                        cb.Lblock = 3;
                        cb.Included = true;
                    }
                    int passes;
                    if (br.Bit() == 0) passes = 1;
                    else if (br.Bit() == 0) passes = 2;
                    else
                    {
                        var v = (int)br.Bits(2);
                        if (v != 3) passes = 3 + v;
                        else
                        {
                            v = (int)br.Bits(5);
                            passes = v != 31 ? 6 + v : 37 + (int)br.Bits(7);
                        }
                    }
                    while (br.Bit() != 0)
                        if (++cb.Lblock > 32) throw s.Error("a code-block length indicator is beyond 32 bits", br.Pos);
                    if (cb.Passes + passes > 255) throw s.Error("a code-block has more than 255 coding passes", br.Pos);
                    // Distribute the new passes over segments (B.10.7.2 and the termination rules of D.4 / D.6).
                    int seg;
                    if (cb.NumSegs == 0) seg = NewSegment(ctx, ref cb, cbStyle, true);
                    else
                    {
                        seg = cb.SegTail;
                        if (ctx.Segments[seg].Passes == ctx.Segments[seg].MaxPasses) seg = NewSegment(ctx, ref cb, cbStyle, false);
                    }
                    var left = passes;
                    while (true)
                    {
                        ref var sg = ref ctx.Segments[seg];
                        var take = Math.Min(sg.MaxPasses - sg.Passes, left);
                        sg.NewPasses = take;
                        var bits = cb.Lblock + (31 - System.Numerics.BitOperations.LeadingZeroCount((uint)take));
                        if (bits > 32) throw s.Error("a code-block segment length is beyond 32 bits", br.Pos);
                        var len = br.Bits(bits);
                        if (len > int.MaxValue / 2) throw s.Error("a code-block segment is longer than the code stream", br.Pos);
                        sg.NewLength = (int)len;
                        left -= take;
                        if (left <= 0) break;
                        seg = NewSegment(ctx, ref cb, cbStyle, false);
                    }
                    cb.Passes += passes;
                    Grow(ref ctx.Touched, touched + 1);
                    ctx.Touched[touched++] = cbIndex;
                }
            }
        }
        br.Align();
        var hp = br.Pos;
        if (hp > hdr.Length) throw s.Error($"a packet header runs past the end of the {(packedHeaders ? "packed headers" : "tile data")}", hdr.Length);
        // EPH marker after the header.
        if ((p.Scod & 4) != 0 && hp + 2 <= hdr.Length && hdr[hp] == 0xFF && hdr[hp + 1] == 0x92) hp += 2;
        if (packedHeaders) hdrPos = hp;
        else bodyPos = hp;
        // Packet body: the new bytes of each segment, in header order.
        for (var t = 0; t < touched; t++)
        {
            ref var cb = ref ctx.Blocks[ctx.Touched[t]];
            for (var seg = cb.SegHead; seg >= 0; seg = ctx.Segments[seg].Next)
            {
                ref var sg = ref ctx.Segments[seg];
                if (sg.NewPasses == 0) continue;
                var len = sg.NewLength;
                if (len > body.Length - bodyPos)
                    throw s.Error($"a packet body needs {len} bytes, {body.Length - bodyPos} are left in the tile", bodyPos);
                if (len > 0)
                {
                    Grow(ref ctx.Chunks, ctx.NumChunks + 1);
                    var ci = ctx.NumChunks++;
                    ctx.Chunks[ci] = new Chunk { Offset = bodyPos, Length = len, Next = -1 };
                    if (cb.ChunkTail >= 0) ctx.Chunks[cb.ChunkTail].Next = ci;
                    else cb.ChunkHead = ci;
                    cb.ChunkTail = ci;
                    cb.DataLength += len;
                }
                bodyPos += len;
                sg.Length += len;
                sg.Passes += sg.NewPasses;
                sg.NewPasses = 0;
                sg.NewLength = 0;
            }
        }
    }

    private static int NewSegment(Context ctx, ref CodeBlock cb, int cbStyle, bool first)
    {
        Grow(ref ctx.Segments, ctx.NumSegments + 1);
        var index = ctx.NumSegments++;
        int max;
        if ((cbStyle & Tier1.StyleTermAll) != 0) max = 1;
        else if ((cbStyle & Tier1.StyleBypass) != 0)
        {
            if (first) max = 10;
            else
            {
                var prev = ctx.Segments[cb.SegTail].MaxPasses;
                max = prev is 1 or 10 ? 2 : 1;
            }
        }
        else max = 109;
        ctx.Segments[index] = new Segment { MaxPasses = max, Next = -1 };
        if (cb.SegTail >= 0) ctx.Segments[cb.SegTail].Next = index;
        else cb.SegHead = index;
        cb.SegTail = index;
        cb.NumSegs++;
        return index;
    }

    private static void DecodeBlocks(J2kCodestream s, TileParameters p, Context ctx, int numRes, int* tileBuf, int tw, long tileSize,
        ReadOnlySpan<byte> body)
    {
        var t1 = ctx.T1;
        var reversible = p.Style.Transform == 1;
        var roi = p.RoiShift;
        Span<int> segLens = stackalloc int[256];
        Span<int> segPasses = stackalloc int[256];
        var fbuf = (float*)tileBuf;
        for (var r = 0; r < numRes; r++)
        {
            ref var res = ref ctx.Res[r];
            for (var bi = 0; bi < res.BandCount; bi++)
            {
                ref var band = ref ctx.Bands[res.BandStart + bi];
                if (band.Empty) continue;
                var nprec = res.Pw * res.Ph;
                for (var k = 0; k < nprec; k++)
                {
                    ref var pb = ref ctx.Precincts[band.PrecStart + k];
                    var n = pb.Cw * pb.Ch;
                    for (var i = 0; i < n; i++)
                    {
                        ref var cb = ref ctx.Blocks[pb.CbStart + i];
                        if (cb.Passes == 0 || cb.DataLength == 0 && cb.NumSegs == 0) continue;
                        if (cb.Numbps < 0) throw s.Error($"a code-block has more zero bit-planes than its sub-band has bit-planes ({band.Mb})", 0);
                        if (roi + cb.Numbps >= 31)
                            throw s.Error($"a code-block has {roi + cb.Numbps} bit-planes; OpenJPEG, and so ecCodes, decode at most 30", 0);
                        // Gather the code-block's bytes (two spare bytes behind for the end marker).
                        var need = cb.DataLength + 2;
                        if (ctx.CbData.Length < need) ctx.CbData = GC.AllocateArray<byte>(Math.Max(need, ctx.CbData.Length * 2), pinned: true);
                        var at = 0;
                        for (var c = cb.ChunkHead; c >= 0; c = ctx.Chunks[c].Next)
                        {
                            ref var ch = ref ctx.Chunks[c];
                            body.Slice(ch.Offset, ch.Length).CopyTo(ctx.CbData.AsSpan(at));
                            at += ch.Length;
                        }
                        ctx.CbData[at] = 0;
                        ctx.CbData[at + 1] = 0;
                        var ns = 0;
                        for (var sg = cb.SegHead; sg >= 0 && ns < 256; sg = ctx.Segments[sg].Next)
                        {
                            if (ctx.Segments[sg].Passes == 0) continue;
                            segLens[ns] = ctx.Segments[sg].Length;
                            segPasses[ns] = ctx.Segments[sg].Passes;
                            ns++;
                        }
                        int w = cb.X1 - cb.X0, h = cb.Y1 - cb.Y0;
                        fixed (byte* data = ctx.CbData)
                            t1.Decode(data, segLens[..ns], segPasses[..ns], w, h, band.Orient, cb.Numbps, roi, p.Style.CbStyle);
                        var src = t1.Data;
                        if (roi > 0)
                        {
                            var count = w * h;
                            if (roi >= 31) new Span<int>(src, count).Clear();
                            else
                            {
                                var thresh = 1 << roi;
                                for (var j = 0; j < count; j++)
                                {
                                    var v = src[j];
                                    var mag = Math.Abs(v);
                                    if (mag >= thresh) src[j] = v < 0 ? -(mag >> roi) : mag >> roi;
                                }
                            }
                        }
                        int bx = band.OffX + cb.X0 - band.X0, by = band.OffY + cb.Y0 - band.Y0;
                        if (bx < 0 || by < 0 || bx + w > tw || (long)(by + h) * tw > tileSize)
                            throw s.Error("a code-block lies outside its tile", 0);
                        var dst = (long)by * tw + bx;
                        if (reversible)
                            for (var y = 0; y < h; y++) HalveRow(tileBuf + dst + (long)y * tw, src + y * w, w);
                        else
                            for (var y = 0; y < h; y++) ScaleRow(fbuf + dst + (long)y * tw, src + y * w, w, band.Step);
                    }
                }
            }
        }
    }

    /// <summary>The code-block's coefficients without their extra fractional bit (C division: towards zero).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // Vector256: see Dwt
    private static void HalveRow(int* d, int* sp, int w)
    {
        var x = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; x <= w - 8; x += 8)
            {
                var v = Vector256.Load(sp + x);
                Vector256.Store(Vector256.ShiftRightArithmetic(v + Vector256.ShiftRightLogical(v, 31), 1), d + x);
            }
        for (; x < w; x++) d[x] = sp[x] / 2;
    }

    /// <summary>Dequantised coefficients for the 9/7: int to float, times the half step (OpenJPEG's order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // Vector256: see Dwt
    private static void ScaleRow(float* d, int* sp, int w, float step)
    {
        var x = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vs = Vector256.Create(step);
            for (; x <= w - 8; x += 8) Vector256.Store(Vector256.ConvertToSingle(Vector256.Load(sp + x)) * vs, d + x);
        }
        for (; x < w; x++) d[x] = sp[x] * step;
    }

    private static void InverseTransform(Context ctx, int nl, bool reversible, int* buf, int tw)
    {
        var maxW = 0;
        var maxH = 0;
        for (var r = 0; r <= nl; r++)
        {
            maxW = Math.Max(maxW, ctx.Res[r].X1 - ctx.Res[r].X0);
            maxH = Math.Max(maxH, ctx.Res[r].Y1 - ctx.Res[r].Y0);
        }
        const int block = 64;
        var tmpArray = ArrayPool<int>.Shared.Rent(Math.Max(maxW, maxH * block) + 16);
        try
        {
            fixed (int* tmp = tmpArray)
                for (var r = 1; r <= nl; r++)
                {
                    ref var res = ref ctx.Res[r];
                    ref var prev = ref ctx.Res[r - 1];
                    int rw = res.X1 - res.X0, rh = res.Y1 - res.Y0, lw = prev.X1 - prev.X0, lh = prev.Y1 - prev.Y0;
                    if (reversible) Dwt.Inverse53(buf, tw, rw, rh, lw, lh, res.X0 & 1, res.Y0 & 1, tmp, block);
                    else Dwt.Inverse97((float*)buf, tw, rw, rh, lw, lh, res.X0 & 1, res.Y0 & 1, (float*)tmp, block);
                }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(tmpArray);
        }
    }

    private static void LevelShift(J2kCodestream s, bool reversible, int* buf, int n)
    {
        var prec = s.Precision;
        int min, max, shift;
        if (s.Signed)
        {
            min = -(1 << (prec - 1));
            max = (1 << (prec - 1)) - 1;
            shift = 0;
        }
        else
        {
            min = 0;
            max = (int)((1u << prec) - 1);
            shift = 1 << (prec - 1);
        }
        if (reversible)
        {
            for (var i = 0; i < n; i++)
            {
                var v = buf[i] + shift;
                buf[i] = v < min ? min : v > max ? max : v;
            }
        }
        else
        {
            var f = (float*)buf;
            for (var i = 0; i < n; i++)
            {
                var x = f[i];
                int v;
                if (x > int.MaxValue) v = max;
                else if (x < int.MinValue) v = min;
                else v = (int)Math.Clamp((long)MathF.Round(x) + shift, min, max);
                buf[i] = v;
            }
        }
    }
}
