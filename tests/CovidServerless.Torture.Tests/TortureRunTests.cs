using CovidServerless.Torture;
using Xunit.Abstractions;

namespace CovidServerless.Torture.Tests;

/// <summary>
/// The CI-sized torture run (docs/reliability.md): the real local host and Azurite under every fault of the full run,
/// with 200 scans instead of 2,000. <c>./covidscan torture</c> runs the full size.
/// </summary>
public class TortureRunTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Under_host_kills_a_storage_restart_bad_files_and_a_crashing_scan_every_upload_ends_with_one_final_result_announced_one_way()
    {
        Skip.If(RepoPaths.SharedData is null, RepoPaths.NoSharedDataMessage);
        var work = Directory.CreateTempSubdirectory("covidscan-torture-ci-");
        var settings = CiSize(work, scans: 200, seed: 33);
        var report = await RunAsync(settings);
        Assert.Equal(3, report.HostKills);
        Assert.Equal(1, report.AzuriteRestarts);
        Assert.Equal("failed", report.PoisonStatus);
        Assert.InRange(report.PoisonCrashes, 1, settings.MaxAttempts);
        work.Delete(recursive: true);
    }

    /// <summary>
    /// Remote mode, fallback off (the stricter: nothing scores a scan while the worker is away): the host scores through
    /// the worker's own process, which is SIGKILLed once and hangs once (SIGSTOP past the host's budget, then SIGCONT),
    /// beside the host kills, the storage restart and the poison scan.
    /// </summary>
    [SkippableFact]
    public async Task With_the_worker_killed_and_hung_and_no_fallback_every_upload_still_ends_with_one_final_result_and_no_real_scan_fails()
    {
        Skip.If(RepoPaths.SharedData is null, RepoPaths.NoSharedDataMessage);
        var work = Directory.CreateTempSubdirectory("covidscan-torture-remote-ci-");
        var settings = CiSize(work, scans: 120, seed: 34) with { Remote = RemoteScoring.NoFallback, RemoteTimeoutSeconds = 5 };
        var report = await RunAsync(settings);
        Assert.Equal(0, report.ValidScansFailedOtherwise);
        Assert.Equal(1, report.WorkerKills);
        Assert.Equal(1, report.WorkerHangs);
        Assert.True(report.WorkerScored > 0, "the worker scored scans");
        Assert.True(report.HostScorerWaits > 0, "the host waited for the worker at least once");
        Assert.Equal(3, report.HostKills);
        Assert.Equal("failed", report.PoisonStatus);
        work.Delete(recursive: true);
    }

    /// <summary>A CI-sized run: 5% bad files, 3 host kills, 3 attempts per scan, at most 3 minutes to drain.</summary>
    private static TortureSettings CiSize(DirectoryInfo work, int scans, int seed) => new(
        Scans: scans,
        BadPercent: 5,
        HostKills: 3,
        Seed: seed,
        MaxAttempts: 3,
        Data: RepoPaths.SharedData!,
        Manifest: Path.Combine(RepoPaths.Root, "models", "manifest.json"),
        WorkFolder: work.FullName,
        DrainTimeout: TimeSpan.FromMinutes(3));

    /// <summary>Runs the torture (its printout goes to the test output) and asserts what every run must hold: nothing lost, nothing announced two ways.</summary>
    private async Task<TortureReport> RunAsync(TortureSettings settings)
    {
        var printed = new StringWriter();
        try
        {
            var report = await TortureRun.RunAsync(settings, printed, CancellationToken.None);
            Assert.Empty(report.Violations);
            Assert.Equal(0, report.Lost);
            Assert.Equal(0, report.DifferingDuplicates);
            Assert.Equal(report.Uploaded, report.FinalResults);
            return report;
        }
        finally
        {
            output.WriteLine(printed.ToString());
        }
    }
}
