namespace CovidServerless.Torture;

/// <summary>What a torture run did and found; <see cref="Violations"/> is empty when every promise held.</summary>
public sealed class TortureReport
{
    public int Uploaded { get; set; }

    public int ValidScans { get; set; }

    public int BadFiles { get; set; }

    public int HostStarts { get; set; }

    public int HostKills { get; set; }

    public int PoisonCrashes { get; set; }

    public IReadOnlyList<int> OtherHostExits { get; set; } = [];

    public int AzuriteRestarts { get; set; }

    public TimeSpan AzuriteDown { get; set; }

    public int FinalResults { get; set; }

    public int Scored { get; set; }

    public int Rejected { get; set; }

    public int Failed { get; set; }

    /// <summary>Valid scans (not the poison one) that ended <c>failed</c>: each took part in attempts that ended with a dead host.</summary>
    public int ValidScansFailed { get; set; }

    public int Lost { get; set; }

    public int Messages { get; set; }

    /// <summary>Scan ids announced more than once with the same content (apart from processedAt): allowed, at least once.</summary>
    public int IdenticalDuplicates { get; set; }

    public int DifferingDuplicates { get; set; }

    public int RowsWithoutMessage { get; set; }

    public int MessagesWithoutRow { get; set; }

    public string PoisonStatus { get; set; } = "none";

    public int PoisonAttempts { get; set; }

    public TimeSpan UploadTime { get; set; }

    /// <summary>From the first upload until every upload had its final result.</summary>
    public TimeSpan DrainTime { get; set; }

    public long PeakHostBytes { get; set; }

    public long PeakAzuriteBytes { get; set; }

    public int WorkerStarts { get; set; }

    public int WorkerKills { get; set; }

    public int WorkerHangs { get; set; }

    public IReadOnlyList<int> OtherWorkerExits { get; set; } = [];

    /// <summary>Requests the worker answered with a score (its covidscan_worker_requests_total, summed over its processes; sampled, so a lower bound).</summary>
    public long WorkerScored { get; set; }

    /// <summary>Host log lines saying a scan went to in-process scoring because the worker was unavailable (fallback on).</summary>
    public int HostFallbacks { get; set; }

    /// <summary>Host log lines saying a scan waits for the scorer without using an attempt (fallback off).</summary>
    public int HostScorerWaits { get; set; }

    /// <summary>Real scans that ended failed for another reason than their hosts' deaths (e.g. the worker); 0 is the promise.</summary>
    public int ValidScansFailedOtherwise { get; set; }

    public long PeakWorkerBytes { get; set; }

    public List<string> Violations { get; } = [];
}
