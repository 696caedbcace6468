using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Pipeline.Zarr;

/// <summary>
/// Pooled buffers for whole fields and chunks (decoded values, the double scratch of a decode, shuffled and compressed
/// chunks): arrays of 1 MiB or more come from a pool bounded to <see cref="PerSize"/> arrays of each size and type,
/// shared by every thread, smaller ones from <see cref="ArrayPool{T}.Shared"/>. The shared pool keeps one array of
/// each size per thread besides its per-core stacks and trims them only after gen2 collections tens of seconds apart, so
/// in a node whose decoding hops between thread-pool threads it held a 0.25 degree field's 4+8+4+4 MiB on every thread
/// that had decoded one (170-250 MB of live large objects after a run); here what is kept is bounded by the number of
/// conversions at once, whatever the threads (a rent beyond <see cref="PerSize"/> arrays of a size may take, and the
/// pool then keep, one of the next size up). An array is returned to the pool it came from (decided by its length).
/// </summary>
public static class FieldBuffers
{
    /// <summary>Arrays of this many bytes or more are pooled here.</summary>
    public const int LargeBytes = 1 << 20;

    /// <summary>Longest array pooled (2^28 elements); longer ones are allocated and dropped.</summary>
    private const int MaxLength = 1 << 28;

    /// <summary>
    /// Arrays kept per size and type: two per core, what the node decodes at once (its ingest, a file per core with one
    /// decode each, and a run's finalization, a decode per core; each holds one buffer of a kind while it encodes).
    /// </summary>
    public static readonly int PerSize = Math.Max(4, 2 * Environment.ProcessorCount);

    public static T[] Rent<T>(int minimumLength) =>
        IsLarge<T>(BitOperations.RoundUpToPowerOf2((uint)Math.Max(minimumLength, 16))) ? Pool<T>.Instance.Rent(minimumLength) : ArrayPool<T>.Shared.Rent(minimumLength);

    public static void Return<T>(T[] array)
    {
        if (IsLarge<T>((uint)array.Length)) Pool<T>.Instance.Return(array);
        else ArrayPool<T>.Shared.Return(array);
    }

    private static bool IsLarge<T>(ulong length) => length * (ulong)Unsafe.SizeOf<T>() >= LargeBytes;

    private static class Pool<T>
    {
        public static readonly ArrayPool<T> Instance = ArrayPool<T>.Create(MaxLength, PerSize);
    }
}
