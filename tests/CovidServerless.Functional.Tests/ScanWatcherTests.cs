using CovidServerless.Core;
using CovidServerless.Core.Ingestion;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using CovidServerless.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace CovidServerless.Functional.Tests;

/// <summary>
/// The local host's blob trigger: the scan watcher on its own (no host), each test with a fresh Azurite, since the
/// watcher looks at every blob of the scan containers. Scoring is real (tiny models) and counted, to show that each
/// blob version is scored once.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "xunit disposes Azurite through IAsyncLifetime.DisposeAsync.")]
public sealed class ScanWatcherTests : IAsyncLifetime
{
    // Its access log lets a test count the watcher's listings.
    private readonly Azurite azurite = new() { LogRequests = true };
    private readonly ModelFolder models = ModelFolder.WithStandardEnsembles();
    private StorageHarness? storage;

    public async Task InitializeAsync()
    {
        // Azurite may move to other ports while it starts: connect only once it listens.
        await azurite.StartAsync();
        storage = new StorageHarness(azurite);
    }

    public async Task DisposeAsync()
    {
        models.Dispose();
        await azurite.DisposeAsync();
    }

    private sealed class Watching(ServiceProvider services, CountingScorer scorer, StorageHarness harness) : IAsyncDisposable
    {
        private readonly CancellationTokenSource stop = new();
        private Task? running;

        public CountingScorer Scorer => scorer;

        public LogMessages Logs => services.GetRequiredService<LogMessages>();

        public ResultsQuery Query => services.GetRequiredService<ResultsQuery>();

        public ResultStore Store => services.GetRequiredService<ResultStore>();

        /// <summary>The results queue's message for the blob, as a downstream consumer reads it.</summary>
        public async Task<ScanResult> MessageAsync(string name)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (DateTime.UtcNow < deadline)
            {
                if ((await harness.ResultMessagesAsync()).FirstOrDefault(m => m.BlobName == name) is { } message)
                {
                    return message;
                }

                await Task.Delay(50);
            }

            throw new TimeoutException($"No results message for {name} within 30 s.");
        }

        public Watching Start()
        {
            running = services.GetRequiredService<ScanWatcher>().RunAsync(stop.Token);
            return this;
        }

        public async Task<ScanResult> ResultAsync(Modality modality, string name, Func<ScanResult, bool>? until = null, int withinSeconds = 30)
        {
            var deadline = DateTime.UtcNow.AddSeconds(withinSeconds);
            while (DateTime.UtcNow < deadline)
            {
                if (await Query.GetLatestAsync(modality, name, default) is { } result && (until?.Invoke(result) ?? true))
                {
                    return result;
                }

                await Task.Delay(50);
            }

            throw new TimeoutException($"No result for {name} within {withinSeconds} s.");
        }

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            if (running is not null)
            {
                await running;
            }

            stop.Dispose();
            await services.DisposeAsync();
        }
    }

    private Watching Watcher(
        Func<IScanScorer, IScanScorer>? scorer = null, TimeProvider? time = null, int maxAttempts = 5, string? connectionString = null, int maxBlobsListedPerSecond = 1000)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = connectionString ?? azurite.ConnectionString,
            ["Models:ManifestPath"] = models.ManifestPath,
            ["Scoring:BatchInProcess"] = "false",
            ["ScanWatch:PollMilliseconds"] = "100",
            ["ScanWatch:RetryDelayMilliseconds"] = "20",
            ["ScanWatch:MaxAttempts"] = maxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ScanWatch:MaxBlobsListedPerSecond"] = maxBlobsListedPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }).Build();
        var logs = new LogMessages();
        var services = new ServiceCollection().AddLogging(logging => logging.AddProvider(logs)).AddSingleton(logs).AddSingleton<IConfiguration>(configuration);
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        services.AddCovidPipeline(configuration);
        var counting = new CountingScorer();
        services.AddSingleton<IScanScorer>(sp =>
        {
            counting.Inner = (scorer ?? (real => real))(sp.GetRequiredService<InProcessScanScorer>());
            return counting;
        });
        return new Watching(services.BuildServiceProvider(), counting, storage!);
    }

    private async Task<string> UploadAsync(Modality modality, string name, byte[] image)
    {
        var container = storage!.Clients.Blobs.GetBlobContainerClient(ScanContainers.For(modality));
        await container.CreateIfNotExistsAsync();
        await container.GetBlobClient(name).UploadAsync(new BinaryData(image), overwrite: true);
        return name;
    }

    [Fact]
    public async Task Every_scan_of_a_burst_uploaded_while_it_lists_gets_one_result_and_is_scored_once()
    {
        await using var watching = Watcher().Start();

        var uploads = Enumerable.Range(0, 40).Select(i => (Modality: i % 2 == 0 ? Modality.Chest : Modality.Ct, Name: $"burst/{i}.png")).ToList();

        await Task.WhenAll(uploads.Select((scan, i) => UploadAsync(scan.Modality, scan.Name, TestImages.Uniform((byte)(50 + i)))));
        var results = new List<ScanResult>();
        foreach (var (modality, name) in uploads)
        {
            results.Add(await watching.ResultAsync(modality, name));
        }

        await ListedAgainAsync(times: 5); // none of these listings may deliver a scan again

        Assert.All(results, r => Assert.Equal(ScanStatus.Scored, r.Status));
        Assert.Equal(40, watching.Scorer.Calls);
    }

    [Fact]
    public async Task At_start_it_scores_scans_left_without_a_result_and_not_those_that_have_one()
    {
        string before;
        await using (var first = Watcher().Start())
        {
            before = await UploadAsync(Modality.Chest, "scored-before.png", TestImages.Uniform(100));
            await first.ResultAsync(Modality.Chest, before);
        }

        var whileDown = await UploadAsync(Modality.Ct, "uploaded-while-down.png", TestImages.Uniform(30));
        await using var second = Watcher().Start();

        var result = await second.ResultAsync(Modality.Ct, whileDown);
        await ListedAgainAsync(times: 5);

        Assert.Equal(ScanStatus.Scored, result.Status);
        Assert.Equal(1, second.Scorer.Calls);
    }

    [Fact]
    public async Task At_start_a_scan_whose_host_died_after_saving_its_result_but_before_announcing_it_is_announced_from_storage_without_being_scored_again()
    {
        var name = await UploadAsync(Modality.Chest, "saved-not-announced.png", TestImages.Uniform(120));
        await using (var died = Watcher())
        {
            // What a host that died between the result's rows and its message left: the rows alone.
            var blob = await storage!.Clients.Blobs.GetBlobContainerClient(ScanContainers.Chest).GetBlobClient(name).GetPropertiesAsync();
            var identity = new ScanIdentity(Modality.Chest, name, blob.Value.ETag.ToString(), blob.Value.LastModified);
            var saved = new ScanResult
            {
                ScanId = identity.ScanId,
                Modality = "chest",
                BlobName = name,
                BlobVersion = identity.BlobVersion,
                Status = ScanStatus.Scored,
                UploadedAt = identity.UploadedAt,
                ProcessedAt = DateTimeOffset.UtcNow,
            };
            await died.Store.SaveAsync(saved, identity, default);
        }

        await using var restarted = Watcher().Start();

        var announced = await restarted.MessageAsync(name);
        Assert.Equal(ScanStatus.Scored, announced.Status);
        Assert.Equal(0, restarted.Scorer.Calls);
    }

    [Fact]
    public async Task A_container_that_cannot_be_listed_does_not_hold_up_the_other_containers_scans()
    {
        await UploadAsync(Modality.Chest, "control\u0001character.png", TestImages.Uniform(90));
        var noRetries = new Azure.Storage.Blobs.BlobClientOptions { Retry = { MaxRetries = 0 } };
        var chest = new Azure.Storage.Blobs.BlobServiceClient(azurite.ConnectionString, noRetries).GetBlobContainerClient(ScanContainers.Chest);
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            // The premise: Azurite fails every listing of a container holding such a name.
            await foreach (var blob in chest.GetBlobsAsync())
            {
            }
        });
        await using var watching = Watcher().Start();

        var beside = await UploadAsync(Modality.Ct, "beside-an-unlistable-container.png", TestImages.Uniform(60));
        var result = await watching.ResultAsync(Modality.Ct, beside);

        // Scored before the first chest listing gave up, after its client's retries (about 25 s): that listing did not
        // hold it up. Told by the order of the two, not by a clock, so a slow machine may take that long to score it.
        Assert.Equal(ScanStatus.Scored, result.Status);
        Assert.DoesNotContain(watching.Logs.All, m => m.StartsWith($"Listing the {ScanContainers.Chest} container failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_large_container_is_listed_less_often_than_every_poll()
    {
        var chest = storage!.Clients.Blobs.GetBlobContainerClient(ScanContainers.Chest);
        await chest.CreateIfNotExistsAsync();
        var image = new BinaryData(TestImages.Uniform(30));
        await Parallel.ForEachAsync(Enumerable.Range(0, 300), async (i, token) => await chest.GetBlobClient($"ward/{i:D3}.png").UploadAsync(image, token));
        var time = new RecordingTime(new FakeTimeProvider(DateTimeOffset.UtcNow));

        await using var watching = Watcher(time: time, maxBlobsListedPerSecond: 100).Start();

        // 300 blobs at 100 a second: the watcher waits 3 s before it lists the chest container again, where the poll
        // alone would wait 100 ms (the empty CT container's wait). Time moves only when the test moves it.
        await time.UntilDelayedAsync(TimeSpan.FromSeconds(3));

        // Azurite logs a request after answering it: counted before its line arrives, the listing that asked for the
        // wait would pass for the next one.
        await Eventually.UntilAsync(() => Listings(ScanContainers.Chest) >= 1, "the chest listing in Azurite's access log");
        var listed = Listings(ScanContainers.Chest);
        time.Advance(TimeSpan.FromSeconds(3));
        await Eventually.UntilAsync(() => Listings(ScanContainers.Chest) > listed, "the chest container listed again once 3 s passed");
    }

    [Fact]
    public async Task At_start_a_scan_whose_result_check_failed_is_checked_again_at_the_next_listing()
    {
        var whileDown = await UploadAsync(Modality.Chest, "uploaded-while-down.png", TestImages.Uniform(40));
        await using var tables = new FlakyPort(azurite.TablePort);
        var tablesUnreachable = azurite.ConnectionString.Replace($":{azurite.TablePort}/", $":{tables.Port}/", StringComparison.Ordinal);
        await using var watching = Watcher(connectionString: tablesUnreachable).Start();

        // The first listing asks the table whether the scan has a result; every attempt of that request fails.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (tables.Dropped < 4 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.True(tables.Dropped >= 4, $"The table saw {tables.Dropped} attempts; the client gives up after 4.");
        await watching.Logs.WaitForAsync(m => m.StartsWith($"Listing the {ScanContainers.Chest} container failed", StringComparison.Ordinal));
        tables.Forward();
        var result = await watching.ResultAsync(Modality.Chest, whileDown);

        Assert.Equal(ScanStatus.Scored, result.Status);
        Assert.Equal(1, watching.Scorer.Calls);
    }

    [Fact]
    public async Task At_start_scans_uploaded_before_the_lookback_window_are_left_alone()
    {
        var old = await UploadAsync(Modality.Chest, "old.png", TestImages.Uniform(70));

        // Two days later, as far as the watcher can tell: the upload is outside its 24-hour lookback. So would be any
        // upload during the start-up check, which is why the next one waits for the check to end.
        await using var watching = Watcher(time: new ShiftedTime(TimeSpan.FromDays(2))).Start();
        await watching.Logs.WaitForAsync(m => m.StartsWith("Start-up check of chest: 0 scans to process", StringComparison.Ordinal));
        var recent = await UploadAsync(Modality.Chest, "recent.png", TestImages.Uniform(80));
        await watching.ResultAsync(Modality.Chest, recent);

        Assert.Null(await watching.Query.GetLatestAsync(Modality.Chest, old, default));
        Assert.Equal(1, watching.Scorer.Calls);
    }

    [Fact]
    public async Task At_start_the_uploads_before_the_lookback_window_are_counted_in_a_metric_by_modality()
    {
        using var uncheckedUploads = new MetricCollector<long>(PipelineTelemetry.UncheckedAtStart);
        for (var i = 0; i < 3; i++)
        {
            await UploadAsync(Modality.Chest, $"outage/{i}.png", TestImages.Uniform((byte)(90 + i)));
        }

        await using var watching = Watcher(time: new ShiftedTime(TimeSpan.FromDays(2))).Start();
        await watching.Logs.WaitForAsync(m => m.StartsWith("Start-up check of chest: 0 scans to process", StringComparison.Ordinal));

        // The meter is process-wide: other tests' watchers may report too, so look for this start's chest count.
        Assert.Contains(uncheckedUploads.GetMeasurementSnapshot(), m => m.Value == 3 && m.Tags["modality"] as string == "chest");
        Assert.Equal(0, watching.Scorer.Calls);
    }

    [Fact]
    public async Task A_new_upload_under_the_same_name_is_scored_as_a_new_version()
    {
        await using var watching = Watcher().Start();
        var name = await UploadAsync(Modality.Ct, "reuploaded.png", TestImages.Uniform(20));
        var first = await watching.ResultAsync(Modality.Ct, name);

        await UploadAsync(Modality.Ct, "reuploaded.png", TestImages.Uniform(220));
        var second = await watching.ResultAsync(Modality.Ct, name, r => r.ScanId != first.ScanId);

        Assert.NotEqual(first.BlobVersion, second.BlobVersion);
        Assert.Equal(2, watching.Scorer.Calls);
    }

    [Fact]
    public async Task A_scan_whose_scoring_fails_every_time_ends_as_failed_after_the_allowed_attempts()
    {
        await using var watching = Watcher(scorer: _ => new FailingScorer(), maxAttempts: 3).Start();
        var name = await UploadAsync(Modality.Ct, "scorer-down.png", TestImages.Uniform(60));

        var result = await watching.ResultAsync(Modality.Ct, name);
        await ListedAgainAsync(times: 5);

        Assert.Equal(ScanStatus.Failed, result.Status);
        Assert.Contains("every retry", result.Reason, StringComparison.Ordinal);
        Assert.Equal(3, watching.Scorer.Calls);
    }

    [Fact]
    public async Task A_scan_the_scorer_cannot_take_for_longer_than_its_attempts_last_waits_for_the_scorer_and_is_scored_once_it_is_back()
    {
        // The worker without fallback: unavailable for five tries, more than the three attempts the scan has.
        var unavailable = new UnavailableScorer(times: 5);
        await using var watching = Watcher(scorer: real => unavailable.Before(real), maxAttempts: 3).Start();
        var name = await UploadAsync(Modality.Chest, "worker-down.png", TestImages.Uniform(80));

        var result = await watching.ResultAsync(Modality.Chest, name);
        await ListedAgainAsync(times: 5);

        Assert.Equal(ScanStatus.Scored, result.Status);
        Assert.Equal(6, watching.Scorer.Calls);
        Assert.Equal(1, await watching.Store.AttemptsAsync(await IdentityAsync(Modality.Chest, name), default));
    }

    [Fact]
    public async Task A_scan_whose_host_dies_during_every_attempt_ends_as_failed_after_the_allowed_attempts_instead_of_at_every_restart()
    {
        var name = await UploadAsync(Modality.Chest, "kills-its-host.png", TestImages.Uniform(90));
        for (var start = 1; start <= 3; start++)
        {
            // Each host is a fresh process as far as the watcher knows (new services, nothing in memory) and stops
            // while the scan is being scored: as a native crash or an out-of-memory kill leaves it, without a result.
            var hanging = new HangingScorer();
            await using var dying = Watcher(scorer: _ => hanging, maxAttempts: 3).Start();
            await hanging.Entered.WaitAsync(TimeSpan.FromSeconds(30));
        }

        await using var restarted = Watcher(maxAttempts: 3).Start();
        var result = await restarted.ResultAsync(Modality.Chest, name);
        await ListedAgainAsync(times: 5);

        Assert.Equal(ScanStatus.Failed, result.Status);
        Assert.Equal(ScanWatcher.DidNotFinish(3), result.Reason);
        Assert.Equal(0, restarted.Scorer.Calls);
        Assert.Equal(ScanStatus.Failed, (await restarted.MessageAsync(name)).Status);
        Assert.Equal(ScanStatus.Failed, (await restarted.Query.GetLatestAsync(Modality.Chest, name, default))!.Status);
    }

    [Fact]
    public async Task A_scan_that_failed_some_attempts_before_a_restart_gets_only_the_attempts_left_after_it()
    {
        var name = await UploadAsync(Modality.Ct, "flaky-then-restarted.png", TestImages.Uniform(60));
        var failing = new FailingScorer();
        await using (var first = Watcher(scorer: _ => failing, maxAttempts: 3))
        {
            // Two failed attempts, then the host goes before its third.
            var identity = await IdentityAsync(Modality.Ct, name);
            await first.Store.CountAttemptAsync(identity, default);
            await first.Store.CountAttemptAsync(identity, default);
        }

        await using var restarted = Watcher(scorer: _ => failing, maxAttempts: 3).Start();
        var result = await restarted.ResultAsync(Modality.Ct, name);
        await ListedAgainAsync(times: 5);

        Assert.Equal(ScanStatus.Failed, result.Status);
        Assert.Equal(ScanProcessor.FailedOnEveryRetry, result.Reason);
        Assert.Equal(1, restarted.Scorer.Calls);
    }

    private async Task<ScanIdentity> IdentityAsync(Modality modality, string name)
    {
        var blob = (await storage!.Clients.Blobs.GetBlobContainerClient(ScanContainers.For(modality)).GetBlobClient(name).GetPropertiesAsync()).Value;
        return new ScanIdentity(modality, name, blob.ETag.ToString(), blob.LastModified);
    }

    /// <summary>The listings of <paramref name="container"/> so far, from Azurite's access log.</summary>
    private int Listings(string container) => azurite.Requests.Count(line =>
        line.Contains($"/{container}?", StringComparison.Ordinal) && line.Contains("comp=list", StringComparison.Ordinal));

    /// <summary>
    /// Waits until the watcher has listed both containers <paramref name="times"/> more times: what a test waits on to
    /// show that no listing delivers a scan again (counted in listings, not in time, so a slow machine only waits longer).
    /// </summary>
    private async Task ListedAgainAsync(int times)
    {
        var (chest, ct) = (Listings(ScanContainers.Chest), Listings(ScanContainers.Ct));
        await Eventually.UntilAsync(
            () => Listings(ScanContainers.Chest) >= chest + times && Listings(ScanContainers.Ct) >= ct + times,
            $"both containers listed {times} more times");
    }

    /// <summary>Fake time that records every delay asked of it, so a test can see how long the watcher means to wait.</summary>
    private sealed class RecordingTime(FakeTimeProvider fake) : TimeProvider
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<TimeSpan> delays = new();

        public override TimeZoneInfo LocalTimeZone => fake.LocalTimeZone;

        public override long TimestampFrequency => fake.TimestampFrequency;

        public override DateTimeOffset GetUtcNow() => fake.GetUtcNow();

        public override long GetTimestamp() => fake.GetTimestamp();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            // Recorded once the timer exists: a test that advances the time on seeing the delay must not advance it
            // before the timer is set, or the timer starts after the advance and never fires.
            var timer = fake.CreateTimer(callback, state, dueTime, period);
            delays.Enqueue(dueTime);
            return timer;
        }

        public void Advance(TimeSpan by) => fake.Advance(by);

        public Task UntilDelayedAsync(TimeSpan delay) => Eventually.UntilAsync(() => delays.Contains(delay), $"a delay of {delay} asked for");
    }

    private sealed class CountingScorer : IScanScorer
    {
        private int calls;

        public IScanScorer? Inner { get; set; }

        public int Calls => Volatile.Read(ref calls);

        public Task<EnsembleScore> ScoreAsync(Modality modality, ReadOnlyMemory<byte> image, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref calls);
            return Inner!.ScoreAsync(modality, image, cancellationToken);
        }
    }

    private sealed class FailingScorer : IScanScorer
    {
        public Task<EnsembleScore> ScoreAsync(Modality modality, ReadOnlyMemory<byte> image, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("The scorer is down.");
    }

    /// <summary>A scorer that cannot take scans the first <c>times</c> it is asked (a worker down, without fallback), then scores.</summary>
    private sealed class UnavailableScorer(int times)
    {
        private int refusalsLeft = times;

        public IScanScorer Before(IScanScorer real) => new Refusing(this, real);

        private sealed class Refusing(UnavailableScorer owner, IScanScorer real) : IScanScorer
        {
            public Task<EnsembleScore> ScoreAsync(Modality modality, ReadOnlyMemory<byte> image, CancellationToken cancellationToken) =>
                Interlocked.Decrement(ref owner.refusalsLeft) >= 0
                    ? throw new ScoringUnavailableException("The scoring worker is unavailable; the scan will be retried.")
                    : real.ScoreAsync(modality, image, cancellationToken);
        }
    }

    /// <summary>Scoring that never ends until its host stops.</summary>
    private sealed class HangingScorer : IScanScorer
    {
        private readonly TaskCompletionSource entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Entered => entered.Task;

        public async Task<EnsembleScore> ScoreAsync(Modality modality, ReadOnlyMemory<byte> image, CancellationToken cancellationToken)
        {
            entered.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }
    }

    private sealed class ShiftedTime(TimeSpan shift) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + shift;
    }
}
