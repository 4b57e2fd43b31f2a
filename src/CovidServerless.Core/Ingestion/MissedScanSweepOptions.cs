using System.ComponentModel.DataAnnotations;

namespace CovidServerless.Core.Ingestion;

/// <summary>How the local host's safety net looks for uploaded scans the blob trigger missed. Section "MissedScanSweep".</summary>
public sealed class MissedScanSweepOptions
{
    public const string SectionName = "MissedScanSweep";

    public bool Enabled { get; set; } = true;

    /// <summary>Time between sweeps of the scan containers.</summary>
    [Range(1, 3600)]
    public int IntervalSeconds { get; set; } = 30;

    /// <summary>
    /// How long after upload a scan may still be on its way through the trigger. Only older scans without a result
    /// are ingested, so under a backlog longer than this a scan can be scored twice (same rows, same scan id).
    /// </summary>
    [Range(1, 86400)]
    public int GraceSeconds { get; set; } = 120;

    /// <summary>How far back the first sweep after start looks, for scans uploaded while the host was down.</summary>
    [Range(1, 8760)]
    public int LookbackHours { get; set; } = 24;

    /// <summary>Failed ingestions of one scan version before it is recorded as <c>failed</c> (no poison loop).</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 5;
}
