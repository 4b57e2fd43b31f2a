using CovidServerless.LocalHost;

await LocalHostApp.RunAsync(LocalHostApp.Build(args));
