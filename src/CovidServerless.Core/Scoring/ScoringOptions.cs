using System.ComponentModel.DataAnnotations;

namespace CovidServerless.Core.Scoring;

public enum ScoringMode
{
    /// <summary>The ensemble runs in this process (CPU, or CUDA where configured).</summary>
    InProcess,

    /// <summary>Scans are sent to the GPU scoring worker over HTTP.</summary>
    Remote,
}

/// <summary>How the batching scorer pads a partial batch (with copies of its last scan) before the models run.</summary>
public enum BatchPadding
{
    /// <summary>
    /// To <see cref="ScoringOptions.MaxBatchSize"/> where the models run on CUDA, whose provider is slow whenever a
    /// session's input shape changes from one run to the next; not at all on the CPU, where padding only adds work.
    /// </summary>
    Auto,

    None,

    /// <summary>Every batch to <see cref="ScoringOptions.MaxBatchSize"/>: one input shape per model.</summary>
    MaxBatchSize,
}

/// <summary>Where scans are scored. Bound from configuration section "Scoring".</summary>
public sealed class ScoringOptions : IValidatableObject
{
    public const string SectionName = "Scoring";

    public ScoringMode Mode { get; set; } = ScoringMode.InProcess;

    /// <summary>Base URL of the scoring worker, e.g. https://worker.example.net (Remote mode).</summary>
    public Uri? RemoteEndpoint { get; set; }

    /// <summary>
    /// When the worker stays unavailable (retries exhausted or circuit open): true scores in-process instead;
    /// false fails the attempt so the blob trigger retries it later (and records a failed result after its last try).
    /// </summary>
    public bool FallbackToInProcess { get; set; } = true;

    /// <summary>Whole-request budget for one remote scoring call, retries included (allow for a GPU cold start).</summary>
    [Range(1, 600)]
    public int RemoteTimeoutSeconds { get; set; } = 60;

    /// <summary>
    /// In-process mode: coalesce scans that arrive together (a backlog) into batched model runs, as the worker
    /// does; on by default because it gives the higher end-to-end rate under a backlog (docs/performance.md).
    /// The local host then lets up to <see cref="MaxBatchSize"/> triggers wait together; scoring stays capped by
    /// Models:MaxConcurrentScans.
    /// </summary>
    public bool BatchInProcess { get; set; } = true;

    /// <summary>Largest batch the batching scorer (the worker) sends through each model in one run.</summary>
    [Range(1, 256)]
    public int MaxBatchSize { get; set; } = 16;

    /// <summary>
    /// Most scans the batching scorer (the worker) holds at once, being prepared, queued or scored; past it a scan is
    /// refused for now (the worker answers 503 with Retry-After and the hosts retry). Each holds about 0.6 MB of tensors
    /// per model input once prepared, and its decoded pixels (capped by Images:MaxDecodedPixelsInFlight) while prepared.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxQueuedScans { get; set; } = 256;

    /// <summary>
    /// How long the batching scorer waits for more scans before running a partial batch. A scan that comes at least
    /// this long after the previous one of its modality, while no batch is being scored, runs at once: a lone scan
    /// does not wait.
    /// </summary>
    [Range(0, 1000)]
    public int MaxBatchDelayMilliseconds { get; set; } = 5;

    /// <summary>
    /// Padding of partial batches. CUDA runs a burst far faster when every batch has one size than with batches of
    /// whatever size had queued (docs/performance.md, GPU).
    /// </summary>
    public BatchPadding BatchPadding { get; set; } = BatchPadding.Auto;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Mode == ScoringMode.Remote && RemoteEndpoint is null)
        {
            yield return new ValidationResult("Scoring:RemoteEndpoint is required when Scoring:Mode is Remote.", [nameof(RemoteEndpoint)]);
        }
    }
}
