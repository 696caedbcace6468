namespace Pipeline.NetCdf.References;

/// <summary>Cuts a C-order array into the chunks of a regular grid (edge chunks padded with the fill element).</summary>
internal static class ChunkGrid
{
    public static IEnumerable<(long[] Index, byte[] Raw)> Split(byte[] values, long[] shape, int[] chunks, int size, byte[] fill)
    {
        var rank = shape.Length;
        if (rank == 0)
        {
            yield return ([], values.Length >= size ? values[..size] : Filled(1, size, fill));
            yield break;
        }
        if (shape.Any(s => s == 0)) yield break;
        var counts = new long[rank];
        for (var d = 0; d < rank; d++) counts[d] = (shape[d] + chunks[d] - 1) / chunks[d];
        var strides = new long[rank];
        strides[rank - 1] = 1;
        for (var d = rank - 2; d >= 0; d--) strides[d] = strides[d + 1] * shape[d + 1];
        var chunkElements = chunks.Aggregate(1L, (a, c) => a * c);
        var index = new long[rank];
        var rowsPerChunk = chunkElements / chunks[rank - 1];
        var row = new long[rank - 1];
        while (true)
        {
            var raw = Filled(chunkElements, size, fill);
            // Each row along the last dimension is one contiguous copy.
            for (long r = 0; r < rowsPerChunk; r++)
            {
                var rem = r;
                for (var d = rank - 2; d >= 0; d--) { row[d] = rem % chunks[d]; rem /= chunks[d]; }
                var inside = true;
                long src = 0;
                for (var d = 0; d < rank - 1; d++)
                {
                    var g = index[d] * chunks[d] + row[d];
                    if (g >= shape[d]) { inside = false; break; }
                    src += g * strides[d];
                }
                if (!inside) continue;
                var x0 = index[rank - 1] * chunks[rank - 1];
                var n = Math.Min(chunks[rank - 1], shape[rank - 1] - x0);
                src += x0;
                Buffer.BlockCopy(values, checked((int)(src * size)), raw, checked((int)(r * chunks[rank - 1] * size)), checked((int)(n * size)));
            }
            yield return ((long[])index.Clone(), raw);
            var k = rank - 1;
            while (k >= 0 && ++index[k] == counts[k]) { index[k] = 0; k--; }
            if (k < 0) yield break;
        }
    }

    private static byte[] Filled(long elements, int size, byte[] fill)
    {
        var b = new byte[elements * size];
        if (fill.Any(x => x != 0))
            for (long i = 0; i < elements; i++) fill.CopyTo(b, i * size);
        return b;
    }
}
