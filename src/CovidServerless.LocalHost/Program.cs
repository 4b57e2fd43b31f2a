using CovidServerless.LocalHost;

await LocalHostApp.Build(args).RunAsync();
