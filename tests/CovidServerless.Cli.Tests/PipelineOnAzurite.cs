using System.Text.Json;
using CovidServerless.Core;
using CovidServerless.Core.Results;
using CovidServerless.Core.Storage;
using CovidServerless.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CovidServerless.Cli.Tests;

/// <summary>A test class's own Azurite and the core pipeline's services over it, as the CLI's storage commands build them.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "xunit disposes Azurite through IAsyncLifetime.DisposeAsync.")]
public abstract class PipelineOnAzurite : IAsyncLifetime
{
    private ServiceProvider? services;

    protected Azurite Azurite { get; } = new();

    protected IServiceProvider Services => services ?? throw new InvalidOperationException("Azurite has not started.");

    /// <summary>Uploads a small uniform chest image under <paramref name="name"/>; its identity as the pipeline sees it.</summary>
    protected async Task<ScanIdentity> UploadAsync(string name, byte value)
    {
        var chest = Services.GetRequiredService<StorageClients>().Blobs.GetBlobContainerClient(ScanContainers.Chest);
        await chest.CreateIfNotExistsAsync();
        var written = (await chest.GetBlobClient(name).UploadAsync(new BinaryData(TestImages.Uniform(value)), overwrite: true)).Value;
        return new ScanIdentity(Modality.Chest, name, written.ETag.ToString(), written.LastModified);
    }

    /// <summary>Records a final <c>rejected</c> result for <paramref name="scan"/>, as the pipeline would.</summary>
    protected Task SaveRejectedAsync(ScanIdentity scan) => Services.GetRequiredService<ResultStore>().SaveAsync(
        new ScanResult
        {
            ScanId = scan.ScanId,
            Modality = scan.Modality.ToName(),
            BlobName = scan.BlobName,
            BlobVersion = scan.BlobVersion,
            Status = ScanStatus.Rejected,
            Reason = "test",
            UploadedAt = scan.UploadedAt,
            ProcessedAt = DateTimeOffset.UtcNow,
        },
        scan,
        default);

    /// <summary>Runs <c>covidscan</c> against this Azurite (AzureWebJobsStorage set for the run); its exit code, JSON lines and stderr.</summary>
    protected async Task<(int Exit, List<JsonElement> Lines, string Error)> RunCliAsync(params string[] arguments)
    {
        Environment.SetEnvironmentVariable("AzureWebJobsStorage", Azurite.ConnectionString);
        try
        {
            var (exit, output, error) = await ConsoleCapture.RunAsync(arguments);
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
            return (exit, lines, error);
        }
        finally
        {
            Environment.SetEnvironmentVariable("AzureWebJobsStorage", null);
        }
    }

    public async Task InitializeAsync()
    {
        await Azurite.StartAsync();
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection([new("AzureWebJobsStorage", Azurite.ConnectionString)])
            .Build();
        services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging().AddCovidPipeline(configuration).BuildServiceProvider();
    }

    public async Task DisposeAsync()
    {
        if (services is not null)
        {
            await services.DisposeAsync();
        }

        await Azurite.DisposeAsync();
    }
}
