using System.ComponentModel.DataAnnotations;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;

namespace CovidServerless.Core.Ingestion;

/// <summary>How the local host finds uploaded scans by listing the scan containers. Section "ScanWatch".</summary>
public sealed class ScanWatchOptions
{
    public const string SectionName = "ScanWatch";

    /// <summary>Time between listings of the scan containers: at most this long before a new upload is picked up.</summary>
    [Range(100, 600_000)]
    public int PollMilliseconds { get; set; } = 1000;

    /// <summary>
    /// The most blobs a container's watch lists per second, on average: a container of N blobs is listed every N / this
    /// seconds where that is longer than <see cref="PollMilliseconds"/>. A listing costs storage in proportion to the
    /// blobs it returns, and ./run.sh keeps its containers from one run to the next, so a large container is listed
    /// less often rather than taking the emulator's whole core.
    /// </summary>
    [Range(100, 10_000_000)]
    public int MaxBlobsListedPerSecond { get; set; } = 1000;

    /// <summary>Scans ingested at once. 0: a batch's worth when scans are batched (here or on the worker), else the scorer's concurrency + 1.</summary>
    [Range(0, 256)]
    public int Concurrency { get; set; }

    /// <summary>
    /// Scans ingested at once: <see cref="Concurrency"/>, or by default a batch's worth when batches form here or on the
    /// scoring worker, otherwise one more than the scorer runs at once, so that storage I/O overlaps with scoring.
    /// </summary>
    public int ScansIngestedAtOnce(ScoringOptions scoring, ModelOptions models) => Concurrency > 0
        ? Concurrency
        : scoring.Mode == ScoringMode.Remote || scoring.BatchInProcess ? scoring.MaxBatchSize : models.MaxConcurrentScans + 1;

    /// <summary>How far back the first listing after start looks for scans without a result (uploaded while the host was down).</summary>
    [Range(1, 8760)]
    public int LookbackHours { get; set; } = 24;

    /// <summary>
    /// Failed ingestions of one scan version before it is recorded as <c>failed</c> (no poison loop). A scorer that
    /// cannot take the scan now (the worker unavailable without fallback) costs no attempt: the scan waits for it.
    /// </summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>Wait before the first retry of a failed ingestion; doubled for each later one, up to <see cref="LongestRetryDelay"/>.</summary>
    [Range(0, 600_000)]
    public int RetryDelayMilliseconds { get; set; } = 2000;

    /// <summary>The wait after a listing of <paramref name="blobs"/> blobs that took <paramref name="took"/>, until the next begins.</summary>
    public TimeSpan WaitAfterListing(int blobs, TimeSpan took)
    {
        var interval = Math.Max(PollMilliseconds, blobs * 1000.0 / MaxBlobsListedPerSecond);
        return TimeSpan.FromMilliseconds(Math.Max(0, interval - took.TotalMilliseconds));
    }

    public static TimeSpan LongestRetryDelay => TimeSpan.FromHours(1);

    /// <summary>The longest wait for a scorer that cannot take scans (the remote breaker stays open this long).</summary>
    public static TimeSpan LongestScorerWait => TimeSpan.FromSeconds(30);

    /// <summary>
    /// The wait before trying a scan again after the scorer could not take it for the <paramref name="waits"/>th time
    /// (1 for the first): <see cref="RetryDelayMilliseconds"/>, doubled each time, up to <see cref="LongestScorerWait"/>.
    /// </summary>
    public TimeSpan ScorerWaitBefore(int waits)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(waits, 1);
        var doubled = RetryDelayMilliseconds * Math.Pow(2, Math.Min(waits - 1, 30));
        return doubled < LongestScorerWait.TotalMilliseconds ? TimeSpan.FromMilliseconds(doubled) : LongestScorerWait;
    }

    /// <summary>The wait before ingestion attempt <paramref name="attempt"/> (2 for the first retry).</summary>
    public TimeSpan RetryDelayBefore(int attempt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 2);
        var doubled = RetryDelayMilliseconds * Math.Pow(2, attempt - 2);
        return doubled < LongestRetryDelay.TotalMilliseconds ? TimeSpan.FromMilliseconds(doubled) : LongestRetryDelay;
    }
}
