using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs.Models;
using CovidServerless.Core;
using CovidServerless.Core.Ingestion;
using CovidServerless.Core.Results;
using CovidServerless.Core.Storage;
using CovidServerless.DevTools;
using Microsoft.Extensions.Options;

namespace CovidServerless.Torture;

/// <summary>
/// One torture run: Azurite with its data on disk, the torture host under a <see cref="HostSupervisor"/>, a burst of
/// uploads, the faults at seeded moments (SIGKILLs of the host while it works through the backlog, one Azurite stop
/// and start while the burst is being uploaded, the poison scan's crashes), then the checks of what storage holds.
/// </summary>
public static class TortureRun
{
    private static readonly string[] Configurations = ["Release", "Debug"];
    private static readonly string[] FinalStatuses = [ScanStatus.Scored, ScanStatus.Rejected, ScanStatus.Failed];

    public static async Task<TortureReport> RunAsync(TortureSettings settings, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(output);
        var report = new TortureReport();
        var plan = Corpus.Make(settings);
        var poison = plan.Single(u => u.Kind == UploadKind.Poison);
        report.Uploaded = plan.Count;
        report.ValidScans = plan.Count(u => u.Kind == UploadKind.Valid);
        report.BadFiles = plan.Count(u => u.Kind == UploadKind.Bad);
        var random = new Random(settings.Seed + 1);
        output.WriteLine(
            $"torture: {plan.Count:N0} uploads ({report.ValidScans:N0} real scans, {report.BadFiles:N0} bad files, 1 poison scan), seed {settings.Seed}, " +
            $"{settings.HostKills} SIGKILLs, 1 Azurite restart, ScanWatch:MaxAttempts {settings.MaxAttempts}; work folder {settings.WorkFolder}");
        output.WriteLine($"torture: the host is covidscan-torture's 'host' command: the product's LocalHostApp with its scorer wrapped to FailFast on the poison scan's SHA-256.");
        if (settings.Remote != RemoteScoring.Off)
        {
            output.WriteLine(
                $"torture: remote scoring through the worker (src/CovidServerless.Worker, its own process), fallback {(settings.Remote == RemoteScoring.Fallback ? "on" : "off")}, " +
                $"Scoring:RemoteTimeoutSeconds {settings.RemoteTimeoutSeconds}; the worker is SIGKILLed once and hangs once (SIGSTOP for {settings.WorkerHang.TotalSeconds:F0} s).");
        }

        var azurite = new Azurite { DataFolder = Path.Combine(settings.WorkFolder, "azurite") };
        Directory.CreateDirectory(azurite.DataFolder);
        await using var azuriteLifetime = azurite;
        await azurite.StartAsync();
        var clients = new StorageClients(
            new ConfigurationBuilder().AddInMemoryCollection([new("AzureWebJobsStorage", azurite.ConnectionString)]).Build(),
            Options.Create(new StorageOptions()));
        foreach (var modality in ModalityNames.All)
        {
            await clients.Blobs.GetBlobContainerClient(ScanContainers.For(modality)).CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        }

        var hostUrl = $"http://127.0.0.1:{Azurite.FreePort()}";
        var hostDll = HostDll();
        var poisonHash = Corpus.Sha256(poison.Bytes);

        // The scoring worker, in remote mode: the product's own build, started, restarted and signalled like the host.
        // It keeps its port for restarts, as a service would.
        var workerUrl = hostUrl;
        while (workerUrl == hostUrl)
        {
            workerUrl = $"http://127.0.0.1:{Azurite.FreePort()}";
        }

        HostSupervisor? worker = null;
        if (settings.Remote != RemoteScoring.Off)
        {
            var workerDll = WorkerDll();
            worker = new HostSupervisor(
                () =>
                {
                    var start = new ProcessStartInfo("dotnet", [workerDll])
                    {
                        UseShellExecute = false,
                        RedirectStandardOutput = true,
                        RedirectStandardError = true,
                        WorkingDirectory = RepoPaths.Root,
                    };
                    start.Environment["Urls"] = workerUrl;
                    start.Environment["WorkerAuth__DisabledForLocalDevelopment"] = "true"; // loopback only
                    start.Environment["Models__ManifestPath"] = settings.Manifest;
                    start.Environment["Logging__LogLevel__Default"] = "Warning";
                    start.Environment["DOTNET_DbgEnableMiniDump"] = "0";
                    return start;
                },
                Path.Combine(settings.WorkFolder, "worker.log"),
                "worker");
            worker.Start();
        }

        await using var workerLifetime = worker;
        var supervisor = new HostSupervisor(
            () =>
            {
                var start = new ProcessStartInfo("dotnet", [hostDll, "host", "--poison-sha256", poisonHash])
                {
                    UseShellExecute = false,
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    WorkingDirectory = RepoPaths.Root,
                };
                start.Environment["AzureWebJobsStorage"] = azurite.ConnectionString;
                start.Environment["Urls"] = hostUrl;
                start.Environment["Models__ManifestPath"] = settings.Manifest;
                start.Environment["ScanWatch__MaxAttempts"] = settings.MaxAttempts.ToString(CultureInfo.InvariantCulture);
                start.Environment["Logging__LogLevel__Default"] = "Warning";
                start.Environment["DOTNET_DbgEnableMiniDump"] = "0";
                if (settings.Remote != RemoteScoring.Off)
                {
                    start.Environment["Scoring__Mode"] = "Remote";
                    start.Environment["Scoring__RemoteEndpoint"] = workerUrl;
                    start.Environment["Scoring__FallbackToInProcess"] = settings.Remote == RemoteScoring.Fallback ? "true" : "false";
                    start.Environment["Scoring__RemoteTimeoutSeconds"] = settings.RemoteTimeoutSeconds.ToString(CultureInfo.InvariantCulture);
                }

                return start;
            },
            Path.Combine(settings.WorkFolder, "host.log"),
            "host",
            FallbackLogged,
            WaitLogged);
        await using var supervisorLifetime = supervisor;
        supervisor.Start();

        // The faults' moments, from the seed: Azurite's restart once this share of the burst is uploaded, each kill once
        // this share of the uploads has a message on the results queue (plus up to 0.25 s). The kills are spread over
        // the first 45% of the results, each within 5 points of its even share, so that however fast the machine
        // drains the rest, every kill lands while a host still has a backlog: a kill needs the next host to have
        // announced scans, and a host announces a few dozen a second here, so kills land later than drawn (a last kill
        // drawn at 48% once landed at 85%; drawn up to 80%, or up to 60% with a delay of up to 1 s, it was outrun).
        var azuriteAt = (int)(plan.Count * (0.3 + (0.3 * random.NextDouble())));
        var killAt = Enumerable.Range(0, settings.HostKills)
            .Select(i => (0.45 * (i + 1) / (settings.HostKills + 1)) + (0.1 * (random.NextDouble() - 0.5)))
            .Order().ToList();
        var killDelays = killAt.Select(_ => TimeSpan.FromMilliseconds(random.Next(250))).ToList();
        output.WriteLine($"torture: Azurite restarts after upload {azuriteAt:N0}; the host is killed at {string.Join(", ", killAt.Select(k => k.ToString("P0", CultureInfo.InvariantCulture)))} of the results.");

        // The worker's faults, drawn after the others so that a run without a worker keeps its moments: its SIGKILL
        // between 15% and 30% of the results, its hang between 35% and 50%, each once it has scored since its start.
        var workerKillAt = 0.15 + (0.15 * random.NextDouble());
        var workerHangAt = 0.35 + (0.15 * random.NextDouble());
        if (worker is not null)
        {
            output.WriteLine($"torture: the worker is killed at {workerKillAt:P0} and hangs at {workerHangAt:P0} of the results.");
        }

        var workerScored = new Dictionary<int, long>(); // per worker process: requests it answered with a score
        using var metrics = new HttpClient { BaseAddress = new Uri(workerUrl), Timeout = TimeSpan.FromSeconds(2) };
        var resume = Task.CompletedTask; // the hang's end: the worker continued (SIGCONT)
        var felt = settings.Remote == RemoteScoring.Fallback ? FallbackLogged : WaitLogged;
        (int Felt, TimeSpan At)? workerFault = null; // the host's lines saying it felt a worker fault, when the last one landed

        var clock = Stopwatch.StartNew();
        var versions = new ConcurrentDictionary<int, string>();
        var uploaded = 0;
        var next = -1;
        var azuriteRestart = Task.CompletedTask;
        var azuritePeak = 0L;
        async Task UploadAsync()
        {
            while (Interlocked.Increment(ref next) is var i && i < plan.Count)
            {
                versions[i] = await UploadOnceAsync(clients, plan[i], cancellationToken);
                if (Interlocked.Increment(ref uploaded) == azuriteAt)
                {
                    azuriteRestart = Task.Run(async () =>
                    {
                        SampleAzurite(azurite, ref azuritePeak);
                        var (blob, queue, table) = (azurite.BlobPort, azurite.QueuePort, azurite.TablePort);
                        report.AzuriteDown = await azurite.RestartAsync(TimeSpan.FromSeconds(2));
                        report.AzuriteRestarts++;
                        if ((blob, queue, table) != (azurite.BlobPort, azurite.QueuePort, azurite.TablePort))
                        {
                            report.Violations.Add("Azurite came back on other ports (its own were taken): the run cannot go on.");
                        }

                        output.WriteLine($"torture: Azurite stopped (SIGTERM) and started again on its data after upload {azuriteAt:N0}: down {report.AzuriteDown.TotalSeconds:F1} s.");
                    }, cancellationToken);
                }
            }
        }

        var uploading = Task.WhenAll(Enumerable.Range(0, 4).Select(_ => UploadAsync()));
        // The faults' clock reads the queue without retries: a client that retried through the Azurite outage held
        // the loop for seconds while the host scored on, so the first kill once landed at 87 % instead of 18 %.
        var queue = new Azure.Storage.Queues.QueueClient(
            azurite.ConnectionString,
            new StorageOptions().ResultsQueue,
            new Azure.Storage.Queues.QueueClientOptions { Retry = { MaxRetries = 0, NetworkTimeout = TimeSpan.FromSeconds(2) } });
        var kills = 0;
        var (hostStart, messagesAtHostStart) = (0, 0);
        var drained = false;
        var lastCheck = TimeSpan.Zero;
        var deadline = TimeSpan.Zero;
        var leastMissing = int.MaxValue;
        while (!drained)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await Task.Delay(500, cancellationToken);
            SampleAzurite(azurite, ref azuritePeak);
            if (uploading.IsCompleted && deadline == TimeSpan.Zero)
            {
                await uploading;
                report.UploadTime = clock.Elapsed;
                deadline = clock.Elapsed + settings.DrainTimeout;
                output.WriteLine($"torture: {plan.Count:N0} uploads done in {report.UploadTime.TotalSeconds:F1} s.");
            }

            // Every fault needs its share of the results and a host that has announced scans since it started: each
            // lands while a host works through the backlog, not while it loads its models. At most one fault a round,
            // the worker's first when both are due (the kills' shares overlap the worker's).
            if (await MessagesAsync(queue) is not { } messages)
            {
                // Storage down: no fault is timed, nor the drain checked, until it answers (or the run gives up).
                if (deadline != TimeSpan.Zero && clock.Elapsed > deadline)
                {
                    output.WriteLine($"torture: storage has not answered for {settings.DrainTimeout.TotalMinutes:F0} min; giving up.");
                    break;
                }

                continue;
            }

            if (supervisor.Starts != hostStart)
            {
                (hostStart, messagesAtHostStart) = (supervisor.Starts, messages);
            }

            var hostWorking = messages > messagesAtHostStart && supervisor.CurrentPid is not null;
            var workerFaulted = false;
            if (worker is not null && hostWorking && resume.IsCompleted && worker.CurrentPid is { } workerPid)
            {
                // Each worker fault lands on a worker that has scored since its start, so that the host is using it.
                var scoredSinceStart = await WorkerScoredAsync(metrics);
                if (scoredSinceStart is { } scored)
                {
                    workerScored[workerPid] = scored;
                }

                if (scoredSinceStart > 0 && worker.Kills == 0 && messages >= workerKillAt * plan.Count && worker.Kill())
                {
                    workerFaulted = true;
                    output.WriteLine($"torture: SIGKILL of the worker at {clock.Elapsed.TotalSeconds:F1} s (it had scored {scoredSinceStart:N0} requests).");
                }
                else if (scoredSinceStart > 0 && worker.Hangs == 0 && messages >= workerHangAt * plan.Count && await worker.PauseAsync() is { } stopped)
                {
                    workerFaulted = true;
                    output.WriteLine($"torture: the worker hangs (SIGSTOP) at {clock.Elapsed.TotalSeconds:F1} s for {settings.WorkerHang.TotalSeconds:F0} s.");
                    resume = Task.Run(
                        async () =>
                        {
                            await Task.Delay(settings.WorkerHang, CancellationToken.None);
                            await worker.ResumeAsync(stopped);
                        },
                        CancellationToken.None);
                }

                if (workerFaulted)
                {
                    workerFault = (supervisor.Seen(felt), clock.Elapsed);
                }
            }

            // No kill until the host has felt the worker's latest fault (for at most the hang and 5 s more, past a
            // call's whole budget): a host killed before its requests fail never meets the fault, and the next one
            // may start after it. Once felt, a kill may land in the hang: held for all of it, a host scoring
            // in-process (fallback) drained a small run first.
            var faultUnfelt = workerFault is { } fault && supervisor.Seen(felt) == fault.Felt && clock.Elapsed - fault.At < settings.WorkerHang + TimeSpan.FromSeconds(5);
            if (!workerFaulted && hostWorking && kills < killAt.Count && messages >= killAt[kills] * plan.Count && !faultUnfelt)
            {
                await Task.Delay(killDelays[kills], cancellationToken);
                if (supervisor.Kill())
                {
                    kills++;
                    messagesAtHostStart = int.MaxValue; // no host works until the next one has announced scans
                    output.WriteLine($"torture: SIGKILL {kills} of the host at {clock.Elapsed.TotalSeconds:F1} s ({messages:N0} messages announced before it).");
                }
            }

            if (deadline != TimeSpan.Zero && azuriteRestart.IsCompleted && clock.Elapsed - lastCheck > TimeSpan.FromSeconds(5))
            {
                lastCheck = clock.Elapsed;
                var missing = await MissingAsync(clients, plan, versions);
                drained = missing == 0;
                if (missing < leastMissing)
                {
                    // Progress: on a loaded machine the backlog drains slowly, and only a stall means scans are stuck.
                    (leastMissing, deadline) = (missing, clock.Elapsed + settings.DrainTimeout);
                }
                else if (!drained && clock.Elapsed > deadline)
                {
                    output.WriteLine($"torture: {missing:N0} uploads still without a final result recorded to the end, none answered in the last {settings.DrainTimeout.TotalMinutes:F0} min; giving up.");
                    break;
                }
            }
        }

        report.DrainTime = clock.Elapsed;
        report.HostStarts = supervisor.Starts;
        report.HostKills = supervisor.Kills;
        report.PoisonCrashes = supervisor.PoisonCrashes;
        report.OtherHostExits = [.. supervisor.OtherExits];
        report.PeakHostBytes = supervisor.PeakHostBytes;
        await supervisor.DisposeAsync();
        if (worker is not null)
        {
            await resume;
            report.WorkerStarts = worker.Starts;
            report.WorkerKills = worker.Kills;
            report.WorkerHangs = worker.Hangs;
            report.OtherWorkerExits = [.. worker.OtherExits];
            report.WorkerScored = workerScored.Values.Sum();
            report.PeakWorkerBytes = worker.PeakHostBytes;
            await worker.DisposeAsync();
            report.HostFallbacks = supervisor.Seen(FallbackLogged);
            report.HostScorerWaits = supervisor.Seen(WaitLogged);
        }

        await azuriteRestart;
        SampleAzurite(azurite, ref azuritePeak);
        report.PeakAzuriteBytes = azuritePeak;

        await CheckAsync(clients, plan, versions, settings, report);
        Print(report, settings, output);
        return report;
    }

    /// <summary>What the host logs when the worker is unavailable and a scan goes to in-process scoring (RemoteScanScorer).</summary>
    private const string FallbackLogged = "scoring in-process";

    /// <summary>What the host logs when the scorer cannot take a scan now and it waits without using an attempt (ScanWatcher).</summary>
    private const string WaitLogged = "without counting an attempt";

    /// <summary>
    /// The requests the worker process now running has answered with a score (its Prometheus counter); null when it
    /// does not answer (starting, or stopped).
    /// </summary>
    private static async Task<long?> WorkerScoredAsync(HttpClient worker)
    {
        try
        {
            var text = await worker.GetStringAsync("metrics");
            return text.Split('\n')
                .Where(line => line.StartsWith("covidscan_worker_requests_total{", StringComparison.Ordinal) && line.Contains("outcome=\"scored\"", StringComparison.Ordinal))
                .Sum(line => (long)double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>The scoring worker as the product builds it (src/CovidServerless.Worker; this project's build builds it too).</summary>
    private static string WorkerDll()
    {
        var candidates = Configurations.Select(c => Path.Combine(RepoPaths.Root, "src", "CovidServerless.Worker", "bin", c, "net10.0", "linux-x64", "CovidServerless.Worker.dll"));
        return candidates.FirstOrDefault(dll => File.Exists(dll) && File.Exists(Path.ChangeExtension(dll, ".runtimeconfig.json")))
            ?? throw new InvalidOperationException("The scoring worker is not built: dotnet build src/CovidServerless.Worker -c Release");
    }

    /// <summary>The torture host: this program's own build (its "host" command), beside this assembly or in the project's bin folder.</summary>
    private static string HostDll()
    {
        var beside = Path.Combine(AppContext.BaseDirectory, "covidscan-torture.dll");
        string[] candidates = [beside, .. Configurations.Select(c => Path.Combine(RepoPaths.Root, "tests", "CovidServerless.Torture", "bin", c, "net10.0", "linux-x64", "covidscan-torture.dll"))];
        return candidates.FirstOrDefault(dll => File.Exists(dll) && File.Exists(Path.ChangeExtension(dll, ".runtimeconfig.json")))
            ?? throw new InvalidOperationException("covidscan-torture is not built: dotnet build tests/CovidServerless.Torture -c Release");
    }

    /// <summary>
    /// Uploads one file as a client that retries through a storage outage would: only if the blob does not exist, so a
    /// retry after an upload whose answer was lost adds no second version; then the version that exists is the one.
    /// </summary>
    private static async Task<string> UploadOnceAsync(StorageClients clients, PlannedUpload upload, CancellationToken cancellationToken)
    {
        var blob = clients.Blobs.GetBlobContainerClient(ScanContainers.For(upload.Modality)).GetBlobClient(upload.BlobName);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var options = new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } };
                return (await blob.UploadAsync(BinaryData.FromBytes(upload.Bytes), options, cancellationToken)).Value.ETag.ToString();
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                return (await blob.GetPropertiesAsync(cancellationToken: cancellationToken)).Value.ETag.ToString();
            }
            catch (Exception ex) when (attempt < 100 && ex is RequestFailedException or HttpRequestException or AggregateException or IOException)
            {
                await Task.Delay(500, cancellationToken);
            }
        }
    }

    /// <returns>The messages on the results queue: 0 before it exists, null while storage does not answer (in time).</returns>
    private static async Task<int?> MessagesAsync(Azure.Storage.Queues.QueueClient queue)
    {
        try
        {
            return (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return 0;
        }
        catch (Exception ex) when (ex is RequestFailedException or AggregateException or HttpRequestException or OperationCanceledException)
        {
            return null;
        }
    }

    private static string ScanIdOf(PlannedUpload upload, string etag) => new ScanIdentity(upload.Modality, upload.BlobName, etag, default).ScanId;

    private static async Task<List<TableEntity>> EnsembleRowsAsync(StorageClients clients) =>
        await clients.Tables.GetTableClient(new StorageOptions().ResultsTable)
            .QueryAsync<TableEntity>(filter: "Member eq 'ensemble'", select: ["ScanId", "Status", "Reason", "BlobName", "BlobVersion"])
            .ToListAsync();

    /// <returns>
    /// Uploads whose final result is not yet recorded to the end (all of them while storage cannot be read). The
    /// timeline row is a result's last write, after its result rows and its message: the run stops the host only
    /// once every upload has one, or it would cut off a recording and count the host's unfinished work against it.
    /// </returns>
    private static async Task<int> MissingAsync(StorageClients clients, IReadOnlyList<PlannedUpload> plan, ConcurrentDictionary<int, string> versions)
    {
        try
        {
            var final = (await clients.Tables.GetTableClient(new StorageOptions().TimelineTable)
                    .QueryAsync<TableEntity>(select: ["ScanId", "Status"]).ToListAsync())
                .Where(row => FinalStatuses.Contains(row.GetString("Status")))
                .Select(row => row.GetString("ScanId"))
                .ToHashSet();
            return plan.Select((upload, i) => ScanIdOf(upload, versions[i])).Count(id => !final.Contains(id));
        }
        catch (Exception ex) when (ex is RequestFailedException or AggregateException or HttpRequestException)
        {
            return plan.Count;
        }
    }

    private static async Task CheckAsync(
        StorageClients clients,
        IReadOnlyList<PlannedUpload> plan,
        ConcurrentDictionary<int, string> versions,
        TortureSettings settings,
        TortureReport report)
    {
        var expected = plan.Select((upload, i) => (Upload: upload, ScanId: ScanIdOf(upload, versions[i]))).ToList();
        var expectedIds = expected.Select(e => e.ScanId).ToHashSet();
        var rows = (await EnsembleRowsAsync(clients)).ToLookup(row => row.GetString("ScanId"));
        var results = clients.Tables.GetTableClient(new StorageOptions().ResultsTable);
        var index = (await results.QueryAsync<TableEntity>(filter: "PartitionKey ge 'scan-' and PartitionKey lt 'scan.'").ToListAsync())
            .ToDictionary(row => row.PartitionKey["scan-".Length..], row => ScanResult.FromJson(row.GetString("Result")));
        var timeline = (await clients.Tables.GetTableClient(new StorageOptions().TimelineTable).QueryAsync<TableEntity>().ToListAsync())
            .ToLookup(row => row.GetString("ScanId"));

        foreach (var (upload, scanId) in expected)
        {
            var mine = rows[scanId].ToList();
            var status = mine.Count == 1 ? mine[0].GetString("Status") : null;
            if (mine.Count == 0 || !FinalStatuses.Contains(status))
            {
                report.Lost++;
                Violation(report, $"lost: {Describe(upload)} has {(mine.Count == 0 ? "no result" : $"status '{status}'")}");
                continue;
            }

            if (mine.Count > 1)
            {
                Violation(report, $"{Describe(upload)} has {mine.Count} result rows for one version");
            }

            report.FinalResults++;
            switch (status)
            {
                case ScanStatus.Scored: report.Scored++; break;
                case ScanStatus.Rejected: report.Rejected++; break;
                default: report.Failed++; report.ValidScansFailed += upload.Kind == UploadKind.Valid ? 1 : 0; break;
            }

            // A real scan may end failed only when the hosts it was processed in died every time (beside the poison
            // scan): never because the worker was down or hung, nor for any other reason.
            var reason = mine[0].GetString("Reason") ?? string.Empty;
            if (settings.Remote != RemoteScoring.Off && upload.Kind == UploadKind.Valid && status == ScanStatus.Failed && !reason.StartsWith(HostDeathsReason, StringComparison.Ordinal))
            {
                report.ValidScansFailedOtherwise++;
                Violation(report, $"{Describe(upload)}: a real scan failed ({reason})");
            }

            if (!index.TryGetValue(scanId, out var indexed) || indexed.Status != status)
            {
                Violation(report, $"{Describe(upload)}: its scan-id index row is {(indexed is null ? "missing" : $"'{indexed.Status}'")}, its result '{status}'");
            }

            if (timeline[scanId].Count() != 1)
            {
                Violation(report, $"{Describe(upload)} has {timeline[scanId].Count()} timeline rows, not 1");
            }

            if (upload.Kind == UploadKind.Valid && status == ScanStatus.Rejected)
            {
                Violation(report, $"{Describe(upload)}: a real scan was rejected ({mine[0].GetString("Reason")})");
            }
        }

        foreach (var extra in rows.Where(group => !expectedIds.Contains(group.Key)))
        {
            Violation(report, $"a result row for scan id {extra.Key}, which no upload of this run has");
        }

        // Messages: every one on the queue, grouped by scan id, compared without processedAt.
        var bodies = new Dictionary<string, HashSet<string>>();
        var queue = clients.Queues.GetQueueClient(new StorageOptions().ResultsQueue);
        while (await queue.ExistsAsync())
        {
            var batch = (await queue.ReceiveMessagesAsync(32, TimeSpan.FromHours(1))).Value;
            if (batch.Length == 0)
            {
                break;
            }

            foreach (var message in batch)
            {
                var json = JsonNode.Parse(message.Body.ToString())!.AsObject();
                if ((string?)json["kind"] != ScanResult.KindName)
                {
                    continue;
                }

                report.Messages++;
                var scanId = (string)json["scanId"]!;
                json.Remove("processedAt");
                if (!bodies.TryGetValue(scanId, out var set))
                {
                    bodies[scanId] = set = [];
                }

                set.Add(json.ToJsonString());
            }
        }

        report.IdenticalDuplicates = report.Messages - bodies.Values.Sum(set => set.Count);
        foreach (var (scanId, set) in bodies)
        {
            if (set.Count > 1)
            {
                report.DifferingDuplicates++;
                Violation(report, $"scan id {scanId} was announced {set.Count} different ways: {string.Join(" | ", set.Select(body => body.Length > 400 ? body[..400] : body))}");
            }

            if (!rows.Contains(scanId))
            {
                report.MessagesWithoutRow++;
                Violation(report, $"a message for scan id {scanId} without a result row");
            }
        }

        foreach (var (upload, scanId) in expected.Where(e => rows.Contains(e.ScanId) && !bodies.ContainsKey(e.ScanId)))
        {
            report.RowsWithoutMessage++;
            Violation(report, $"{Describe(upload)} has a result row but no message");
        }

        // The poison scan: failed, after MaxAttempts attempts counted in storage, and the host no longer crashing on it.
        var poisonId = expected.Single(e => e.Upload.Kind == UploadKind.Poison).ScanId;
        report.PoisonStatus = rows[poisonId].FirstOrDefault()?.GetString("Status") ?? "none";
        var attempts = await results.GetEntityIfExistsAsync<TableEntity>($"attempts-{poisonId}", "attempts");
        report.PoisonAttempts = attempts.HasValue ? attempts.Value!.GetInt32("Attempts") ?? 0 : 0;
        if (report.PoisonStatus != ScanStatus.Failed)
        {
            Violation(report, $"the poison scan ended '{report.PoisonStatus}', not failed");
        }

        // Each attempt counted is a crash, the one that recorded it failed, or one that a SIGKILL of the run ended first
        // (on a loaded machine a kill can land while a host starts on the poison scan, or records it).
        if (report.PoisonAttempts < settings.MaxAttempts + 1 || report.PoisonAttempts > report.PoisonCrashes + report.HostKills + 1)
        {
            Violation(report, $"the poison scan's attempts in storage are {report.PoisonAttempts}, not {settings.MaxAttempts} that crashed plus the one that recorded it failed (plus at most one per SIGKILL of the run)");
        }

        if (report.PoisonCrashes > settings.MaxAttempts)
        {
            Violation(report, $"the poison scan crashed the host {report.PoisonCrashes} times, more than ScanWatch:MaxAttempts {settings.MaxAttempts}");
        }

        if (report.HostKills < settings.HostKills)
        {
            Violation(report, $"only {report.HostKills} of {settings.HostKills} SIGKILLs happened before the backlog drained");
        }

        if (report.AzuriteRestarts != 1)
        {
            Violation(report, "Azurite was not restarted mid-burst");
        }

        if (settings.Remote != RemoteScoring.Off)
        {
            if (report.WorkerKills != 1 || report.WorkerHangs != 1)
            {
                Violation(report, $"the worker was killed {report.WorkerKills} and hung {report.WorkerHangs} times, not once each, before the backlog drained");
            }

            if (report.WorkerScored == 0)
            {
                Violation(report, "the worker scored nothing: the host did not score through it");
            }

            var felt = settings.Remote == RemoteScoring.Fallback ? report.HostFallbacks : report.HostScorerWaits;
            if (felt == 0)
            {
                Violation(report, $"the host never logged '{(settings.Remote == RemoteScoring.Fallback ? FallbackLogged : WaitLogged)}': it did not meet the worker's faults");
            }

            if (report.OtherWorkerExits.Count > 0)
            {
                Violation(report, $"the worker ended on its own {report.OtherWorkerExits.Count} times (exit codes {string.Join(", ", report.OtherWorkerExits)})");
            }
        }
    }

    /// <summary>How the reason of a scan recorded failed after its hosts died during each attempt begins (ScanWatcher.DidNotFinish).</summary>
    private static readonly string HostDeathsReason = ScanWatcher.DidNotFinish(0)[..ScanWatcher.DidNotFinish(0).IndexOf('0', StringComparison.Ordinal)];

    private static string Describe(PlannedUpload upload) => $"{upload.Modality.ToName()}/{upload.BlobName} ({upload.Kind}, {upload.Description})";

    private static void Violation(TortureReport report, string text)
    {
        report.Violations.Add(text);
    }

    private static void SampleAzurite(Azurite azurite, ref long peak)
    {
        foreach (var pid in azurite.ProcessIds.Values)
        {
            if (HostSupervisor.PeakResidentBytes(pid) is { } bytes && bytes > peak)
            {
                peak = bytes;
            }
        }
    }

    private static void Print(TortureReport r, TortureSettings settings, TextWriter output)
    {
        const double MiB = 1024 * 1024;
        output.WriteLine("torture: summary");
        output.WriteLine($"  uploads            {r.Uploaded:N0} ({r.ValidScans:N0} real scans, {r.BadFiles:N0} bad files, 1 poison scan), seed {settings.Seed}");
        output.WriteLine($"  faults             {r.HostKills} SIGKILLs of the host, {r.PoisonCrashes} poison crashes (Environment.FailFast), {r.AzuriteRestarts} Azurite restart (down {r.AzuriteDown.TotalSeconds:F1} s); {r.HostStarts} host starts; other host exits: {(r.OtherHostExits.Count == 0 ? "none" : string.Join(", ", r.OtherHostExits))}");
        if (settings.Remote != RemoteScoring.Off)
        {
            output.WriteLine($"  worker             fallback {(settings.Remote == RemoteScoring.Fallback ? "on" : "off")}; {r.WorkerKills} SIGKILL, {r.WorkerHangs} hang (SIGSTOP {settings.WorkerHang.TotalSeconds:F0} s, then SIGCONT); {r.WorkerStarts} worker starts; other worker exits: {(r.OtherWorkerExits.Count == 0 ? "none" : string.Join(", ", r.OtherWorkerExits))}");
            output.WriteLine($"  through the worker {r.WorkerScored:N0} requests scored by it (at least); host logged {r.HostFallbacks:N0} in-process fallbacks, {r.HostScorerWaits:N0} waits for the scorer (no attempt used)");
        }

        output.WriteLine($"  final results      {r.FinalResults:N0} of {r.Uploaded:N0}: {r.Scored:N0} scored, {r.Rejected:N0} rejected, {r.Failed:N0} failed (real scans among them: {r.ValidScansFailed - r.ValidScansFailedOtherwise} caught in their hosts' deaths{(settings.Remote == RemoteScoring.Off ? string.Empty : $", {r.ValidScansFailedOtherwise} for another reason")})");
        output.WriteLine($"  lost               {r.Lost}");
        output.WriteLine($"  messages           {r.Messages:N0}: identical duplicates {r.IdenticalDuplicates}, differing duplicates {r.DifferingDuplicates}; rows without message {r.RowsWithoutMessage}, messages without row {r.MessagesWithoutRow}");
        output.WriteLine($"  poison scan        {r.PoisonStatus} after {r.PoisonAttempts} attempts counted in storage (ScanWatch:MaxAttempts {settings.MaxAttempts})");
        output.WriteLine($"  time               uploads {r.UploadTime.TotalSeconds:F1} s; drained (every upload final) {r.DrainTime.TotalSeconds:F1} s after the first upload");
        output.WriteLine($"  peak memory (RSS)  host {r.PeakHostBytes / MiB:F0} MiB (highest of its {r.HostStarts} processes), Azurite {r.PeakAzuriteBytes / MiB:F0} MiB{(settings.Remote == RemoteScoring.Off ? string.Empty : $", worker {r.PeakWorkerBytes / MiB:F0} MiB (highest of its {r.WorkerStarts})")}");
        output.WriteLine(r.Violations.Count == 0 ? "torture: PASS" : $"torture: FAIL, {r.Violations.Count} violations:");
        foreach (var violation in r.Violations.Take(50))
        {
            output.WriteLine($"  - {violation}");
        }
    }
}
