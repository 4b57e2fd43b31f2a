namespace CovidServerless.Torture;

/// <summary>How the torture host scores: in its own process (the default), or through the scoring worker.</summary>
public enum RemoteScoring
{
    /// <summary>In-process scoring, no worker.</summary>
    Off,

    /// <summary>Through the worker; while it is unavailable, scans are scored in-process (Scoring:FallbackToInProcess true).</summary>
    Fallback,

    /// <summary>Through the worker only; while it is unavailable, scans wait for it (Scoring:FallbackToInProcess false).</summary>
    NoFallback,
}

/// <summary>One torture run's size, faults and places (<c>./covidscan torture --help</c>).</summary>
/// <param name="Scans">Valid scans uploaded (real images, reused under other names to reach the count).</param>
/// <param name="BadPercent">Bad files on top, as a percentage of <paramref name="Scans"/> (mutated real images).</param>
/// <param name="HostKills">SIGKILLs of the local host at random moments of the backlog.</param>
/// <param name="Seed">Picks the images, the mutations, the poison scan's place and the moments of the faults.</param>
/// <param name="MaxAttempts">The host's <c>ScanWatch:MaxAttempts</c>: the poison scan must end <c>failed</c> after this many crashes.</param>
/// <param name="Data">The shared data folder (chest and ct, train and val).</param>
/// <param name="Manifest">The model manifest the host scores with.</param>
/// <param name="WorkFolder">Azurite's data and the host's log.</param>
/// <param name="DrainTimeout">How long the run waits, once uploaded, without any upload getting its final result; what is missing then is lost.</param>
/// <param name="Remote">
/// Off: the host scores in-process. Otherwise the host scores through the scoring worker (its own process, supervised
/// like the host), which the run SIGKILLs once and makes hang once (SIGSTOP for longer than the remote budget).
/// </param>
/// <param name="RemoteTimeoutSeconds">The host's <c>Scoring:RemoteTimeoutSeconds</c> (one call's budget, retries included) in remote mode.</param>
public sealed record TortureSettings(
    int Scans,
    int BadPercent,
    int HostKills,
    int Seed,
    int MaxAttempts,
    string Data,
    string Manifest,
    string WorkFolder,
    TimeSpan DrainTimeout,
    RemoteScoring Remote = RemoteScoring.Off,
    int RemoteTimeoutSeconds = 10)
{
    /// <summary>How long the worker hangs: past the host's whole budget for a call, so that calls in flight give up.</summary>
    public TimeSpan WorkerHang => TimeSpan.FromSeconds(RemoteTimeoutSeconds + 3);

    public int BadFiles => (int)Math.Round(Scans * BadPercent / 100.0);
}
