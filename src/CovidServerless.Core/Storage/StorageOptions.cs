using System.ComponentModel.DataAnnotations;

namespace CovidServerless.Core.Storage;

/// <summary>Names of the storage resources the pipeline uses. Bound from configuration section "Storage".</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    /// <summary>
    /// The connection setting, as Azure Functions names it: either a connection string under this name, or
    /// identity-based settings <c>{name}__accountName</c> / <c>{name}__blobServiceUri</c> etc.
    /// </summary>
    [Required]
    public string ConnectionName { get; set; } = "AzureWebJobsStorage";

    [Required]
    public string ResultsTable { get; set; } = "ScanResults";

    [Required]
    public string TimelineTable { get; set; } = "ScanTimeline";

    [Required]
    public string ResultsQueue { get; set; } = "scan-results";
}
