using CovidServerless.TestSupport;
using CovidServerless.Worker;
using Microsoft.AspNetCore.Builder;

namespace CovidServerless.Functional.Tests;

/// <summary>The local pipeline with scoring offloaded to a scoring worker on 127.0.0.1 (CPU), with in-process fallback.</summary>
public sealed class RemotePipeline : LocalPipeline
{
    /// <summary>
    /// The worker's address: a port the system gives it at first start (binding port 0, so no other process can take it
    /// between choosing and binding, as a port probed free beforehand could be), kept for restarts.
    /// </summary>
    public string WorkerUrl { get; private set; } = "http://127.0.0.1:0";

    public WebApplication? Worker { get; private set; }

    protected override async Task<IDictionary<string, string?>> HostSettingsAsync()
    {
        await StartWorkerAsync();
        return new Dictionary<string, string?>
        {
            ["Scoring:Mode"] = "Remote",
            ["Scoring:RemoteEndpoint"] = WorkerUrl,
            ["Scoring:FallbackToInProcess"] = "true",
            ["Scoring:RemoteTimeoutSeconds"] = "5",
        };
    }

    public async Task StartWorkerAsync()
    {
        Worker = WorkerApp.Build([], new Dictionary<string, string?>
        {
            ["Urls"] = WorkerUrl,
            ["WorkerAuth:DisabledForLocalDevelopment"] = "true", // on loopback; WorkerAuthenticationTests cover tokens
            ["Models:ManifestPath"] = Models.ManifestPath,
            // Long enough for concurrent requests to meet in one batch on a loaded two-core CI machine.
            ["Scoring:MaxBatchDelayMilliseconds"] = "200",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        await Worker.StartAsync();
        WorkerUrl = Worker.Urls.Single();
    }

    public async Task StopWorkerAsync()
    {
        if (Worker is not null)
        {
            await Worker.StopAsync();
            await Worker.DisposeAsync();
            Worker = null;
        }
    }

    public override async Task DisposeAsync()
    {
        await StopWorkerAsync();
        await base.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class RemotePipelineCollection : ICollectionFixture<RemotePipeline>
{
    public const string Name = "remote pipeline";
}
