using System.Diagnostics;
using CovidServerless.Core;
using CovidServerless.Core.Api;
using CovidServerless.Core.Heatmaps;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using CovidServerless.Core.Storage;
using CovidServerless.DevTools;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace CovidServerless.Benchmarks;

/// <param name="Scoring">A lone scan scored in process (decode to verdict), heatmaps off.</param>
/// <param name="Recorded">The same scoring, then its result's rows saved in Azurite (no maps).</param>
/// <param name="RecordedWithMaps">The same scan scored with the maps fetched, linked and stored with the result's rows (the pipeline's default).</param>
/// <param name="Fraction">Median over pairs of (<paramref name="RecordedWithMaps"/> - <paramref name="Recorded"/>), over the scoring median: the pipeline's heatmap cost.</param>
/// <param name="InProcessFraction">The same without the row writes (scoring with maps + encoding them vs scoring alone): the part Azurite's noise does not reach.</param>
/// <param name="FirstGet">GET heatmap on a scan never drawn: maps read, scan downloaded at its version, overlay drawn at MaxSide and stored.</param>
/// <param name="FirstGetModel">The same for one model's overlay (Heatmaps:PerModel).</param>
/// <param name="StoredGet">GET heatmap again: served from the heatmaps container.</param>
/// <param name="FirstGetFraction">The first GET's median over the scoring median (paid once per overlay, on request, not by the pipeline).</param>
public sealed record HeatmapCostResult(
    Stats Scoring,
    Stats Recorded,
    Stats RecordedWithMaps,
    double Fraction,
    double InProcessFraction,
    Stats FirstGet,
    Stats FirstGetModel,
    Stats StoredGet,
    double FirstGetFraction);

/// <summary>
/// What heatmaps cost: the same scans through the same models, in one process, alternating scoring alone against
/// scoring with the maps fetched (same ONNX run), each followed by saving the result's rows in Azurite (with the maps
/// in the second), so both see the same machine state (which runs first alternates); then, apart, the first GET of each overlay (drawn and
/// stored through the API's own path) and a second GET (served from the container).
/// </summary>
public static class HeatmapCost
{
    /// <returns>Null where the modality's models have no heatmap output (nothing to measure).</returns>
    public static async Task<HeatmapCostResult?> MeasureAsync(BenchSettings settings, ModelCatalog catalog, Azurite azurite, Modality modality, IReadOnlyList<byte[]> images)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(azurite);
        ArgumentNullException.ThrowIfNull(images);
        if (!catalog.For(modality).Models.Any(m => m.HasHeatmap))
        {
            return null;
        }

        var clients = new StorageClients(
            new ConfigurationBuilder().AddInMemoryCollection([new("AzureWebJobsStorage", azurite.ConnectionString)]).Build(),
            Options.Create(new StorageOptions()));
        var storage = Options.Create(new StorageOptions { ResultsTable = "BenchHeatmapResults", TimelineTable = "BenchHeatmapTimeline" });
        var decoder = new ScanDecoder();
        var models = Options.Create(new ModelOptions { ManifestPath = catalog.ManifestPath });
        var heatmapOptions = Options.Create(new HeatmapOptions { Container = "bench-heatmaps", PerModel = true });
        using var plainRunner = new EnsembleRunner(catalog, decoder, models);
        using var mapsRunner = new EnsembleRunner(catalog, decoder, models, heatmapOptions);
        var plain = new InProcessScanScorer(plainRunner);
        var withMaps = new InProcessScanScorer(mapsRunner);
        var heatmaps = new HeatmapStore(clients, decoder, heatmapOptions);
        var store = new ResultStore(clients, storage);
        var api = new ScanUploadApi(clients, decoder, new ResultsQuery(store), Options.Create(new ImageLimitsOptions()), heatmaps);
        var scans = clients.Blobs.GetBlobContainerClient(ScanContainers.For(modality));
        await scans.CreateIfNotExistsAsync();
        var n = 0;

        // Each scan under a new name per round, so every round's result is a new scan id whose overlays were never drawn.
        async Task<ScanIdentity> UploadAsync(byte[] image)
        {
            var name = $"bench-heatmaps/{Guid.NewGuid():N}-{n++}";
            var stored = (await scans.GetBlobClient(name).UploadAsync(BinaryData.FromBytes(image))).Value;
            return new ScanIdentity(modality, name, stored.ETag.ToString(), stored.LastModified);
        }

        static async Task<double> GetAsync(Func<Task<ApiResponse>> get)
        {
            var clock = Stopwatch.StartNew();
            var response = await get();
            var elapsed = clock.Elapsed.TotalMilliseconds;
            return response.Status == 200
                ? elapsed
                : throw new InvalidOperationException($"GET heatmap answered {response.Status}: {(response.Body as ApiError)?.Error}");
        }

        var (rounds, warmup) = settings.Quick ? (1, 1) : (5, 2);
        var scoring = new List<double>();
        var recorded = new List<double>();
        var recordedWithMaps = new List<double>();
        var extra = new List<double>();
        var extraInProcess = new List<double>();
        var firstGet = new List<double>();
        var firstGetModel = new List<double>();
        var storedGet = new List<double>();
        var pair = 0;
        for (var round = -warmup; round < rounds; round++)
        {
            foreach (var image in images)
            {
                var plainIdentity = await UploadAsync(image);
                var identity = await UploadAsync(image);

                // Which of the pair runs first alternates, so that neither gains from the other's warm caches.
                async Task<(double Scoring, double Recorded)> PlainAsync()
                {
                    var clock = Stopwatch.StartNew();
                    var plainScore = await plain.ScoreAsync(modality, image, default);
                    var scored = clock.Elapsed.TotalMilliseconds;
                    await store.SaveAsync(ScanResult.Scored(plainIdentity, plainScore, DateTimeOffset.UtcNow), plainIdentity, default);
                    return (scored, clock.Elapsed.TotalMilliseconds);
                }

                async Task<(double Linked, double Recorded, ScanResult Result)> WithMapsAsync()
                {
                    var clock = Stopwatch.StartNew();
                    var score = await withMaps.ScoreAsync(modality, image, default);
                    var (linked, maps) = heatmaps.Link(ScanResult.Scored(identity, score, DateTimeOffset.UtcNow), score.Heatmaps);
                    var scored = clock.Elapsed.TotalMilliseconds;
                    await store.SaveAsync(linked, identity, default, maps);
                    var recorded = clock.Elapsed.TotalMilliseconds;
                    return linked.HeatmapUrl is not null && maps is not null
                        ? (scored, recorded, linked)
                        : throw new InvalidOperationException($"The {modality.ToName()} models returned no maps to store: nothing to measure.");
                }

                (double Scoring, double Recorded) a;
                (double Linked, double Recorded, ScanResult Result) b;
                if (pair++ % 2 == 0)
                {
                    a = await PlainAsync();
                    b = await WithMapsAsync();
                }
                else
                {
                    b = await WithMapsAsync();
                    a = await PlainAsync();
                }

                var linked = b.Result;
                var first = await GetAsync(() => api.GetHeatmapAsync(linked.ScanId, null, default));
                var firstModel = await GetAsync(() => api.GetHeatmapAsync(linked.ScanId, linked.Models[0].Name, default));
                var again = await GetAsync(() => api.GetHeatmapAsync(linked.ScanId, null, default));
                if (round >= 0)
                {
                    scoring.Add(a.Scoring);
                    recorded.Add(a.Recorded);
                    recordedWithMaps.Add(b.Recorded);
                    extra.Add(b.Recorded - a.Recorded);
                    extraInProcess.Add(b.Linked - a.Scoring);
                    firstGet.Add(first);
                    firstGetModel.Add(firstModel);
                    storedGet.Add(again);
                }
            }
        }

        var scoringStats = Stats.Of(scoring);
        var firstGetStats = Stats.Of(firstGet);
        return new HeatmapCostResult(
            scoringStats,
            Stats.Of(recorded),
            Stats.Of(recordedWithMaps),
            Stats.Of(extra).MedianMs / scoringStats.MedianMs,
            Stats.Of(extraInProcess).MedianMs / scoringStats.MedianMs,
            firstGetStats,
            Stats.Of(firstGetModel),
            Stats.Of(storedGet),
            firstGetStats.MedianMs / scoringStats.MedianMs);
    }
}
