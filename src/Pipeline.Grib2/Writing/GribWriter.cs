namespace Pipeline.Grib2.Writing;

/// <summary>
/// Appends GRIB2 messages (one field each, see <see cref="GribEncoder"/>) to a stream or file, as NCEP's pgrb files
/// hold many fields one message after another.
/// </summary>
public sealed class GribWriter : IDisposable, IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly bool _leaveOpen;

    /// <summary>Writes to <paramref name="stream"/>; disposes it with the writer unless <paramref name="leaveOpen"/>.</summary>
    public GribWriter(Stream stream, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanWrite) throw new ArgumentException("the stream is not writable", nameof(stream));
        _stream = stream;
        _leaveOpen = leaveOpen;
    }

    /// <summary>Creates (or truncates) the file at <paramref name="path"/>, creating its directory if needed.</summary>
    public static GribWriter Create(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        return new GribWriter(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16));
    }

    /// <summary>Messages written so far.</summary>
    public int MessageCount { get; private set; }

    /// <summary>Bytes written so far.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Encodes and appends one message; returns its length in bytes.</summary>
    public int Write(GribFieldSpec spec, ReadOnlySpan<double> values)
    {
        var length = GribEncoder.Encode(spec, values, _stream);
        MessageCount++;
        BytesWritten += length;
        return length;
    }

    /// <summary>Encodes and appends one message of single-precision values; returns its length in bytes.</summary>
    public int Write(GribFieldSpec spec, ReadOnlySpan<float> values)
    {
        var length = GribEncoder.Encode(spec, values, _stream);
        MessageCount++;
        BytesWritten += length;
        return length;
    }

    public void Dispose()
    {
        _stream.Flush();
        if (!_leaveOpen) _stream.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.FlushAsync().ConfigureAwait(false);
        if (!_leaveOpen) await _stream.DisposeAsync().ConfigureAwait(false);
    }
}
