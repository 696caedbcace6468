using Pipeline.Cli;

return await CtlCommand.Build().Parse(args).InvokeAsync();
