using System.Diagnostics;
using CovidServerless.Core;
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
/// <param name="WithHeatmap">The same scan scored with the maps fetched, then its overlay drawn and stored (the pipeline's default).</param>
/// <param name="WithPerModel">As <paramref name="WithHeatmap"/>, with each model's overlay stored too (Heatmaps:PerModel).</param>
/// <param name="Fraction">Median over pairs of (with heatmap - scoring), over the scoring median: the heatmaps' share of scoring time.</param>
/// <param name="PerModelFraction">The same with per-model overlays.</param>
public sealed record HeatmapCostResult(Stats Scoring, Stats WithHeatmap, Stats WithPerModel, double Fraction, double PerModelFraction);

/// <summary>
/// What heatmaps add to scoring a scan: the same scans through the same models, in one process, alternating scoring
/// alone with scoring plus the heatmap step (maps from the same run, overlay drawn at the default MaxSide, PNG stored
/// in Azurite), so both see the same machine state.
/// </summary>
public static class HeatmapCost
{
    /// <returns>Null where the modality's models have no heatmap output (nothing to measure).</returns>
    public static async Task<HeatmapCostResult?> MeasureAsync(BenchSettings settings, ModelCatalog catalog, Azurite azurite, Modality modality, IReadOnlyList<byte[]> images)
    {
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
        var decoder = new ScanDecoder();
        var models = Options.Create(new ModelOptions { ManifestPath = catalog.ManifestPath });
        using var plainRunner = new EnsembleRunner(catalog, decoder, models);
        using var mapsRunner = new EnsembleRunner(catalog, decoder, models, Options.Create(new HeatmapOptions()));
        var plain = new InProcessScanScorer(plainRunner);
        var withMaps = new InProcessScanScorer(mapsRunner);
        var ensembleOnly = new HeatmapStore(clients, decoder, Options.Create(new HeatmapOptions { Container = "bench-heatmaps" }));
        var perModel = new HeatmapStore(clients, decoder, Options.Create(new HeatmapOptions { Container = "bench-heatmaps", PerModel = true }));
        var n = 0;

        async Task ScoreWithHeatmapAsync(byte[] image, HeatmapStore store)
        {
            var score = await withMaps.ScoreAsync(modality, image, default);
            var identity = new ScanIdentity(modality, $"bench/{n++}.png", $"\"0x{n}\"", DateTimeOffset.UtcNow);
            var result = new ScanResult
            {
                ScanId = identity.ScanId,
                Modality = modality.ToName(),
                BlobName = identity.BlobName,
                BlobVersion = identity.BlobVersion,
                Status = ScanStatus.Scored,
                Models = score.Models,
            };
            var linked = await store.WriteAsync(result, image, score.Heatmaps, default);
            if (linked.HeatmapUrl is null)
            {
                throw new InvalidOperationException($"The {modality.ToName()} models returned no maps: nothing to measure.");
            }
        }

        var (rounds, warmup) = settings.Quick ? (1, 1) : (5, 2);
        var scoring = new List<double>();
        var heat = new List<double>();
        var heatAll = new List<double>();
        var extra = new List<double>();
        var extraAll = new List<double>();
        for (var round = -warmup; round < rounds; round++)
        {
            foreach (var image in images)
            {
                var clock = Stopwatch.StartNew();
                await plain.ScoreAsync(modality, image, default);
                var a = clock.Elapsed.TotalMilliseconds;
                clock.Restart();
                await ScoreWithHeatmapAsync(image, ensembleOnly);
                var b = clock.Elapsed.TotalMilliseconds;
                clock.Restart();
                await ScoreWithHeatmapAsync(image, perModel);
                var c = clock.Elapsed.TotalMilliseconds;
                if (round >= 0)
                {
                    scoring.Add(a);
                    heat.Add(b);
                    heatAll.Add(c);
                    extra.Add(b - a);
                    extraAll.Add(c - a);
                }
            }
        }

        var scoringStats = Stats.Of(scoring);
        return new HeatmapCostResult(
            scoringStats, Stats.Of(heat), Stats.Of(heatAll), Stats.Of(extra).MedianMs / scoringStats.MedianMs, Stats.Of(extraAll).MedianMs / scoringStats.MedianMs);
    }
}
