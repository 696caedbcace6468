using Pipeline.Host;

return await PipelineCommand.Build().Parse(args).InvokeAsync();
