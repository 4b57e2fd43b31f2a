using System.CommandLine;

namespace CovidServerless.Torture;

/// <summary>
/// <c>./covidscan torture</c>: the fault-injection run of the real local pipeline (docs/reliability.md). Its
/// <c>host</c> command is the local host that the run starts, stops and kills.
/// </summary>
public static class TortureCommand
{
    public static RootCommand Create(string repoRoot)
    {
        var scans = new Option<int>("--scans") { Description = "Valid scans uploaded in the burst (real images, reused under other names).", DefaultValueFactory = _ => 2000 };
        var bad = new Option<int>("--bad-percent") { Description = "Bad files (mutated real images) on top, in percent of --scans.", DefaultValueFactory = _ => 5 };
        var kills = new Option<int>("--kills") { Description = "SIGKILLs of the local host at random moments (at least 3).", DefaultValueFactory = _ => 3 };
        var seed = new Option<int>("--seed") { Description = "Picks images, mutations, the poison scan and the moments of the faults.", DefaultValueFactory = _ => 33 };
        var attempts = new Option<int>("--max-attempts") { Description = "The host's ScanWatch:MaxAttempts: the poison scan ends failed after this many crashes.", DefaultValueFactory = _ => 5 };
        var drain = new Option<int>("--drain-minutes") { Description = "Give up once no upload got its final result for this many minutes; scans still without one are lost.", DefaultValueFactory = _ => 5 };
        var data = new Option<string>("--data")
        {
            Description = "The shared data folder with chest/ and ct/ (default: ../shared/data beside the repository).",
            HelpName = "SHARED_DATA",
            DefaultValueFactory = _ => Path.Combine(repoRoot, "..", "shared", "data"),
        };
        var models = new Option<string>("--models")
        {
            Description = "Path of the model manifest (default: Models__ManifestPath, else models/manifest.json).",
            HelpName = "MANIFEST",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("Models__ManifestPath") ?? Path.Combine(repoRoot, "models", "manifest.json"),
        };
        var remote = new Option<string?>("--remote")
        {
            Description = "Score through the scoring worker (its own process), which the run SIGKILLs once and makes hang once: " +
                "'fallback' scores in-process while it is unavailable, 'no-fallback' makes scans wait for it. Default: in-process scoring, no worker.",
            HelpName = "fallback|no-fallback",
        };
        remote.AcceptOnlyFromAmong("fallback", "no-fallback");
        var remoteTimeout = new Option<int>("--remote-timeout")
        {
            Description = "The host's Scoring:RemoteTimeoutSeconds in remote mode (one call's budget, retries included); the worker hangs 3 s longer.",
            DefaultValueFactory = _ => 10,
        };
        var work = new Option<string?>("--work") { Description = "A new or empty folder for Azurite's data and the logs (default: a new temporary folder).", HelpName = "FOLDER" };
        var command = new RootCommand(
            "covidscan torture: uploads a burst of real scans and bad files to the local pipeline (local host + Azurite, and with --remote the scoring worker), " +
            "SIGKILLs the host, restarts Azurite, crashes the host with a poison scan (and kills and hangs the worker), then checks that every upload has " +
            "exactly one final result and one kind of message.")
        {
            scans, bad, kills, seed, attempts, drain, data, models, remote, remoteTimeout, work,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            // A run is judged by everything its Azurite holds, so an earlier run's data would count as this run's.
            if (parse.GetValue(work) is { } given && Directory.Exists(given) && Directory.EnumerateFileSystemEntries(given).Any())
            {
                await Console.Error.WriteLineAsync($"covidscan torture: --work {given} is not empty (an earlier run's storage would be checked as this run's); give a new or empty folder.");
                return 2;
            }

            var settings = new TortureSettings(
                parse.GetValue(scans),
                parse.GetValue(bad),
                parse.GetValue(kills),
                parse.GetValue(seed),
                parse.GetValue(attempts),
                Path.GetFullPath(parse.GetValue(data)!),
                Path.GetFullPath(parse.GetValue(models)!),
                parse.GetValue(work) is { } folder ? Path.GetFullPath(folder) : Directory.CreateTempSubdirectory("covidscan-torture-").FullName,
                TimeSpan.FromMinutes(parse.GetValue(drain)),
                parse.GetValue(remote) switch
                {
                    "fallback" => RemoteScoring.Fallback,
                    "no-fallback" => RemoteScoring.NoFallback,
                    _ => RemoteScoring.Off,
                },
                parse.GetValue(remoteTimeout));
            if (settings.Scans < 10 || settings.HostKills < 3 || settings.BadPercent is < 0 or > 100 || settings.MaxAttempts < 1 || settings.RemoteTimeoutSeconds is < 1 or > 600)
            {
                Console.Error.WriteLine("covidscan torture: needs --scans >= 10, --kills >= 3, --bad-percent 0-100, --max-attempts >= 1 and --remote-timeout 1-600.");
                return 2;
            }

            var report = await TortureRun.RunAsync(settings, Console.Out, cancellationToken);
            return report.Violations.Count == 0 ? 0 : 1;
        });

        var poison = new Option<string>("--poison-sha256") { Description = "SHA-256 (hex) of the scan whose scoring crashes the process.", Required = true };
        var host = new Command("host", "The local host as the product composes it, with a scorer that calls Environment.FailFast on the poison scan (the run starts it).")
        {
            poison,
        };
        host.SetAction(async (parse, cancellationToken) =>
        {
            await TortureHost.Build(parse.GetValue(poison)!).RunAsync(cancellationToken);
            return 0;
        });
        command.Subcommands.Add(host);
        return command;
    }
}
