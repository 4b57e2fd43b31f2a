using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace CovidServerless.Core;

/// <summary>The pipeline's own metrics and traces (meter and activity source "CovidServerless.Pipeline").</summary>
public static class PipelineTelemetry
{
    public const string Name = "CovidServerless.Pipeline";

    public static readonly ActivitySource Source = new(Name);

    private static readonly Meter Meter = new(Name);

    /// <summary>Scans that ended with a result, by modality and status (scored, rejected, failed).</summary>
    public static readonly Counter<long> Scans = Meter.CreateCounter<long>("covidscan.scans", unit: "{scan}", description: "Scans that ended with a result.");

    /// <summary>
    /// Uploads a watcher's start-up check did not look at, by modality: older than <c>ScanWatch:LookbackHours</c>, so
    /// any without a result (an outage longer than the window) is left to <c>covidscan backlog</c>.
    /// </summary>
    public static readonly Counter<long> UncheckedAtStart = Meter.CreateCounter<long>(
        "covidscan.watch.unchecked", unit: "{scan}", description: "Uploads older than the look-back window that the start-up check did not look at.");

    /// <summary>Scans per batched model run, by modality.</summary>
    public static readonly Histogram<int> BatchSize = Meter.CreateHistogram<int>(
        "covidscan.batch.size",
        unit: "{scan}",
        description: "Scans per batched model run.",
        tags: null,
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64] });

    /// <summary>Scoring requests the worker answered, by modality and outcome (scored, rejected, unavailable).</summary>
    public static readonly Counter<long> WorkerRequests = Meter.CreateCounter<long>(
        "covidscan.worker.requests", unit: "{request}", description: "Scoring requests the worker answered.");

    /// <summary>
    /// Reports whether the models run on CUDA (1) or the CPU (0): a GPU replica whose CUDA libraries did not load
    /// scores on the CPU. Call once per process.
    /// </summary>
    public static ObservableGauge<int> ObserveModelsOnCuda(Func<bool> onCuda) => Meter.CreateObservableGauge(
        "covidscan.models.on_cuda", () => onCuda() ? 1 : 0, unit: "{bool}", description: "1 when the models run on CUDA.");

    /// <summary>Result rows deleted by the retention sweep, by table (results, timeline).</summary>
    public static readonly Counter<long> RetentionRowsDeleted = Meter.CreateCounter<long>(
        "covidscan.retention.rows_deleted", unit: "{row}", description: "Result rows deleted by the retention sweep.");

    /// <summary>Time to score one scan (decode, preprocess, every model, vote).</summary>
    public static readonly Histogram<double> ScoringDuration = Meter.CreateHistogram<double>("covidscan.scoring.duration", unit: "s", description: "Time to score one scan.");
}
