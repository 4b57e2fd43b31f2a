using CovidServerless.Worker;

await WorkerApp.Build(args).RunAsync();
