using System.CommandLine;
using Pipeline.Host.Commands;

namespace Pipeline.Host;

/// <summary>The <c>pipeline</c> command line: one root, one subcommand per feature.</summary>
public static class PipelineCommand
{
    public static RootCommand Build()
    {
        var root = new RootCommand(
            "PipelineCluster: event-driven ingest of weather and ocean model output " +
            "(broker announcement -> fetch -> GRIB2/NetCDF decode -> Zarr + references -> WIS2 notification).");
        root.Subcommands.Add(ServeCommand.Build());
        root.Subcommands.Add(GribCommands.Build());
        root.Subcommands.Add(ZarrCommands.Build());
        root.Subcommands.Add(DemoCommand.Build());
        root.Subcommands.Add(NetCdfCommands.Build());
        return root;
    }
}
