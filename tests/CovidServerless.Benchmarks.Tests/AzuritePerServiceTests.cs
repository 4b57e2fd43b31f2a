using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using CovidServerless.Benchmarks;
using CovidServerless.Core;
using CovidServerless.TestSupport;

namespace CovidServerless.Benchmarks.Tests;

/// <summary>
/// Azurite as one process per service, which the GPU bench runs the pipeline against (on many cores one Node.js
/// process is one thread's worth of storage): each service is served by a process of its own, and a burst through the
/// pipeline gets every result with each process's CPU accounted for.
/// </summary>
public sealed class AzuritePerServiceTests : IDisposable
{
    private readonly ModelFolder models = ModelFolder.WithStandardEnsembles();

    [Fact]
    public async Task Each_service_is_served_by_its_own_process()
    {
        await using var azurite = new Azurite { OneProcessPerService = true };
        await azurite.StartAsync();
        var container = new BlobServiceClient(azurite.ConnectionString, new BlobClientOptions { Retry = { MaxRetries = 0 } }).GetBlobContainerClient("scans");
        var queue = new QueueClient(azurite.ConnectionString, "messages", new QueueClientOptions { Retry = { MaxRetries = 0 } });
        var table = new TableClient(azurite.ConnectionString, "rows", new TableClientOptions { Retry = { MaxRetries = 0 } });
        await container.CreateAsync();
        await queue.CreateAsync();
        await table.CreateAsync();

        Assert.Equal(["blob", "queue", "table"], azurite.ProcessIds.Keys.Order());
        Assert.Equal(3, azurite.ProcessIds.Values.Distinct().Count());

        using (var tableProcess = System.Diagnostics.Process.GetProcessById(azurite.ProcessIds["table"]))
        {
            tableProcess.Kill(entireProcessTree: true);
            await tableProcess.WaitForExitAsync();
        }

        await Assert.ThrowsAsync<RequestFailedException>(() => table.AddEntityAsync(new TableEntity("p", "r")));
        await container.UploadBlobAsync("scan.png", BinaryData.FromBytes([1, 2, 3]));
        await queue.SendMessageAsync("still served");
        Assert.Equal([1, 2, 3], (await container.GetBlobClient("scan.png").DownloadContentAsync()).Value.Content.ToArray());
    }

    [Fact]
    public async Task Pipeline_burst_against_one_process_per_service_gets_every_result_and_counts_each_process_cpu()
    {
        var settings = new BenchSettings(Quick: true, models.ManifestPath, JsonPath: null, DataFolder: null, RepoPaths.Root);
        List<(Modality, byte[])> burst = [.. Enumerable.Range(0, 4).Select(i => (ModalityNames.All[i % 2], Samples.For(ModalityNames.All[i % 2], null, 2)[i / 2]))];

        var result = await new StorageBenchmarks(settings).EndToEndAsync(burst, batchInProcess: true, ingestConcurrency: 2, concurrentScans: 2, azuritePerService: true);

        Assert.Equal(burst.Count, result.Scans);
        Figures.FinitePositive(result.SteadyScansPerMinute);
        var azurite = result.AzuriteProcesses;
        Assert.Equal(["blob", "queue", "table"], azurite.Select(p => p.Name).Order());
        Assert.All(azurite, p => Assert.InRange(p.MainThreadCpuSeconds, 0, p.CpuSeconds + 0.02));
    }

    public void Dispose() => models.Dispose();
}
