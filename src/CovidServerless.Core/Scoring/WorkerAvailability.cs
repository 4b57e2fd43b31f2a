namespace CovidServerless.Core.Scoring;

/// <summary>
/// What the remote scorer last saw of the scoring worker, for /api/health to report. Health does not ask the worker
/// itself: a worker scaled to zero would start a GPU replica for every probe, and take longer to start than a probe
/// waits.
/// </summary>
public sealed class WorkerAvailability(TimeProvider clock)
{
    private volatile Observation? last;

    /// <summary>The outcome of the latest scoring request, or null when none was sent since this process started.</summary>
    public Observation? Last => last;

    public void Answered() => last = new Observation(true, null, clock.GetUtcNow());

    public void Unavailable(string problem) => last = new Observation(false, problem, clock.GetUtcNow());

    public sealed record Observation(bool Answered, string? Problem, DateTimeOffset At);
}
