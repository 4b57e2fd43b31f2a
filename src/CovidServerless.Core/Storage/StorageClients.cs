using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Storage;

/// <summary>
/// The storage clients, created once from the same connection setting the triggers use, so results land in
/// the account the scans came from. Supports connection strings (Azurite) and managed identity (Azure).
/// </summary>
public sealed class StorageClients
{
    public StorageClients(IConfiguration configuration, IOptions<StorageOptions> options)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var name = options.Value.ConnectionName;
        var connectionString = configuration[name] ?? configuration.GetConnectionString(name);
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            Blobs = new BlobServiceClient(connectionString);
            Tables = new TableServiceClient(connectionString);
            Queues = new QueueServiceClient(connectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
            return;
        }

        var section = configuration.GetSection(name);
        var account = section["accountName"];
        Uri ServiceUri(string service) =>
            section[$"{service}ServiceUri"] is { Length: > 0 } uri ? new Uri(uri)
            : account is { Length: > 0 } ? new Uri($"https://{account}.{service}.core.windows.net")
            : throw new InvalidOperationException(
                $"Storage is not configured: set '{name}' to a connection string, or '{name}__accountName' for managed identity.");

        TokenCredential credential = section["clientId"] is { Length: > 0 } clientId
            ? new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId))
            : new DefaultAzureCredential();
        Blobs = new BlobServiceClient(ServiceUri("blob"), credential);
        Tables = new TableServiceClient(ServiceUri("table"), credential);
        Queues = new QueueServiceClient(ServiceUri("queue"), credential, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
    }

    public BlobServiceClient Blobs { get; }

    public TableServiceClient Tables { get; }

    /// <summary>Messages are base64, as Azure Functions' queue bindings write and expect by default.</summary>
    public QueueServiceClient Queues { get; }
}
