namespace CovidServerless.Torture;

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
public sealed record TortureSettings(
    int Scans,
    int BadPercent,
    int HostKills,
    int Seed,
    int MaxAttempts,
    string Data,
    string Manifest,
    string WorkFolder,
    TimeSpan DrainTimeout)
{
    public int BadFiles => (int)Math.Round(Scans * BadPercent / 100.0);
}
