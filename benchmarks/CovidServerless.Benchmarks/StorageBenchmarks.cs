using System.Diagnostics;
using Azure.Storage.Blobs;
using CovidServerless.Core;
using CovidServerless.Core.Models;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using CovidServerless.Core.Storage;
using CovidServerless.DevTools;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace CovidServerless.Benchmarks;

/// <param name="ScansPerMinute">First upload to last result queryable (includes the watcher's detection delay).</param>
/// <param name="SteadyScansPerMinute">Between the first and the last result (processedAt): the pipeline's sustained rate.</param>
/// <param name="IngestConcurrency">Scans the host's watcher ingests at once.</param>
/// <param name="MachineBusy">Share of all cores busy (any process) between the first and the last result.</param>
/// <param name="Requests">Storage requests per scan during the burst, when Azurite logged them.</param>
/// <param name="ClientCpuSeconds">This process's CPU time during the burst: the uploads and the reads of the results queue.</param>
/// <param name="WorkerCpuSeconds">The scoring worker's CPU time during the burst, when the host scored through it.</param>
/// <param name="AzuriteProcesses">Each Azurite process's CPU time during the burst, with how busy its main thread was.</param>
public sealed record EndToEndResult(
    int Scans, double Seconds, double ScansPerMinute, double SteadyScansPerMinute, double P50TimeToResultSeconds, double P95TimeToResultSeconds, int IngestConcurrency,
    IReadOnlyList<StorageProcessCpu> AzuriteProcesses, double HostCpuSeconds, double ClientCpuSeconds, double HostStartToReadySeconds, double MachineBusy, RequestCensus? Requests,
    double? WorkerCpuSeconds = null)
{
    /// <summary>Azurite's CPU time during the burst, all its processes.</summary>
    public double AzuriteCpuSeconds => AzuriteProcesses.Sum(p => p.CpuSeconds);

    /// <summary>The busiest Azurite main thread's share of one core between the first and the last result: near 100%,
    /// that process could serve no more, and the emulator set the rate.</summary>
    public double BusiestAzuriteThread => AzuriteProcesses.Count > 0 ? AzuriteProcesses.Max(p => p.MainThreadBusy) : double.NaN;
}

/// <param name="Name">"azurite", or "blob", "queue" or "table" when Azurite ran as one process per service.</param>
/// <param name="CpuSeconds">The process's CPU time during the burst, all its threads.</param>
/// <param name="MainThreadCpuSeconds">Its main thread's alone during the burst. Node.js runs all of a process's
/// JavaScript on that thread; the others are its garbage collector's and libuv's helpers.</param>
/// <param name="MainThreadBusy">The main thread's share of one core between the first and the last result.</param>
public sealed record StorageProcessCpu(string Name, double CpuSeconds, double MainThreadCpuSeconds, double MainThreadBusy);

/// <summary>Table and queue writes, and the whole pipeline (Azurite + local host) under a burst of uploads.</summary>
public sealed class StorageBenchmarks(BenchSettings settings)
{
    private static readonly string[] MemberNames = ["vgg16", "resnet50", "inceptionv3", "xception"];

    private static StorageClients ClientsFor(Azurite storage) => new(
        new ConfigurationBuilder().AddInMemoryCollection([new("AzureWebJobsStorage", storage.ConnectionString)]).Build(),
        Options.Create(new StorageOptions()));

    public async Task<(Stats TableWrite, Stats QueueSend)> WritesAsync(Azurite azurite)
    {
        var clients = ClientsFor(azurite);
        var store = new ResultStore(clients, Options.Create(new StorageOptions()));
        var notifier = new ResultNotifier(clients, Options.Create(new StorageOptions()));
        var n = 0;
        ScanResult Next(out ScanIdentity id)
        {
            id = new ScanIdentity(Modality.Chest, $"bench/{n++}.png", $"\"0x{n}\"", DateTimeOffset.UtcNow);
            return new ScanResult
            {
                ScanId = id.ScanId,
                Modality = "chest",
                BlobName = id.BlobName,
                BlobVersion = id.BlobVersion,
                Status = ScanStatus.Scored,
                Verdict = "covid",
                PCovid = 0.9,
                Threshold = 0.5,
                UploadedAt = id.UploadedAt,
                ProcessedAt = DateTimeOffset.UtcNow,
                Models = [.. MemberNames.Select(m => new ModelScore(m, "1", 0.9, "covid"))],
            };
        }

        var table = await Stats.MeasureAsync(
            async () =>
            {
                var result = Next(out var id);
                await store.SaveAsync(result, id, default);
                await store.AddToTimelineAsync(result, id, default);
            },
            settings.Runs);
        var queue = await Stats.MeasureAsync(() => notifier.PublishAsync(Next(out _), default), settings.Runs);
        return (table, queue);
    }

    /// <summary>
    /// A fresh Azurite and a fresh local host process per run, as ./run.sh starts them, so one run's blobs,
    /// listeners and JIT state never carry over into the next, and the host's CPU time is its own.
    /// </summary>
    /// <param name="countRequests">Have Azurite log every request and count them (its logging costs CPU: census only).</param>
    /// <param name="split">Pin the host to the pipeline's cores, and Azurite and this process (the benchmark's client) to
    /// storage's, once both are up; null: all share every core.</param>
    /// <param name="scoringWorker">Score through a scoring-worker process on this provider over HTTP (Scoring:Mode=Remote,
    /// no in-process fall-back), as the deployed app does with the GPU worker; the worker batches as in process. Null:
    /// the host scores in process.</param>
    /// <param name="azuritePerService">Run Azurite as one process per service (<see cref="Azurite.OneProcessPerService"/>).</param>
    public async Task<EndToEndResult> EndToEndAsync(
        IReadOnlyList<(Modality Modality, byte[] Image)> scans, bool batchInProcess, int ingestConcurrency, int concurrentScans, bool countRequests = false, CoreSplit? split = null, ExecutionProvider? scoringWorker = null,
        bool azuritePerService = false)
    {
        var localHost = ChildHost.Build(settings, "CovidServerless.LocalHost")
            ?? throw new InvalidOperationException("Build the local host first: dotnet build src/CovidServerless.LocalHost -c Release.");
        var concurrent = concurrentScans.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var worker = scoringWorker is { } provider ? await StartWorkerAsync(provider, concurrent, scans, ingestConcurrency) : null;
        await using var storage = new Azurite { LogRequests = countRequests, OneProcessPerService = azuritePerService };
        await storage.StartAsync();
        var environment = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = storage.ConnectionString,
            ["Models__ManifestPath"] = settings.ManifestPath,
            ["Scoring__BatchInProcess"] = batchInProcess ? "true" : "false",
            ["ScanWatch__Concurrency"] = ingestConcurrency.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Models__MaxConcurrentScans"] = concurrent,
        };
        if (worker is not null)
        {
            environment["Scoring__Mode"] = "Remote";
            environment["Scoring__RemoteEndpoint"] = worker.Url.ToString();
            environment["Scoring__FallbackToInProcess"] = "false";
        }

        await using var host = await ChildHost.StartAsync(localHost, "/api/health", environment, settings.RepoRoot);
        if (split is not null)
        {
            CpuAffinity.Pin(host.ProcessId, split.Pipeline);
            foreach (var azurite in storage.ProcessIds.Values)
            {
                CpuAffinity.Pin(azurite, split.Storage, withChildren: true);
            }

            CpuAffinity.Pin(Environment.ProcessId, split.Storage);
        }

        try
        {
            return await BurstAsync(scans, storage, host, worker, ingestConcurrency, countRequests);
        }
        finally
        {
            if (split is not null)
            {
                CpuAffinity.Pin(Environment.ProcessId, CpuAffinity.AllCores);
            }
        }
    }

    /// <summary>
    /// The worker, warmed by scans posted straight to it: it runs with tiered compilation (as deployed), so the
    /// burst measures a long-running worker past its tier-up, not a fresh one.
    /// </summary>
    private async Task<ChildHost> StartWorkerAsync(ExecutionProvider provider, string concurrentScans, IReadOnlyList<(Modality Modality, byte[] Image)> scans, int inFlight)
    {
        var dll = ChildHost.Build(settings, "CovidServerless.Worker")
            ?? throw new InvalidOperationException("Build the scoring worker first: dotnet build src/CovidServerless.Worker -c Release.");
        var worker = await ChildHost.StartAsync(dll, "/readyz", new Dictionary<string, string>
        {
            ["Models__ManifestPath"] = settings.ManifestPath,
            ["WorkerAuth__DisabledForLocalDevelopment"] = "true", // ChildHost listens on 127.0.0.1
            ["Models__MaxConcurrentScans"] = concurrentScans,
            ["Models__Provider"] = provider.ToString(),
        }, settings.RepoRoot);
        try
        {
            await WorkerOverHttp.EnsureModelsOnAsync(worker.Url, provider);
            await WarmAsync(worker.Url, scans, inFlight);
            return worker;
        }
        catch
        {
            await worker.DisposeAsync();
            throw;
        }
    }

    private async Task WarmAsync(Uri worker, IReadOnlyList<(Modality Modality, byte[] Image)> scans, int inFlight)
    {
        using var http = new HttpClient { BaseAddress = worker };
        using var gate = new SemaphoreSlim(inFlight);
        await Task.WhenAll(Enumerable.Range(0, settings.WorkerWarmupScans).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var (modality, image) = scans[i % scans.Count];
                using var content = ColdStart.Body(image);
                using var response = await http.PostAsync($"/score/{modality.ToName()}", content);
                response.EnsureSuccessStatusCode();
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    private static async Task<EndToEndResult> BurstAsync(
        IReadOnlyList<(Modality Modality, byte[] Image)> scans, Azurite storage, ChildHost host, ChildHost? worker, int ingestConcurrency, bool countRequests)
    {
        var clients = ClientsFor(storage);
        var blobs = clients.Blobs;
        // Bursts end within seconds; a pipeline stuck for minutes fails the run rather than spend a GPU lease waiting.
        var announced = new ResultMessages(clients, TimeSpan.FromMinutes(2));

        // A warm-up burst first, so that the timed burst measures the steady state of a long-running host, not the
        // JIT compiling its storage, trigger and scoring code on first use.
        var warmup = scans.Take(Math.Max(1, scans.Count / 4)).ToList();
        await Task.WhenAll(warmup.Select((scan, i) => UploadAsync(blobs, scan.Modality, $"warmup/{i}.png", scan.Image)));
        await announced.WaitForAsync(warmup.Select((scan, i) => (scan.Modality, $"warmup/{i}.png")));

        storage.Requests.Clear();
        using var sampling = new CancellationTokenSource();
        var machine = CpuSampler.SampleAsync(storage.ProcessIds, sampling.Token);
        var azuriteCpu = storage.ProcessIds.ToDictionary(p => p.Key, p => (All: ProcessCpu.Seconds(p.Value), Main: ProcessCpu.MainThreadSeconds(p.Value)));
        var hostCpu = ProcessCpu.Seconds(host.ProcessId);
        var workerCpu = ProcessCpu.Seconds(worker?.ProcessId);
        using var self = Process.GetCurrentProcess();
        var clientCpu = self.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var uploaded = new DateTimeOffset[scans.Count];
        await Task.WhenAll(scans.Select(async (scan, i) =>
        {
            await UploadAsync(blobs, scan.Modality, $"burst/{i}.png", scan.Image);
            uploaded[i] = DateTimeOffset.UtcNow;
        }));
        var results = await announced.WaitForAsync(scans.Select((scan, i) => (scan.Modality, $"burst/{i}.png")));

        var seconds = clock.Elapsed.TotalSeconds;
        azuriteCpu = storage.ProcessIds.ToDictionary(p => p.Key, p => (ProcessCpu.Seconds(p.Value) - azuriteCpu[p.Key].All, ProcessCpu.MainThreadSeconds(p.Value) - azuriteCpu[p.Key].Main));
        hostCpu = ProcessCpu.Seconds(host.ProcessId) - hostCpu;
        workerCpu = ProcessCpu.Seconds(worker?.ProcessId) - workerCpu;
        self.Refresh();
        var clientSeconds = (self.TotalProcessorTime - clientCpu).TotalSeconds;
        await sampling.CancelAsync();
        var cpuSamples = await machine;
        var requests = countRequests ? RequestCensus.Count([.. storage.Requests], scans.Count) : null;
        var ttr = results.Select((r, i) => (r.ProcessedAt - uploaded[i]).TotalSeconds).Order().ToArray();
        var processed = results.Select(r => r.ProcessedAt).Order().ToArray();
        var steady = (processed.Length - 1) / (processed[^1] - processed[0]).TotalSeconds * 60;
        var window = CpuSampler.Window(cpuSamples, processed[0], processed[^1]);
        List<StorageProcessCpu> azurite = [.. azuriteCpu.Select(p => new StorageProcessCpu(p.Key, p.Value.All, p.Value.Main, CpuSampler.MainThreadBusy(window, p.Key)))];
        return new EndToEndResult(
            scans.Count, seconds, scans.Count / seconds * 60, steady, ttr[ttr.Length / 2], ttr[(int)Math.Round(0.95 * (ttr.Length - 1))], ingestConcurrency,
            azurite, hostCpu, clientSeconds, host.StartToReady.TotalSeconds, CpuSampler.MachineBusy(window), requests, worker is null ? null : workerCpu);
    }

    private static async Task UploadAsync(BlobServiceClient blobs, Modality modality, string name, byte[] image)
    {
        // The host created the containers before it reported ready.
        await blobs.GetBlobContainerClient(ScanContainers.For(modality)).GetBlobClient(name).UploadAsync(new BinaryData(image), overwrite: true);
    }
}
