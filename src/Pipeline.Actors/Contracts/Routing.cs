namespace Pipeline.Actors.Contracts;

/// <summary>
/// The root of every message that is persisted or crosses the network. It binds our
/// <see cref="Serialization.PipelineSerializer"/>; a type that implements it must have a manifest there.
/// </summary>
public interface IPipelineMessage;

/// <summary>Routes to the ModelRun entity of <see cref="RunId"/>.</summary>
public interface IWithModelRunId : IPipelineMessage
{
    ModelRunId RunId { get; }
}

/// <summary>Routes to the DataStream entity of <see cref="DatasetId"/>.</summary>
public interface IWithDatasetId : IPipelineMessage
{
    DatasetId DatasetId { get; }
}

/// <summary>A command or query for a ModelRun entity (replies carry the run id but do not route).</summary>
public interface IModelRunCommand : IWithModelRunId;

/// <summary>A command or query for a DataStream entity.</summary>
public interface IDataStreamCommand : IWithDatasetId;
