using Microsoft.Extensions.Options;
using Pipeline.Actors.Catalog;

namespace Pipeline.Host.Configuration;

/// <summary>Validates <see cref="PipelineSettings"/> at start; every failure names its configuration key.</summary>
public sealed class PipelineSettingsValidator : IValidateOptions<PipelineSettings>
{
    /// <summary>The compiled catalog of <c>Pipeline:Datasets</c>; errors name keys like <c>Pipeline:Datasets:0:Id</c>.</summary>
    public static DatasetCatalog Catalog(PipelineSettings options) =>
        DatasetCatalog.Create(new DatasetCatalogOptions { Datasets = options.Datasets }, "Pipeline");

    public ValidateOptionsResult Validate(string? name, PipelineSettings options)
    {
        var errors = new List<string>();
        const string node = PipelineSettings.Section + ":Node:";
        const string management = PipelineSettings.Section + ":Management:";

        if (string.IsNullOrWhiteSpace(options.Node.SystemName) || !options.Node.SystemName.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            errors.Add($"{node}SystemName must be letters, digits, '-' or '_' (got '{options.Node.SystemName}')");
        if (string.IsNullOrWhiteSpace(options.Node.Hostname))
            errors.Add($"{node}Hostname must be set");
        if (options.Node.Port is < 0 or > 65535)
            errors.Add($"{node}Port must be between 0 and 65535 (got {options.Node.Port})");
        if (options.Node.Port == 0 && options.Node.SeedNodes.Count > 0)
            errors.Add($"{node}Port must be fixed (not 0) when {node}SeedNodes are given");
        for (var i = 0; i < options.Node.SeedNodes.Count; i++)
        {
            var seed = options.Node.SeedNodes[i];
            if (!Uri.TryCreate(seed, UriKind.Absolute, out var uri) || uri.Scheme != "akka.tcp" || uri.Port <= 0 || string.IsNullOrEmpty(uri.UserInfo))
                errors.Add($"{node}SeedNodes:{i} must look like akka.tcp://{options.Node.SystemName}@host:port (got '{seed}')");
            else if (uri.UserInfo != options.Node.SystemName)
                errors.Add($"{node}SeedNodes:{i} names actor system '{uri.UserInfo}' but {node}SystemName is '{options.Node.SystemName}'");
        }
        if (options.Node.SplitBrainStableAfter < TimeSpan.FromSeconds(1))
            errors.Add($"{node}SplitBrainStableAfter must be at least 00:00:01 (got {options.Node.SplitBrainStableAfter})");

        var urls = options.Management.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (urls.Length == 0)
            errors.Add($"{management}Urls must name at least one URL");
        foreach (var url in urls)
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
                errors.Add($"{management}Urls has '{url}', which is not an http(s) URL");
        if (options.Management.Token is { Length: > 0 and < 16 })
            errors.Add($"{management}Token must be at least 16 characters (it is {options.Management.Token.Length}); the value is not shown");
        if (options.Management.ReadsRequireToken && string.IsNullOrEmpty(options.Management.Token))
            errors.Add($"{management}ReadsRequireToken is true but {management}Token is not set");
        if (options.Management.AskTimeout <= TimeSpan.Zero)
            errors.Add($"{management}AskTimeout must be positive (got {options.Management.AskTimeout})");

        errors.AddRange(options.Persistence.Errors(PipelineSettings.Section + ":Persistence"));
        if (options.WorkQueueCapacity is < 1 or > 1_000_000)
            errors.Add($"{PipelineSettings.Section}:WorkQueueCapacity must be between 1 and 1000000 (got {options.WorkQueueCapacity})");
        try
        {
            Catalog(options);
        }
        catch (DatasetCatalogException e)
        {
            errors.AddRange(e.Errors);
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
