using System.Buffers;
using System.IO.MemoryMappedFiles;

namespace Pipeline.Grib2;

/// <summary>
/// A GRIB2 file scanned through a read-only memory mapping instead of a copy on the managed heap: scanning touches
/// only the pages that hold section headers, a field's data is read from the page cache when it is decoded, and no
/// large array is allocated, so holding the messages of many files (a model run being assembled) costs address
/// space, not heap. The messages are valid until <see cref="Dispose"/>: their bytes are the mapping, so nothing
/// derived from them (fields, sections) may be used after it; it must be disposed (there is no finalizer). The file
/// must not be truncated while mapped (a replaced or deleted file is fine: the mapping keeps the old one).
/// </summary>
public sealed class MappedGribFile : IDisposable
{
    private readonly MappedBytes? _bytes;

    private MappedGribFile(string path, MappedBytes? bytes, IReadOnlyList<GribMessage> messages)
    {
        Path = path;
        _bytes = bytes;
        Messages = messages;
    }

    public string Path { get; }

    /// <summary>Every GRIB2 message of the file, as <see cref="GribFile.Read"/> finds them.</summary>
    public IReadOnlyList<GribMessage> Messages { get; }

    /// <summary>Maps <paramref name="path"/> and scans it; a damaged message throws <see cref="GribFormatException"/> and unmaps.</summary>
    public static MappedGribFile Open(string path, Action<string>? warn = null)
    {
        var bytes = MappedBytes.Open(path);
        try
        {
            var messages = GribFile.Scan(bytes?.Memory ?? ReadOnlyMemory<byte>.Empty, 0, warn);
            return new MappedGribFile(path, bytes, messages);
        }
        catch
        {
            bytes?.Release();
            throw;
        }
    }

    public void Dispose() => _bytes?.Release();

    /// <summary>The mapped file as memory: a <see cref="MemoryManager{T}"/> over the view's pointer.</summary>
    private sealed unsafe class MappedBytes : MemoryManager<byte>
    {
        private readonly MemoryMappedFile _file;
        private readonly MemoryMappedViewAccessor _view;
        private readonly byte* _pointer;
        private readonly int _length;
        private int _released;

        private MappedBytes(MemoryMappedFile file, MemoryMappedViewAccessor view, byte* pointer, int length)
        {
            _file = file;
            _view = view;
            _pointer = pointer;
            _length = length;
        }

        /// <summary>Null for an empty file (which cannot be mapped, and holds no message).</summary>
        public static MappedBytes? Open(string path)
        {
            // Others may read, replace or delete the file meanwhile (the fetch cache evicts by deleting), not write it:
            // a page cut off by a truncation would fault when read.
            var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
            MemoryMappedFile? file = null;
            MemoryMappedViewAccessor? view = null;
            try
            {
                var length = stream.Length;
                if (length == 0)
                {
                    stream.Dispose();
                    return null;
                }
                if (length > int.MaxValue) throw new IOException($"'{path}' is {length} bytes: GRIB2 files of 2 GiB or more are not supported");
                file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
                view = file.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
                byte* pointer = null;
                view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
                return new MappedBytes(file, view, pointer + view.PointerOffset, (int)length);
            }
            catch
            {
                view?.Dispose();
                if (file is not null) file.Dispose();
                else stream.Dispose();
                throw;
            }
        }

        public override Span<byte> GetSpan()
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _released) != 0, this);
            return new Span<byte>(_pointer, _length);
        }

        public override MemoryHandle Pin(int elementIndex = 0)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _released) != 0, this);
            ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, _length);
            return new MemoryHandle(_pointer + elementIndex);
        }

        public override void Unpin()
        {
        }

        public void Release() => ((IDisposable)this).Dispose();

        protected override void Dispose(bool disposing)
        {
            // No finalizer (a span of the view may outlive the last reference to it): an owner that does not dispose
            // leaves the file mapped until the process exits.
            if (Interlocked.Exchange(ref _released, 1) != 0) return;
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _file.Dispose();
        }
    }
}
