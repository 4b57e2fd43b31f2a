using CovidServerless.Core;
using CovidServerless.Core.Storage;

namespace CovidServerless.LocalHost;

/// <summary>
/// Creates the scan containers on local storage so a fresh Azurite is ready for uploads. (In Azure the
/// infrastructure creates them and the functions may only read them.)
/// </summary>
public sealed class InputContainers(StorageClients clients, ILogger<InputContainers> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var modality in ModalityNames.All)
        {
            await clients.Blobs.GetBlobContainerClient(ScanContainers.For(modality)).CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        }

        logger.LogInformation("Scan containers ready: {Chest}, {Ct}", ScanContainers.Chest, ScanContainers.Ct);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
