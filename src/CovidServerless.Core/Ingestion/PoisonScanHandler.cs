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
        if (ScanOf(message) is not { } scan)
        {
            logger.LogWarning("Ignoring a poison message that names no blob of the scan containers.");
            return null;
        }

        var identity = scan with { UploadedAt = await UploadTimeAsync(scan, cancellationToken).ConfigureAwait(false) };
        return await processor.RecordFailedAsync(identity, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The scan a poison message names (upload time unknown: default), or null when it names no blob of the scan
    /// containers or is not a poison message at all.
    /// </summary>
    public static ScanIdentity? ScanOf(string message)
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

        return poison is not null && !string.IsNullOrEmpty(poison.BlobName) && ScanContainers.TryGetModality(poison.ContainerName, out var modality)
            ? new ScanIdentity(modality, poison.BlobName, poison.ETag ?? "unknown", default)
            : null;
    }

    private async Task<DateTimeOffset> UploadTimeAsync(ScanIdentity scan, CancellationToken cancellationToken)
    {
        try
        {
            var properties = (await clients.Blobs.GetBlobContainerClient(ScanContainers.For(scan.Modality)).GetBlobClient(scan.BlobName)
                .GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;

            // Only the same version's upload time: a newer upload's would sort this failure as the latest result.
            return properties.ETag.ToString().Trim('"') == scan.ETag.Trim('"') ? properties.LastModified : DateTimeOffset.UnixEpoch;
        }
        catch (RequestFailedException)
        {
            return DateTimeOffset.UnixEpoch;
        }
    }

    private static readonly JsonSerializerOptions ModelsJson = new() { PropertyNameCaseInsensitive = true };

    private sealed record PoisonMessage(string? ContainerName, string? BlobName, string? ETag);
}
