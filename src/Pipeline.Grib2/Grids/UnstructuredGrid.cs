namespace Pipeline.Grib2.Grids;

/// <summary>
/// Template 3.101: a general unstructured grid (ICON and the like). The message names the grid by number and
/// UUID; the coordinates live in a separate grid file, so this grid has none.
/// </summary>
public sealed class UnstructuredGrid : GridDefinition
{
    private UnstructuredGrid(in GridCommon c) : base(c) { }

    public override string GridType => "unstructured_grid";

    public override long Nx => NumberOfDataPoints;

    public override long Ny => 1;

    public override bool HasCoordinates => false;

    public int NumberOfGridUsed { get; private init; }

    public int NumberOfGridInReference { get; private init; }

    public Guid Uuid { get; private init; }

    internal static UnstructuredGrid Read(Octets o, in GridCommon c)
    {
        if (o.Length < 35) throw o.Error($"section 3 is {o.Length} octets; the template needs 35");
        return new UnstructuredGrid(c)
        {
            NumberOfGridUsed = (o.U1(16) << 16) | o.U2(17),
            NumberOfGridInReference = o.U1(19),
            Uuid = new Guid(o.Span.Slice(19, 16), bigEndian: true),
        };
    }

    public override void GetLatLons(Span<double> lat, Span<double> lon) =>
        throw new NotSupportedException(
            $"unstructured grid 3.101 (grid number {NumberOfGridUsed}, uuid {Uuid}) has no coordinates in the message: they are in the producer's grid file");
}
