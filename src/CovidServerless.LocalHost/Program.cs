using CovidServerless.LocalHost;

try
{
    await LocalHostApp.Build(args).RunAsync();
}
catch (InvalidOperationException ex) when (ex.Message.Contains("timer has already been stopped", StringComparison.Ordinal))
{
    // WebJobs' blob listener can stop its shared queue timer twice during shutdown; the host has stopped.
}
