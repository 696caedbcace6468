using System.Buffers.Binary;

namespace Pipeline.Grib2.Scanning;

/// <summary>Section 0 to 8 parsing with strict length checks.</summary>
internal static class MessageScanner
{
    internal static ReadOnlySpan<byte> Magic => "GRIB"u8;
    internal static ReadOnlySpan<byte> End => "7777"u8;

    public static IReadOnlyList<GribMessage> Scan(ReadOnlyMemory<byte> data, long baseOffset, Action<string>? warn)
    {
        var list = new List<GribMessage>();
        var span = data.Span;
        var pos = 0;
        while (pos <= span.Length - 4)
        {
            var found = span[pos..].IndexOf(Magic);
            if (found < 0) break;
            pos += found;
            var offset = baseOffset + pos;
            if (span.Length - pos < 8)
                throw new GribFormatException($"'GRIB' found but only {span.Length - pos} bytes follow; section 0 needs 16", offset, 0);
            var edition = span[pos + 7];
            if (edition == 1)
            {
                var len1 = (span[pos + 4] << 16) | (span[pos + 5] << 8) | span[pos + 6];
                warn?.Invoke($"GRIB edition 1 message at offset {offset} skipped (this reader handles edition 2)");
                pos += len1 >= 8 && len1 <= span.Length - pos ? len1 : 4;
                continue;
            }
            if (edition != 2)
            {
                warn?.Invoke($"'GRIB' at offset {offset} is followed by edition {edition}, not 1 or 2: skipped");
                pos += 4;
                continue;
            }
            var length = MessageLength(span[pos..], offset);
            list.Add(ParseOne(data.Slice(pos, (int)length), offset));
            pos += (int)length;
        }
        return list;
    }

    /// <summary>Validates section 0 and returns the total length of the message that starts at <paramref name="s"/>.</summary>
    internal static long MessageLength(ReadOnlySpan<byte> s, long offset)
    {
        if (s.Length < 16)
            throw new GribFormatException($"truncated: section 0 needs 16 bytes, {s.Length} remain", offset, 0);
        var length = BinaryPrimitives.ReadUInt64BigEndian(s[8..]);
        if (length < 16 + 21 + 4)
            throw new GribFormatException($"total length {length} is too small for a GRIB2 message", offset, 0);
        if (length > (ulong)s.Length)
            throw new GribFormatException(
                $"truncated: total length {length} runs past the end of the data ({s.Length} bytes remain)", offset, 0);
        if (length > int.MaxValue)
            throw new GribFormatException($"total length {length} is larger than this reader supports (2 GiB)", offset, 0);
        return (long)length;
    }

    public static GribMessage ParseOne(ReadOnlyMemory<byte> bytes, long offset)
    {
        var s = bytes.Span;
        if (s.Length < 4 || !s[..4].SequenceEqual(Magic))
            throw new GribFormatException("does not start with 'GRIB'", offset, 0);
        if (s.Length >= 8 && s[7] != 2)
            throw new GribFormatException($"edition {s[7]} is not GRIB2", offset, 0);
        var length = (int)MessageLength(s, offset);
        bytes = bytes[..length];
        s = bytes.Span;
        if (!s[(length - 4)..].SequenceEqual(End))
            throw new GribFormatException("missing '7777' at the end of the message (section 8)", offset + length - 4, 8);
        var discipline = s[6];
        var endOfSections = length - 4;

        var pos = 16;
        var (len1, num1) = ReadHeader(s, pos, endOfSections, offset);
        if (num1 != 1)
            throw new GribFormatException($"expected section 1 after section 0, found section {num1}", offset + pos, num1);
        var section1 = bytes.Slice(pos, len1);
        var message = new GribMessage(offset, bytes, discipline, Identification.Parse(section1.Span, offset + pos), section1);
        pos += len1;

        var fields = new List<GribField>();
        ReadOnlyMemory<byte> s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, bitmap = default;
        long o2 = -1, o3 = -1, o4 = -1, o5 = -1, o6 = -1;
        var last = 1;
        while (pos < endOfSections)
        {
            var (len, num) = ReadHeader(s, pos, endOfSections, offset);
            var at = offset + pos;
            if (!Allowed(last, num))
                throw new GribFormatException($"section {num} cannot follow section {last}", at, num);
            var section = bytes.Slice(pos, len);
            var span = section.Span;
            switch (num)
            {
                case 2:
                    s2 = section; o2 = at;
                    break;
                case 3:
                    Need(span, 14, at, 3);
                    s3 = section; o3 = at;
                    break;
                case 4:
                    Need(span, 9, at, 4);
                    s4 = section; o4 = at;
                    break;
                case 5:
                    Need(span, 11, at, 5);
                    s5 = section; o5 = at;
                    break;
                case 6:
                    Need(span, 6, at, 6);
                    s6 = section; o6 = at;
                    var indicator = span[5];
                    if (indicator == 0)
                    {
                        var points = Be.U32(s3.Span, 6);
                        if ((ulong)(len - 6) * 8 < points)
                            throw new GribFormatException(
                                $"bitmap has {(long)(len - 6) * 8} bits, the grid has {points} points", at, 6);
                        bitmap = section;
                    }
                    else if (indicator == 254)
                    {
                        if (bitmap.IsEmpty)
                            throw new GribFormatException("bitmap indicator 254 (previous bitmap) but no bitmap precedes it in the message", at, 6);
                        var points = Be.U32(s3.Span, 6);
                        if ((ulong)(bitmap.Length - 6) * 8 < points)
                            throw new GribFormatException(
                                $"the previous bitmap has {(long)(bitmap.Length - 6) * 8} bits, the grid has {points} points", at, 6);
                    }
                    break;
                case 7:
                    var field = new GribField(message, fields.Count, s2, s3, s4, s5, s6, section,
                        s6.Span[5] == 0 ? s6 : s6.Span[5] == 254 ? bitmap : default,
                        new SectionOffsets(o3, o4, o5, o6, at, o2));
                    fields.Add(field);
                    break;
                default:
                    throw new GribFormatException($"unknown section number {num}", at, num);
            }
            last = num;
            pos += len;
        }
        if (last != 7)
            throw new GribFormatException(
                fields.Count == 0 ? "message ends before any section 7 (data)" : $"message ends after section {last}, before section 7",
                offset + pos, last + 1);
        message.Fields = fields;
        return message;
    }

    private static void Need(ReadOnlySpan<byte> section, int min, long at, int num)
    {
        if (section.Length < min)
            throw new GribFormatException($"section {num} is {section.Length} bytes, at least {min} are needed", at, num);
    }

    /// <summary>Section order: 1 (2) 3 4 5 6 7, then repeat from 2, 3 or 4.</summary>
    private static bool Allowed(int last, int next) => next switch
    {
        2 => last is 1 or 7,
        3 => last is 1 or 2 or 7,
        4 => last is 3 or 7,
        5 => last == 4,
        6 => last == 5,
        7 => last == 6,
        _ => false,
    };

    private static (int Length, int Number) ReadHeader(ReadOnlySpan<byte> s, int pos, int endOfSections, long offset)
    {
        if (endOfSections - pos < 5)
        {
            if (s.Length - pos >= 4 && s.Slice(pos, 4).SequenceEqual(End))
                throw new GribFormatException("'7777' found before the end given by the total length", offset + pos, 8);
            throw new GribFormatException($"only {endOfSections - pos} bytes before '7777', a section header needs 5", offset + pos);
        }
        var len = Be.U32(s, pos);
        var num = s[pos + 4];
        if (len < 5)
            throw new GribFormatException($"section length {len} is smaller than its own header", offset + pos, num);
        if (len > (uint)(endOfSections - pos))
            throw new GribFormatException(
                $"section length {len} runs past the end of the message ({endOfSections - pos} bytes remain before '7777')",
                offset + pos, num);
        return ((int)len, num);
    }
}
