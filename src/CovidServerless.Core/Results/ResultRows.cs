using System.Text.Json;
using Azure.Data.Tables;
using CovidServerless.Core.Imaging.Dicom;
using CovidServerless.Core.Scoring;

namespace CovidServerless.Core.Results;

/// <summary>
/// How a result maps to table rows. ScanResults: partition = one blob (all its versions), one row per model plus
/// one "ensemble" row per version, row keys sorting the newest version first. ScanTimeline: one row per scan
/// version in upload order (newest first), for listing recent results across blobs, spread over
/// <see cref="TimelineShards"/> partitions. ScanResults also holds one
/// index row per scan id (partition "scan-{scanId}", its own partition, so a look-up by id is one point read that
/// needs neither the blob name nor a scan).
/// </summary>
internal static class ResultRows
{
    public const string EnsembleMember = "ensemble";

    /// <summary>The ensemble row's binary property holding the members' heatmap maps (<see cref="Heatmaps.HeatmapMaps"/>).</summary>
    public const string HeatmapMapsProperty = "HeatmapMaps";

    public static IEnumerable<TableEntity> ForResultsTable(ScanResult result, ScanIdentity identity, byte[]? heatmapMaps = null)
    {
        if (heatmapMaps?.Length > Heatmaps.HeatmapMaps.MaxBytes)
        {
            throw new ArgumentException($"Heatmap maps over {Heatmaps.HeatmapMaps.MaxBytes} bytes are not stored in a row.", nameof(heatmapMaps));
        }

        var ensemble = new TableEntity(identity.PartitionKey, RowKey(identity, EnsembleMember))
        {
            ["Member"] = EnsembleMember,
            ["ScanId"] = result.ScanId,
            ["Modality"] = result.Modality,
            ["BlobName"] = result.BlobName,
            ["BlobVersion"] = result.BlobVersion,
            ["Status"] = result.Status,
            ["Reason"] = result.Reason,
            ["Verdict"] = result.Verdict,
            ["PCovid"] = result.PCovid,
            ["Threshold"] = result.Threshold,
            ["Gate"] = result.Gate is null ? null : JsonSerializer.Serialize(result.Gate, ScanResult.JsonOptions),
            ["StudyInstanceUid"] = result.Dicom?.StudyInstanceUid,
            ["SeriesInstanceUid"] = result.Dicom?.SeriesInstanceUid,
            ["SopInstanceUid"] = result.Dicom?.SopInstanceUid,
            ["HeatmapUrl"] = result.HeatmapUrl,
            [HeatmapMapsProperty] = heatmapMaps,
            ["UploadedAt"] = result.UploadedAt,
            ["ProcessedAt"] = result.ProcessedAt,
        };
        yield return ensemble;

        foreach (var (model, position) in result.Models.Select((m, i) => (m, i)))
        {
            yield return new TableEntity(identity.PartitionKey, RowKey(identity, model.Name))
            {
                ["Member"] = model.Name,
                ["Position"] = position,
                ["ScanId"] = result.ScanId,
                ["ModelVersion"] = model.Version,
                ["PCovid"] = model.PCovid,
                ["Verdict"] = model.Verdict,
                ["HeatmapUrl"] = model.HeatmapUrl,
                ["ProcessedAt"] = result.ProcessedAt,
            };
        }
    }

    public static TableEntity ForTimeline(ScanResult result, ScanIdentity identity) =>
        new(TimelineShards.For(identity.ScanId), TimelineRowKey(identity))
        {
            ["ScanId"] = result.ScanId,
            ["Modality"] = result.Modality,
            ["Status"] = result.Status,
            ["Verdict"] = result.Verdict,
            ["Result"] = result.ToJson(),
        };

    /// <summary>Every index row's row key: the partition alone names the scan.</summary>
    public const string IndexRowKey = "result";

    public static string IndexPartition(string scanId) => $"scan-{scanId}";

    /// <summary>The scan id's index row: the whole result, as the timeline holds it.</summary>
    public static TableEntity ForIndex(ScanResult result) =>
        new(IndexPartition(result.ScanId), IndexRowKey)
        {
            ["Modality"] = result.Modality,
            ["Result"] = result.ToJson(),
        };

    /// <summary>The attempts row of a scan id: a partition of its own, like the index, so no query of results reads it.</summary>
    public static string AttemptsPartition(string scanId) => $"attempts-{scanId}";

    public const string AttemptsRowKey = "attempts";

    public static string RowKey(ScanIdentity identity, string member) => $"{identity.VersionKey}-{member}";

    /// <summary>Newest upload first across every blob and every timeline shard; the partition key keeps versions uploaded at the same tick apart.</summary>
    public static string TimelineRowKey(ScanIdentity identity) => $"{identity.VersionKey}-{identity.PartitionKey}";

    /// <summary>The version key a ScanResults row belongs to (row key minus "-member").</summary>
    public static string VersionOf(TableEntity row) => row.RowKey[..row.RowKey.LastIndexOf('-')];

    /// <summary>The upload-time part of a ScanResults row's key: equal for versions uploaded within the same second.</summary>
    public static string UploadKeyOf(TableEntity row) => row.RowKey[..row.RowKey.IndexOf('-')];

    /// <summary>Rebuilds one version's result from its ensemble row and member rows.</summary>
    public static ScanResult ToResult(TableEntity ensemble, IEnumerable<TableEntity> members) => new()
    {
        ScanId = ensemble.GetString("ScanId"),
        Modality = ensemble.GetString("Modality"),
        BlobName = ensemble.GetString("BlobName"),
        BlobVersion = ensemble.GetString("BlobVersion"),
        Status = ensemble.GetString("Status"),
        Reason = ensemble.GetString("Reason"),
        Verdict = ensemble.GetString("Verdict"),
        PCovid = ensemble.GetDouble("PCovid"),
        Threshold = ensemble.GetDouble("Threshold"),
        Gate = ensemble.GetString("Gate") is { } gate ? JsonSerializer.Deserialize<Gate.GateResult>(gate, ScanResult.JsonOptions) : null,
        Dicom = Uids(ensemble),
        HeatmapUrl = ensemble.GetString("HeatmapUrl"),
        UploadedAt = ensemble.GetDateTimeOffset("UploadedAt") ?? default,
        ProcessedAt = ensemble.GetDateTimeOffset("ProcessedAt") ?? default,
        // Only member rows written with this ensemble row (one transaction, one ProcessedAt) belong to it: upserts
        // replace rows but never remove them, so a version recorded again (failed after it was scored, or scored
        // after the manifest lost or renamed a model) keeps the earlier recording's member rows in the table.
        Models = [.. members
            .Where(m => m.GetDateTimeOffset("ProcessedAt") == ensemble.GetDateTimeOffset("ProcessedAt"))
            .Select(m => new ModelScore(m.GetString("Member"), m.GetString("ModelVersion"), m.GetDouble("PCovid") ?? double.NaN, m.GetString("Verdict"))
            {
                HeatmapUrl = m.GetString("HeatmapUrl"),
            })],
    };

    public static ScanResult FromTimeline(TableEntity row) => ScanResult.FromJson(row.GetString("Result"));

    private static DicomUids? Uids(TableEntity row) =>
        new DicomUids(row.GetString("StudyInstanceUid"), row.GetString("SeriesInstanceUid"), row.GetString("SopInstanceUid")) is var uids
            && uids is { StudyInstanceUid: null, SeriesInstanceUid: null, SopInstanceUid: null } ? null : uids;

}
