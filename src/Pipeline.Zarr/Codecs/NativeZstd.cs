using System.Runtime.InteropServices;

namespace Pipeline.Zarr.Codecs;

/// <summary>
/// The system's libzstd (Debian <c>libzstd1</c>, present on every Debian since apt needs it) for compression: about
/// twice as fast as the managed port and with no JIT warm-up, which dominates short conversions. When the library
/// cannot be loaded (or <c>PIPELINE_ZARR_MANAGED_ZSTD=1</c>), <see cref="ZstdCodec"/> uses ZstdSharp instead; both
/// write standard zstd frames with the content size, which numcodecs and zarr-python read. One compression context
/// per thread, reused for every chunk.
/// </summary>
internal static unsafe class NativeZstd
{
    private static readonly Lazy<Api?> Loaded = new(Load);

    [ThreadStatic] private static nint _context;

    /// <summary>Whether the native library is in use.</summary>
    public static bool Available => Loaded.Value is not null;

    /// <summary>The library version (e.g. 10504 for 1.5.4), or 0 when it is not loaded.</summary>
    public static uint Version => Loaded.Value is { } api ? api.VersionNumber() : 0;

    /// <summary>Compresses <paramref name="source"/> into one frame, or returns null when the library is not available.</summary>
    public static byte[]? TryCompress(ReadOnlySpan<byte> source, int level)
    {
        if (Loaded.Value is not { } api) return null;
        if (_context == 0)
        {
            _context = api.CreateCCtx();
            if (_context == 0) throw new OutOfMemoryException("ZSTD_createCCtx failed");
        }
        var bound = api.CompressBound((nuint)source.Length);
        // Compress into a rented buffer of the worst-case size, then copy out exactly what was written.
        var buffer = FieldBuffers.Rent<byte>(checked((int)bound));
        try
        {
            nuint written;
            fixed (byte* src = source)
            fixed (byte* dst = buffer)
            {
                written = api.CompressCCtx(_context, dst, (nuint)buffer.Length, src, (nuint)source.Length, level);
            }
            if (api.IsError(written) != 0)
                throw new InvalidOperationException($"zstd compression of {source.Length} bytes failed: {Marshal.PtrToStringAnsi(api.GetErrorName(written))}");
            return buffer.AsSpan(0, (int)written).ToArray();
        }
        finally
        {
            FieldBuffers.Return(buffer);
        }
    }

    private static Api? Load()
    {
        if (Environment.GetEnvironmentVariable("PIPELINE_ZARR_MANAGED_ZSTD") is "1" or "true") return null;
        foreach (var name in (string[])["libzstd.so.1", "libzstd.so", "libzstd.1.dylib", "libzstd"])
        {
            if (!NativeLibrary.TryLoad(name, typeof(NativeZstd).Assembly, null, out var lib)) continue;
            try
            {
                var api = new Api(
                    (delegate* unmanaged<nuint, nuint>)NativeLibrary.GetExport(lib, "ZSTD_compressBound"),
                    (delegate* unmanaged<nint>)NativeLibrary.GetExport(lib, "ZSTD_createCCtx"),
                    (delegate* unmanaged<nint, byte*, nuint, byte*, nuint, int, nuint>)NativeLibrary.GetExport(lib, "ZSTD_compressCCtx"),
                    (delegate* unmanaged<nuint, uint>)NativeLibrary.GetExport(lib, "ZSTD_isError"),
                    (delegate* unmanaged<nuint, nint>)NativeLibrary.GetExport(lib, "ZSTD_getErrorName"),
                    (delegate* unmanaged<uint>)NativeLibrary.GetExport(lib, "ZSTD_versionNumber"));
                // Frames with the content size and no checksum, as numcodecs and ZstdSharp write them: 1.4 or newer.
                return api.VersionNumber() >= 10400 ? api : null;
            }
            catch (EntryPointNotFoundException)
            {
                return null;
            }
        }
        return null;
    }

    private sealed class Api(
        delegate* unmanaged<nuint, nuint> compressBound,
        delegate* unmanaged<nint> createCCtx,
        delegate* unmanaged<nint, byte*, nuint, byte*, nuint, int, nuint> compressCCtx,
        delegate* unmanaged<nuint, uint> isError,
        delegate* unmanaged<nuint, nint> getErrorName,
        delegate* unmanaged<uint> versionNumber)
    {
        public nuint CompressBound(nuint size) => compressBound(size);
        public nint CreateCCtx() => createCCtx();
        public nuint CompressCCtx(nint cctx, byte* dst, nuint capacity, byte* src, nuint size, int level) => compressCCtx(cctx, dst, capacity, src, size, level);
        public uint IsError(nuint code) => isError(code);
        public nint GetErrorName(nuint code) => getErrorName(code);
        public uint VersionNumber() => versionNumber();
    }
}
