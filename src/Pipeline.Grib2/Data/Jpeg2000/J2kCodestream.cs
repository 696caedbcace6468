using System.Buffers.Binary;

namespace Pipeline.Grib2.Data.Jpeg2000;

/// <summary>SPcod / SPcoc: the coding style of the (one) component.</summary>
internal sealed class ComponentStyle
{
    public int Levels, CbWidthExp, CbHeightExp, CbStyle, Transform;
    public bool PrecinctsDefined;
    public byte[] Precincts = []; // per resolution: PPx low nibble, PPy high nibble

    public int PrecinctWidthExp(int r) => PrecinctsDefined ? Precincts[r] & 0xF : 15;
    public int PrecinctHeightExp(int r) => PrecinctsDefined ? Precincts[r] >> 4 : 15;
}

/// <summary>QCD / QCC: quantization style, guard bits and the (exponent, mantissa) per sub-band.</summary>
internal sealed class Quantization
{
    public int Style, GuardBits;
    public int[] Exponents = [];
    public int[] Mantissas = [];
}

/// <summary>One progression order change (POC entry), for component 0.</summary>
internal readonly record struct Progression(int ResStart, int CompStart, int LayerEnd, int ResEnd, int CompEnd, int Order);

/// <summary>The parameters a tile is decoded with: main header defaults overridden by its own tile-part headers.</summary>
internal sealed class TileParameters
{
    public int Scod, Order, Layers;
    public ComponentStyle Style = null!;
    public Quantization Quant = null!;
    public int RoiShift;
    public List<Progression>? Progressions;
}

/// <summary>A tile's tile-parts: body ranges in the code stream, and packed packet headers (PPT / PPM) if any.</summary>
internal sealed class TileData
{
    public int Index;
    public readonly List<(int Start, int Length)> Parts = [];
    public TileParameters Parameters = null!;
    public byte[]? PackedHeaders;
    // Tile-part header markers (first tile-part only for COD/COC/QCD/QCC/RGN).
    public (int Scod, int Order, int Layers, ComponentStyle Style)? Cod;
    public ComponentStyle? Coc;
    public Quantization? Qcd, Qcc;
    public int? Rgn;
    public List<Progression>? Poc;
    public List<byte[]>? Ppt;
}

/// <summary>
/// Reads a JPEG 2000 part-1 code stream (optionally inside a JP2 file): SIZ, COD/COC, QCD/QCC, RGN, POC, PPM/PPT and
/// the tile-parts; TLM, PLM, PLT, CRG and COM are skipped. Every length is checked against the bytes that are there
/// and every size against the field the GRIB message describes, so a damaged stream fails here, before anything
/// is allocated for it.
/// </summary>
internal sealed class J2kCodestream
{
    public int Xsiz, Ysiz, X0siz, Y0siz, XTsiz, YTsiz, XT0siz, YT0siz, Dx, Dy;
    public int Precision;
    public bool Signed;
    public int TilesX, TilesY;
    public readonly Dictionary<int, TileData> Tiles = [];
    public byte[] Stream = [];

    private readonly long at7;
    private int scod, order, layers;
    private ComponentStyle? cod, coc;
    private Quantization? qcd, qcc;
    private int rgn;
    private List<Progression>? poc;
    private List<byte[]>? ppm;

    private J2kCodestream(long at7) => this.at7 = at7;

    public int CompX0 => CeilDiv(X0siz, Dx);
    public int CompY0 => CeilDiv(Y0siz, Dy);
    public int CompWidth => CeilDiv(Xsiz, Dx) - CompX0;
    public int CompHeight => CeilDiv(Ysiz, Dy) - CompY0;

    public static int CeilDiv(int a, int b) => (int)(((long)a + b - 1) / b);

    public GribFormatException Error(string what, int position) =>
        new($"JPEG 2000 code stream: {what} (at code stream byte {position})", at7, 7);

    /// <summary>The code stream itself: <paramref name="data"/>, or the contents of its JP2 'jp2c' box.</summary>
    public static ReadOnlySpan<byte> Unwrap(ReadOnlySpan<byte> data, long at7)
    {
        if (data.Length >= 2 && data[0] == 0xFF && data[1] == 0x4F) return data;
        if (data.Length < 12 || BinaryPrimitives.ReadUInt32BigEndian(data[4..]) != 0x6A502020)
            throw new GribFormatException("section 7 does not start a JPEG 2000 code stream (no SOC marker or JP2 signature)", at7, 7);
        long pos = 0;
        while (pos + 8 <= data.Length)
        {
            long length = BinaryPrimitives.ReadUInt32BigEndian(data[(int)pos..]);
            var type = BinaryPrimitives.ReadUInt32BigEndian(data[(int)(pos + 4)..]);
            long header = 8;
            if (length == 1)
            {
                if (pos + 16 > data.Length) break;
                length = (long)BinaryPrimitives.ReadUInt64BigEndian(data[(int)(pos + 8)..]);
                header = 16;
            }
            else if (length == 0) length = data.Length - pos;
            if (length < header || pos + length > data.Length)
                throw new GribFormatException($"JPEG 2000 JP2 box at byte {pos} has length {length}, beyond the {data.Length} bytes of section 7", at7, 7);
            if (type == 0x6A703263) // 'jp2c'
                return data.Slice((int)(pos + header), (int)(length - header));
            pos += length;
        }
        throw new GribFormatException("the JP2 file in section 7 has no code stream box (jp2c)", at7, 7);
    }

    public static J2kCodestream Parse(ReadOnlySpan<byte> cs, int values, long at7)
    {
        var s = new J2kCodestream(at7);
        s.ParseMain(cs, values);
        return s;
    }

    private static int U16(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt16BigEndian(b[at..]);
    private static uint U32(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt32BigEndian(b[at..]);

    private void ParseMain(ReadOnlySpan<byte> cs, int values)
    {
        if (cs.Length < 2 || cs[0] != 0xFF || cs[1] != 0x4F) throw Error("no SOC marker", 0);
        var pos = 2;
        var sawSiz = false;
        while (true)
        {
            if (pos + 4 > cs.Length) throw Error("the main header ends before the first tile-part (SOT)", pos);
            var marker = U16(cs, pos);
            if (marker == 0xFF90) break;
            if (marker < 0xFF30) throw Error($"0x{marker:X4} where a marker was expected", pos);
            var len = U16(cs, pos + 2);
            if (len < 2 || pos + 2 + len > cs.Length) throw Error($"marker 0x{marker:X4} has length {len}, beyond the code stream", pos);
            var seg = cs.Slice(pos + 4, len - 2);
            if (!sawSiz && marker != 0xFF51) throw Error($"marker 0x{marker:X4} before SIZ", pos);
            switch (marker)
            {
                case 0xFF51:
                    ParseSiz(seg, values, pos);
                    sawSiz = true;
                    break;
                case 0xFF52:
                    var c = ParseCod(seg, pos);
                    (scod, order, layers, cod) = c;
                    break;
                case 0xFF53:
                    if (ParseCoc(seg, pos) is { } cc) coc = cc;
                    break;
                case 0xFF5C:
                    qcd = ParseQuant(seg, pos);
                    break;
                case 0xFF5D:
                    if (seg.Length < 1) throw Error("QCC is empty", pos);
                    if (seg[0] == 0) qcc = ParseQuant(seg[1..], pos);
                    break;
                case 0xFF5E:
                    if (ParseRgn(seg, pos) is { } r) rgn = r;
                    break;
                case 0xFF5F:
                    (poc ??= []).AddRange(ParsePoc(seg, pos));
                    break;
                case 0xFF60:
                    if (seg.Length < 1) throw Error("PPM is empty", pos);
                    (ppm ??= []).Add(seg[1..].ToArray());
                    break;
            }
            pos += 2 + len;
        }
        if (cod is null) throw Error("the main header has no COD marker", pos);
        if (qcd is null && qcc is null) throw Error("the main header has no QCD marker", pos);
        ParseTileParts(cs, pos);
    }

    private void ParseSiz(ReadOnlySpan<byte> seg, int values, int pos)
    {
        if (seg.Length < 38) throw Error("SIZ is too short", pos);
        long xsiz = U32(seg, 2), ysiz = U32(seg, 6), x0 = U32(seg, 10), y0 = U32(seg, 14);
        long xt = U32(seg, 18), yt = U32(seg, 22), xt0 = U32(seg, 26), yt0 = U32(seg, 30);
        var comps = U16(seg, 34);
        if (comps != 1)
            throw Error($"the image has {comps} components (GRIB uses 1 grey component)", pos);
        if (seg.Length < 36 + 3 * comps) throw Error("SIZ is too short for its components", pos);
        if (xsiz > int.MaxValue || ysiz > int.MaxValue || x0 >= xsiz || y0 >= ysiz)
            throw Error($"the image area {x0}..{xsiz} x {y0}..{ysiz} is empty or too large", pos);
        if (xt == 0 || yt == 0 || xt0 > x0 || yt0 > y0 || xt0 + xt <= x0 || yt0 + yt <= y0)
            throw Error("the tile size or tile origin is not valid", pos);
        int ssiz = seg[36], dx = seg[37], dy = seg[38];
        if (dx == 0 || dy == 0) throw Error("component subsampling is zero", pos);
        Xsiz = (int)xsiz; Ysiz = (int)ysiz; X0siz = (int)x0; Y0siz = (int)y0;
        XTsiz = (int)Math.Min(xt, int.MaxValue); YTsiz = (int)Math.Min(yt, int.MaxValue); XT0siz = (int)xt0; YT0siz = (int)yt0;
        Dx = dx; Dy = dy;
        Precision = (ssiz & 0x7F) + 1;
        Signed = (ssiz & 0x80) != 0;
        if (Precision > 31) throw Error($"{Precision}-bit samples (at most 31 are supported)", pos);
        long w = CompWidth, h = CompHeight;
        if (w * h != values)
            throw Error($"the image is {w}x{h}, section 5 says {values} values", pos);
        long tx = (xsiz - xt0 + xt - 1) / xt, ty = (ysiz - yt0 + yt - 1) / yt;
        if (tx * ty > values) throw Error($"the image has {tx * ty} tiles for {values} values", pos);
        TilesX = (int)tx; TilesY = (int)ty;
    }

    private (int Scod, int Order, int Layers, ComponentStyle Style) ParseCod(ReadOnlySpan<byte> seg, int pos)
    {
        if (seg.Length < 5) throw Error("COD is too short", pos);
        int sc = seg[0], ord = seg[1], lay = U16(seg, 2);
        if (ord > 4) throw Error($"progression order {ord} is not defined", pos);
        if (lay == 0) throw Error("COD announces 0 layers", pos);
        return (sc, ord, lay, ParseSpcod(seg[5..], (sc & 1) != 0, pos));
    }

    private ComponentStyle ParseSpcod(ReadOnlySpan<byte> sp, bool precincts, int pos)
    {
        if (sp.Length < 5) throw Error("coding style parameters are too short", pos);
        var style = new ComponentStyle
        {
            Levels = sp[0], CbWidthExp = (sp[1] & 0xF) + 2, CbHeightExp = (sp[2] & 0xF) + 2, CbStyle = sp[3],
            Transform = sp[4], PrecinctsDefined = precincts,
        };
        if (style.Levels > 32) throw Error($"{style.Levels} decomposition levels (at most 32)", pos);
        if (style.CbWidthExp > 10 || style.CbHeightExp > 10 || style.CbWidthExp + style.CbHeightExp > 12)
            throw Error($"code-block size 2^{style.CbWidthExp} x 2^{style.CbHeightExp} is not allowed", pos);
        if (style.Transform > 1) throw Error($"wavelet transform {style.Transform} is not defined (0 = 9/7, 1 = 5/3)", pos);
        if ((style.CbStyle & 0x40) != 0) throw Error("high-throughput code-blocks (part 15) are not supported", pos);
        if (precincts)
        {
            if (sp.Length < 5 + style.Levels + 1) throw Error("precinct sizes are missing", pos);
            style.Precincts = sp.Slice(5, style.Levels + 1).ToArray();
            for (var r = 0; r <= style.Levels; r++)
                if (r > 0 && ((style.Precincts[r] & 0xF) == 0 || (style.Precincts[r] >> 4) == 0))
                    throw Error($"precinct size 2^0 at resolution {r}", pos);
        }
        return style;
    }

    private ComponentStyle? ParseCoc(ReadOnlySpan<byte> seg, int pos)
    {
        if (seg.Length < 2) throw Error("COC is too short", pos);
        if (seg[0] != 0) return null;
        return ParseSpcod(seg[2..], (seg[1] & 1) != 0, pos);
    }

    private Quantization ParseQuant(ReadOnlySpan<byte> seg, int pos)
    {
        if (seg.Length < 1) throw Error("QCD is empty", pos);
        var q = new Quantization { Style = seg[0] & 0x1F, GuardBits = seg[0] >> 5 };
        var body = seg[1..];
        switch (q.Style)
        {
            case 0:
                q.Exponents = new int[body.Length];
                q.Mantissas = new int[body.Length];
                for (var i = 0; i < body.Length; i++) q.Exponents[i] = body[i] >> 3;
                break;
            case 1:
            case 2:
                if (body.Length < 2) throw Error("the quantization step size is missing", pos);
                var count = q.Style == 1 ? 1 : body.Length / 2;
                q.Exponents = new int[count];
                q.Mantissas = new int[count];
                for (var i = 0; i < count; i++)
                {
                    var v = U16(body, 2 * i);
                    q.Exponents[i] = v >> 11;
                    q.Mantissas[i] = v & 0x7FF;
                }
                break;
            default:
                throw Error($"quantization style {q.Style} is not defined", pos);
        }
        return q;
    }

    private int? ParseRgn(ReadOnlySpan<byte> seg, int pos)
    {
        if (seg.Length < 3) throw Error("RGN is too short", pos);
        if (seg[1] != 0) throw Error($"ROI style {seg[1]} is not defined", pos);
        return seg[0] == 0 ? seg[2] : null;
    }

    private List<Progression> ParsePoc(ReadOnlySpan<byte> seg, int pos)
    {
        if (seg.Length < 7 || seg.Length % 7 != 0) throw Error("POC length is not a multiple of 7", pos);
        var list = new List<Progression>();
        for (var i = 0; i + 7 <= seg.Length; i += 7)
        {
            var p = new Progression(seg[i], seg[i + 1], U16(seg, i + 2), seg[i + 4], seg[i + 5], seg[i + 6]);
            if (p.Order > 4) throw Error($"POC progression order {p.Order} is not defined", pos);
            list.Add(p);
        }
        return list;
    }

    private void ParseTileParts(ReadOnlySpan<byte> cs, int pos)
    {
        var tiles = TilesX * TilesY;
        var ppmIndex = 0;
        byte[]? ppmAll = ppm is null ? null : ppm.SelectMany(b => b).ToArray();
        var ppmPos = 0;
        while (pos + 2 <= cs.Length)
        {
            var marker = U16(cs, pos);
            if (marker == 0xFFD9) break; // EOC
            if (marker != 0xFF90) throw Error($"0x{marker:X4} where a tile-part (SOT) or EOC was expected", pos);
            if (pos + 12 > cs.Length) throw Error("SOT is cut short", pos);
            var tileIndex = U16(cs, pos + 4);
            long psot = U32(cs, pos + 6);
            var sotAt = pos;
            if (tileIndex >= tiles) throw Error($"tile-part of tile {tileIndex}, the image has {tiles} tiles", pos);
            var end = psot == 0 ? cs.Length : (int)Math.Min(sotAt + psot, int.MaxValue);
            if (psot != 0 && (psot < 14 || sotAt + psot > cs.Length))
            {
                // Some writers get Psot wrong on the last tile-part; take the rest of the stream as OpenJPEG does.
                if (psot >= 14 && end > cs.Length) end = cs.Length;
                else throw Error($"tile-part length {psot} is not valid", pos);
            }
            if (!Tiles.TryGetValue(tileIndex, out var tile)) Tiles[tileIndex] = tile = new TileData { Index = tileIndex };
            var first = tile.Parts.Count == 0;
            pos += 12;
            while (true)
            {
                if (pos + 2 > end) throw Error("the tile-part header has no SOD marker", pos);
                var m = U16(cs, pos);
                if (m == 0xFF93) { pos += 2; break; }
                if (pos + 4 > end) throw Error("the tile-part header is cut short", pos);
                var len = U16(cs, pos + 2);
                if (len < 2 || pos + 2 + len > end) throw Error($"marker 0x{m:X4} has length {len}, beyond its tile-part", pos);
                var seg = cs.Slice(pos + 4, len - 2);
                switch (m)
                {
                    case 0xFF52:
                        if (first) tile.Cod = ParseCod(seg, pos);
                        break;
                    case 0xFF53:
                        if (first && ParseCoc(seg, pos) is { } cc) tile.Coc = cc;
                        break;
                    case 0xFF5C:
                        if (first) tile.Qcd = ParseQuant(seg, pos);
                        break;
                    case 0xFF5D:
                        if (seg.Length < 1) throw Error("QCC is empty", pos);
                        if (first && seg[0] == 0) tile.Qcc = ParseQuant(seg[1..], pos);
                        break;
                    case 0xFF5E:
                        if (first && ParseRgn(seg, pos) is { } r) tile.Rgn = r;
                        break;
                    case 0xFF5F:
                        (tile.Poc ??= []).AddRange(ParsePoc(seg, pos));
                        break;
                    case 0xFF61:
                        if (seg.Length < 1) throw Error("PPT is empty", pos);
                        (tile.Ppt ??= []).Add(seg[1..].ToArray());
                        break;
                    default:
                        if (m < 0xFF30) throw Error($"0x{m:X4} where a marker was expected", pos);
                        break;
                }
                pos += 2 + len;
            }
            tile.Parts.Add((pos, end - pos));
            if (ppmAll is not null)
            {
                // PPM: Nppm (4 bytes) then that many bytes of packet headers per tile-part, in code stream order.
                if (ppmPos + 4 > ppmAll.Length) throw Error("PPM has no packet headers left for this tile-part", sotAt);
                var n = (long)BinaryPrimitives.ReadUInt32BigEndian(ppmAll.AsSpan(ppmPos));
                if (ppmPos + 4 + n > ppmAll.Length) throw Error("PPM packet headers run past the PPM data", sotAt);
                (tile.Ppt ??= []).Add(ppmAll.AsSpan(ppmPos + 4, (int)n).ToArray());
                ppmPos += 4 + (int)n;
                ppmIndex++;
            }
            pos = end;
        }
        if (Tiles.Count != tiles)
            throw Error($"{Tiles.Count} of the {tiles} tiles are in the code stream", pos);
        foreach (var tile in Tiles.Values) tile.Parameters = Resolve(tile);
    }

    private TileParameters Resolve(TileData t)
    {
        var p = new TileParameters
        {
            Scod = t.Cod?.Scod ?? scod,
            Order = t.Cod?.Order ?? order,
            Layers = t.Cod?.Layers ?? layers,
            Style = t.Coc ?? t.Cod?.Style ?? coc ?? cod!,
            Quant = t.Qcc ?? t.Qcd ?? qcc ?? qcd!,
            RoiShift = t.Rgn ?? rgn,
            Progressions = t.Poc ?? poc,
        };
        if (t.Ppt is not null) t.PackedHeaders = t.Ppt.SelectMany(b => b).ToArray();
        var bands = 3 * p.Style.Levels + 1;
        if (p.Quant.Style != 1 && p.Quant.Exponents.Length < bands)
            throw Error($"the quantization marker has {p.Quant.Exponents.Length} step sizes for {bands} sub-bands", 0);
        return p;
    }
}
