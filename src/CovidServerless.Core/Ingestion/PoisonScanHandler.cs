using System.Text.Json;
using Azure;
using CovidServerless.Core.Results;
using CovidServerless.Core.Storage;
using Microsoft.Extensions.Logging;

namespace CovidServerless.Core.Ingestion;

/// <summary>
/// Turns a message from <c>webjobs-blobtrigger-poison</c> (a blob whose processing failed on every retry) into a
/// <c>failed</c> result, so that no uploaded scan is left without an answer.
/// </summary>
public sealed class PoisonScanHandler(ScanProcessor processor, StorageClients clients, ILogger<PoisonScanHandler> logger)
{
    public const string QueueName = "webjobs-blobtrigger-poison";

    /// <summary>Where the host moves a poison message whose own handling failed on every retry.</summary>
    public const string PoisonOfPoisonQueueName = QueueName + "-poison";

    public async Task<ScanResult?> HandleAsync(string message, CancellationToken cancellationToken)
    {
        PoisonMessage? poison;
        try
        {
            poison = JsonSerializer.Deserialize<PoisonMessage>(message, ModelsJson);
        }
        catch (JsonException)
        {
            poison = null;
        }

        if (poison is null || string.IsNullOrEmpty(poison.BlobName) || !ScanContainers.TryGetModality(poison.ContainerName, out var modality))
        {
            logger.LogWarning("Ignoring a poison message that names no blob of the scan containers.");
            return null;
        }

        var identity = new ScanIdentity(modality, poison.BlobName, poison.ETag ?? "unknown", await UploadTimeAsync(poison, cancellationToken).ConfigureAwait(false));
        return await processor.RecordFailedAsync(identity, cancellationToken).ConfigureAwait(false);
    }

    private async Task<DateTimeOffset> UploadTimeAsync(PoisonMessage poison, CancellationToken cancellationToken)
    {
        try
        {
            var properties = (await clients.Blobs.GetBlobContainerClient(poison.ContainerName).GetBlobClient(poison.BlobName)
                .GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;

            // Only the same version's upload time: a newer upload's would sort this failure as the latest result.
            return properties.ETag.ToString().Trim('"') == poison.ETag?.Trim('"') ? properties.LastModified : DateTimeOffset.UnixEpoch;
        }
        catch (RequestFailedException)
        {
            return DateTimeOffset.UnixEpoch;
        }
    }

    private static readonly JsonSerializerOptions ModelsJson = new() { PropertyNameCaseInsensitive = true };

    private sealed record PoisonMessage(string? ContainerName, string? BlobName, string? ETag);
}
