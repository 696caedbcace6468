namespace Pipeline.Grib2.Scanning;

/// <summary>Reads GRIB2 messages from a forward-only stream, one message in memory at a time.</summary>
internal static class StreamScanner
{
    public static IEnumerable<GribMessage> Read(Stream stream, long baseOffset, Action<string>? warn)
    {
        var window = new byte[16];
        var filled = 0;
        var offset = baseOffset; // offset of window[0]
        while (true)
        {
            filled += Fill(stream, window.AsSpan(filled));
            if (filled < 4) yield break;
            var at = window.AsSpan(0, filled).IndexOf(MessageScanner.Magic);
            if (at < 0)
            {
                // keep the last 3 bytes: 'GRIB' may straddle the window
                var keep = Math.Min(3, filled);
                window.AsSpan(filled - keep, keep).CopyTo(window);
                offset += filled - keep;
                filled = keep;
                if (keep < 3) yield break;
                continue;
            }
            if (at > 0)
            {
                window.AsSpan(at, filled - at).CopyTo(window);
                offset += at;
                filled -= at;
                filled += Fill(stream, window.AsSpan(filled));
            }
            if (filled < 8)
                throw new GribFormatException($"'GRIB' found but only {filled} bytes follow before the end of the stream", offset, 0);
            var edition = window[7];
            if (edition == 1)
            {
                var len1 = (window[4] << 16) | (window[5] << 8) | window[6];
                warn?.Invoke($"GRIB edition 1 message at offset {offset} skipped (this reader handles edition 2)");
                if (len1 >= 16)
                {
                    Skip(stream, len1 - filled);
                    offset += len1;
                    filled = 0;
                }
                else
                {
                    window.AsSpan(4, filled - 4).CopyTo(window);
                    offset += 4;
                    filled -= 4;
                }
                continue;
            }
            if (edition != 2 || filled < 16)
            {
                if (edition == 2)
                    throw new GribFormatException($"truncated: section 0 needs 16 bytes, {filled} remain in the stream", offset, 0);
                warn?.Invoke($"'GRIB' at offset {offset} is followed by edition {edition}, not 1 or 2: skipped");
                window.AsSpan(4, filled - 4).CopyTo(window);
                offset += 4;
                filled -= 4;
                continue;
            }
            var total = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(window.AsSpan(8));
            if (total < 41 || total > int.MaxValue)
                throw new GribFormatException($"total length {total} is not a plausible GRIB2 message length", offset, 0);
            var message = new byte[(int)total];
            window.AsSpan(0, 16).CopyTo(message);
            var got = 16 + Fill(stream, message.AsSpan(16));
            if (got < message.Length)
                throw new GribFormatException(
                    $"truncated: total length {total} but the stream ends after {got} bytes", offset, 0);
            yield return MessageScanner.ParseOne(message, offset);
            offset += message.Length;
            filled = 0;
        }
    }

    private static int Fill(Stream stream, Span<byte> buffer)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = stream.Read(buffer[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    private static void Skip(Stream stream, long count)
    {
        if (count <= 0) return;
        if (stream.CanSeek)
        {
            stream.Seek(Math.Min(count, stream.Length - stream.Position), SeekOrigin.Current);
            return;
        }
        var buffer = new byte[Math.Min(count, 81920)];
        while (count > 0)
        {
            var n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, count));
            if (n == 0) return;
            count -= n;
        }
    }
}
