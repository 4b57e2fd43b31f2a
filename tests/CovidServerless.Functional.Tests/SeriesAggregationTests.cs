using System.Globalization;
using System.Text;
using System.Text.Json;
using CovidServerless.Core;
using CovidServerless.Core.Api;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Ingestion;
using CovidServerless.Core.Models;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using CovidServerless.Core.Series;
using CovidServerless.Core.Storage;
using CovidServerless.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CovidServerless.Functional.Tests;

/// <summary>
/// CT slices of one series, uploaded one by one (DICOM versions of real val slices, sharing a SeriesInstanceUID), get
/// a series result once no new slice has been recorded for the quiet period: stored, sent on the results queue with
/// kind "series", and answered by GET /api/series/{uid}. Time is a fake clock, so "not yet" is a fact, not a wait.
/// </summary>
public sealed class SeriesAggregationTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IDisposable
{
    private const int QuietSeconds = 120;
    private readonly StorageHarness storage = new(azurite);
    private readonly InProcessPipeline pipeline = new(StorageHarness.ClientsFor(azurite.ConnectionString), ModelFolder.WithStandardEnsembles());
    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
    private readonly string queue = $"series-{Guid.NewGuid():N}";
    private readonly string seriesUid = $"1.2.826.0.1.3680043.2.1125.9.{RandomDigits()}";
    private ModelFolder Models => pipeline.Models;

    public void Dispose() => pipeline.Dispose();

    [SkippableFact]
    public async Task Slices_of_one_series_get_a_series_result_from_the_mean_of_their_top_k_scores_once_the_series_is_quiet()
    {
        Skip.If(RepoPaths.SharedData is null, RepoPaths.NoSharedDataMessage);
        var (processor, aggregator, api) = Pipeline(topFraction: 0.5);
        var slices = ValSlices(3, "covid").Concat(ValSlices(3, "noncovid")).ToList();

        var results = new List<ScanResult>();
        for (var i = 0; i < slices.Count; i++)
        {
            results.Add(await ProcessAsync(processor, $"study/slice{i}.dcm", Slice(slices[i], i)));
            time.Advance(TimeSpan.FromSeconds(2));
        }

        // The same slice again under another name counts once; a slice the pipeline rejects counts as rejected.
        await ProcessAsync(processor, "study/slice0-again.dcm", Slice(slices[0], 0));
        var rejected = await ProcessAsync(processor, "study/localizer.dcm", Slice(slices[0] with { Modality = "MR" }, 99));
        time.Advance(TimeSpan.FromSeconds(QuietSeconds - 1));
        var early = await aggregator.CompleteQuietSeriesAsync(default);
        var notYet = await api.GetSeriesAsync(seriesUid, default);
        time.Advance(TimeSpan.FromSeconds(1));
        var written = await aggregator.CompleteQuietSeriesAsync(default);
        var again = await aggregator.CompleteQuietSeriesAsync(default);

        Assert.All(results, r => Assert.Equal(ScanStatus.Scored, r.Status));
        Assert.All(results, r => Assert.Equal(seriesUid, r.Dicom?.SeriesInstanceUid));
        Assert.Equal(ScanStatus.Rejected, rejected.Status);
        Assert.Equal(seriesUid, rejected.Dicom?.SeriesInstanceUid);
        Assert.Empty(early);
        Assert.Equal(404, notYet.Status);
        Assert.Empty(again);

        var series = Assert.Single(written);
        var top3 = results.OrderByDescending(r => r.PCovid).Take(3).ToList();
        Assert.Equal((SeriesResult.KindName, ScanStatus.Scored, "ct"), (series.Kind, series.Status, series.Modality));
        Assert.Equal((6, 1), (series.SlicesScored, series.SlicesRejected));
        Assert.Equal(SeriesRule.Name, series.Rule);
        Assert.Equal(top3.Select(r => r.Dicom!.SopInstanceUid), series.SlicesUsed.Select(s => s.SopInstanceUid));
        Assert.Equal(top3.Average(r => r.PCovid!.Value), series.PCovid!.Value, 12);
        Assert.Equal(results[0].Threshold, series.Threshold);
        Assert.Equal(Verdicts.For(series.PCovid!.Value, series.Threshold!.Value), series.Verdict);
        Assert.Equal(results[0].Dicom!.StudyInstanceUid, series.StudyInstanceUid);

        var served = await api.GetSeriesAsync(seriesUid, default);
        Assert.Equal(200, served.Status);
        Assert.Equal(series.ToJson(), Assert.IsType<SeriesResult>(served.Body).ToJson());
        var message = JsonDocument.Parse(Assert.Single(await SeriesMessagesAsync())).RootElement;
        Assert.Equal("series", message.GetProperty("kind").GetString());
        Assert.Equal(seriesUid, message.GetProperty("seriesInstanceUid").GetString());
        Assert.Equal(series.PCovid!.Value, message.GetProperty("pCovid").GetDouble(), 12);
    }

    [SkippableFact]
    public async Task A_slice_arriving_after_the_series_result_reopens_it_and_the_result_is_rewritten_over_every_slice()
    {
        Skip.If(RepoPaths.SharedData is null, RepoPaths.NoSharedDataMessage);
        var (processor, aggregator, api) = Pipeline(topFraction: 1.0);
        var slices = ValSlices(3, "covid");
        var first = await ProcessAsync(processor, "late/slice0.dcm", Slice(slices[0], 0));
        time.Advance(TimeSpan.FromSeconds(QuietSeconds));
        var before = Assert.Single(await aggregator.CompleteQuietSeriesAsync(default));

        var late = new[]
        {
            await ProcessAsync(processor, "late/slice1.dcm", Slice(slices[1], 1)),
            await ProcessAsync(processor, "late/slice2.dcm", Slice(slices[2], 2)),
        };
        var stillServed = await api.GetSeriesAsync(seriesUid, default);
        time.Advance(TimeSpan.FromSeconds(QuietSeconds));
        var after = Assert.Single(await aggregator.CompleteQuietSeriesAsync(default));

        Assert.Equal(1, before.SlicesScored);
        Assert.Equal(first.PCovid, before.PCovid);
        Assert.Equal(before.ToJson(), Assert.IsType<SeriesResult>(stillServed.Body).ToJson()); // the earlier result stands until the series is quiet again
        Assert.Equal(3, after.SlicesScored);
        Assert.Equal(late.Append(first).Average(r => r.PCovid!.Value), after.PCovid!.Value, 12);
        Assert.Equal(after.ToJson(), Assert.IsType<SeriesResult>((await api.GetSeriesAsync(seriesUid, default)).Body).ToJson());
        Assert.Equal(2, (await SeriesMessagesAsync()).Count);
    }

    [Fact]
    public async Task A_series_whose_every_slice_was_rejected_gets_a_rejected_series_result_with_the_count()
    {
        var (processor, aggregator, _) = Pipeline(topFraction: 0.1);
        var wrongModality = new DicomSpec(64, 64, new int[64 * 64]) { Modality = "MR", SeriesInstanceUid = seriesUid };
        await ProcessAsync(processor, "mr/1.dcm", DicomWriter.Write(wrongModality with { SopInstanceUid = "1.2.3.1" }, DicomWriter.ExplicitLittle));
        await ProcessAsync(processor, "mr/2.dcm", DicomWriter.Write(wrongModality with { SopInstanceUid = "1.2.3.2" }, DicomWriter.ExplicitLittle));
        time.Advance(TimeSpan.FromSeconds(QuietSeconds));

        var series = Assert.Single(await aggregator.CompleteQuietSeriesAsync(default));

        Assert.Equal((ScanStatus.Rejected, 0, 2), (series.Status, series.SlicesScored, series.SlicesRejected));
        Assert.Null(series.PCovid);
        Assert.Null(series.Verdict);
        Assert.Contains("2 slice(s)", series.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_series_route_refuses_what_is_not_a_uid_and_answers_404_for_a_series_it_has_not_seen()
    {
        var (_, _, api) = Pipeline(topFraction: 0.1);

        var notAUid = await api.GetSeriesAsync("Doe^Jane", default);
        var unknown = await api.GetSeriesAsync(seriesUid, default);

        Assert.Equal(400, notAUid.Status);
        Assert.DoesNotContain("Doe", JsonSerializer.Serialize(notAUid.Body), StringComparison.Ordinal);
        Assert.Equal(404, unknown.Status);
    }

    [Fact]
    public async Task The_local_hosts_series_loop_keeps_going_through_a_storage_outage_that_outlasts_the_clients_retries()
    {
        // Found by the torture run: an Azurite restart stopped the local host, because this loop let the storage
        // client's AggregateException ("Retry failed after 4 tries") escape. Nothing listens on a never-started
        // Azurite's ports, so every round fails that way.
        await using var down = new Azurite();
        var logger = new FakeLogger<SeriesAggregator>();
        var aggregator = Aggregator(StorageHarness.ClientsFor(down.ConnectionString), TimeProvider.System, logger);
        using var stop = new CancellationTokenSource();

        var loop = aggregator.RunAsync(stop.Token);
        while (logger.Collector.Count < 2 && !loop.IsCompleted)
        {
            await Task.Delay(50);
        }

        await stop.CancelAsync();
        await loop.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.InRange(logger.Collector.GetSnapshot().Count(r => r.Message.Contains("Series aggregation failed this round", StringComparison.Ordinal)), 2, int.MaxValue);
    }

    [Fact]
    public async Task Stopping_the_local_hosts_series_loop_in_the_middle_of_a_round_ends_it_quietly()
    {
        await using var hanging = new SilentPort();
        Models.Change("ct", m => m with { Series = new SeriesRuleEntry { TopFraction = 0.1 } });
        var aggregator = Aggregator(StorageHarness.ClientsFor(hanging.StorageConnectionString), TimeProvider.System, NullLogger<SeriesAggregator>.Instance);
        using var stop = new CancellationTokenSource();

        var loop = aggregator.RunAsync(stop.Token);
        await hanging.FirstConnection.WaitAsync(TimeSpan.FromMinutes(1));
        await stop.CancelAsync();

        await loop.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(loop.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Without_a_series_rule_the_local_hosts_loop_says_so_once_not_every_round()
    {
        Models.Change("ct", m => m with { Series = null });
        var clock = new CountingTimeProvider(time.GetUtcNow());
        var logger = new FakeLogger<SeriesAggregator>();
        var aggregator = Aggregator(storage.Clients, clock, logger);
        using var stop = new CancellationTokenSource();

        var loop = aggregator.RunAsync(stop.Token);
        for (var round = 1; round <= 3; round++)
        {
            // Each round ends by starting its wait for the next poll.
            await Eventually.UntilAsync(() => clock.TimersCreated >= round, $"round {round} of the loop");
            clock.Advance(TimeSpan.FromSeconds(1));
        }

        await stop.CancelAsync();
        await loop;
        var said = logger.Collector.GetSnapshot().Where(r => r.Message.StartsWith("Series aggregation is off", StringComparison.Ordinal)).ToList();
        Assert.Single(said);
        Assert.Contains("states no series rule for ct", said[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_series_rule_in_the_manifest_no_series_is_completed_and_the_reason_names_the_missing_entry()
    {
        Models.Change("ct", m => m with { Series = null });
        var aggregator = new SeriesAggregator(
            new SeriesStore(new ResultStore(storage.Clients, Options.Create(new StorageOptions { ResultsQueue = queue }))),
            new ResultNotifier(storage.Clients, Options.Create(new StorageOptions { ResultsQueue = queue })),
            Options.Create(new SeriesOptions { QuietPeriodSeconds = QuietSeconds }),
            Options.Create(new ModelOptions { ManifestPath = Models.ManifestPath }), time, NullLogger<SeriesAggregator>.Instance);

        var refusal = await Assert.ThrowsAsync<InvalidDataException>(() => aggregator.CompleteQuietSeriesAsync(default));

        Assert.Contains("states no series rule for ct (modalities.ct.series)", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_committed_manifest_states_the_ct_series_rule()
    {
        var rule = SeriesAggregator.ReadRule(Path.Combine(RepoPaths.Root, "models", "manifest.json"));

        Assert.Equal((SeriesRule.Name, 0.1), (rule.Rule, rule.TopFraction));
        Assert.False(string.IsNullOrWhiteSpace(rule.Rationale));
    }

    private SeriesAggregator Aggregator(StorageClients clients, TimeProvider clock, Microsoft.Extensions.Logging.ILogger<SeriesAggregator> logger)
    {
        var options = Options.Create(new StorageOptions { ResultsQueue = queue });
        return new SeriesAggregator(
            new SeriesStore(new ResultStore(clients, options)), new ResultNotifier(clients, options), Options.Create(new SeriesOptions { PollSeconds = 1 }),
            Options.Create(new ModelOptions { ManifestPath = Models.ManifestPath }), clock, logger);
    }

    private (ScanProcessor Processor, SeriesAggregator Aggregator, ResultsApi Api) Pipeline(double topFraction)
    {
        var wired = pipeline.Wire(queue, time: time);
        // The rule is the manifest's, as in every host.
        Models.Change("ct", m => m with { Series = new SeriesRuleEntry { TopFraction = topFraction } });
        var aggregator = new SeriesAggregator(
            wired.Series, wired.Notifier, Options.Create(new SeriesOptions { QuietPeriodSeconds = QuietSeconds }),
            Options.Create(new ModelOptions { ManifestPath = Models.ManifestPath }), time, NullLogger<SeriesAggregator>.Instance);
        var api = new ResultsApi(new ResultsQuery(wired.Store), new LocalScoringStatus(pipeline.Catalog));
        return (wired.Processor, aggregator, api);
    }

    private async Task<ScanResult> ProcessAsync(ScanProcessor processor, string name, byte[] dicom)
    {
        var identity = new ScanIdentity(Modality.Ct, $"{queue}/{name}", $"\"0x{Guid.NewGuid():N}\"", time.GetUtcNow());
        return await processor.ProcessAsync(new ScanUpload(identity, dicom), default);
    }

    /// <summary>A val slice's pixels as a CT DICOM file of this test's series, with its own SOP instance UID.</summary>
    private byte[] Slice(DicomSpec pixels, int number) =>
        DicomWriter.Write(pixels with { SeriesInstanceUid = seriesUid, SopInstanceUid = $"{seriesUid}.{number + 1}" }, DicomWriter.ExplicitLittle);

    private static List<DicomSpec> ValSlices(int count, string label)
    {
        var decoder = new ScanDecoder();
        return [.. Directory.GetFiles(Path.Combine(RepoPaths.SharedData!, "ct", "val", label)).Order(StringComparer.Ordinal).Take(count)
            .Select(file =>
            {
                using var scan = decoder.Decode(File.ReadAllBytes(file));
                return DicomWriter.SpecOf(scan.Bitmap, "CT");
            })];
    }

    private async Task<List<string>> SeriesMessagesAsync()
    {
        var client = storage.Clients.Queues.GetQueueClient(queue);
        var messages = (await client.PeekMessagesAsync(32)).Value;
        var series = new List<string>();
        foreach (var message in messages)
        {
            var json = Encoding.UTF8.GetString(message.Body.ToArray());
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.GetProperty("kind").GetString() == SeriesResult.KindName)
            {
                series.Add(json);
            }
        }

        return series;
    }

    private static string RandomDigits() => Random.Shared.NextInt64(1, long.MaxValue).ToString(CultureInfo.InvariantCulture);
}
