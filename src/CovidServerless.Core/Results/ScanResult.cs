using System.Text.Json;
using System.Text.Json.Serialization;
using CovidServerless.Core.Gate;
using CovidServerless.Core.Imaging.Dicom;
using CovidServerless.Core.Scoring;

namespace CovidServerless.Core.Results;

public static class ScanStatus
{
    /// <summary>The ensemble scored the scan.</summary>
    public const string Scored = "scored";

    /// <summary>The scan itself is unusable (format, size, corruption); <c>reason</c> says why.</summary>
    public const string Rejected = "rejected";

    /// <summary>Processing failed repeatedly for reasons outside the scan (storage, models); <c>reason</c> says why.</summary>
    public const string Failed = "failed";
}

/// <summary>The answer for one version of one uploaded scan: the HTTP body and the queue message alike.</summary>
public sealed record ScanResult
{
    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>What a results-queue message holds: "scan" (this record, one file) or "series" (<see cref="Series.SeriesResult"/>).</summary>
    public const string KindName = "scan";

    /// <summary>Always "scan", so queue consumers tell scan results from series results.</summary>
    public string Kind { get; init; } = KindName;

    public required string ScanId { get; init; }

    public required string Modality { get; init; }

    public required string BlobName { get; init; }

    /// <summary>The blob's ETag: a new upload under the same name is a new version.</summary>
    public required string BlobVersion { get; init; }

    public required string Status { get; init; }

    public string? Reason { get; init; }

    public string? Verdict { get; init; }

    public double? PCovid { get; init; }

    public double? Threshold { get; init; }

    public IReadOnlyList<ModelScore> Models { get; init; } = [];

    /// <summary>What the input gate made of the scan (also for a scan it rejected); null where no gate ran.</summary>
    public GateResult? Gate { get; init; }

    /// <summary>
    /// The DICOM study, series and SOP instance UIDs, for a DICOM scan whose header could be read (scored or rejected);
    /// null for other formats or when Images:Dicom:UidsInResults is off. No other header attribute is ever carried.
    /// </summary>
    public DicomUids? Dicom { get; init; }

    /// <summary>Where the ensemble's heatmap overlay is served (GET /api/results/{scanId}/heatmap); null where none was stored.</summary>
    public string? HeatmapUrl { get; init; }

    /// <summary>When this version of the blob was uploaded (its Last-Modified time).</summary>
    public DateTimeOffset UploadedAt { get; init; }

    public DateTimeOffset ProcessedAt { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>The result of a scan its ensemble scored.</summary>
    public static ScanResult Scored(ScanIdentity identity, Scoring.EnsembleScore score, DateTimeOffset processedAt)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(score);
        return new()
        {
            ScanId = identity.ScanId,
            Modality = identity.Modality.ToName(),
            BlobName = identity.BlobName,
            BlobVersion = identity.BlobVersion,
            Status = ScanStatus.Scored,
            Verdict = score.Verdict,
            PCovid = score.PCovid,
            Threshold = score.Threshold,
            Models = score.Models,
            Gate = score.Gate,
            UploadedAt = identity.UploadedAt,
            ProcessedAt = processedAt,
        };
    }

    public static ScanResult FromJson(string json) =>
        JsonSerializer.Deserialize<ScanResult>(json, JsonOptions) ?? throw new JsonException("Empty scan result.");
}
