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
