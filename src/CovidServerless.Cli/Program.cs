using CovidServerless.Cli;

return await CliApp.RunAsync(args);
