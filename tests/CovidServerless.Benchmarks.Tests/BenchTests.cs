using System.Text.Json;
using CovidServerless.Benchmarks;
using CovidServerless.TestSupport;

namespace CovidServerless.Benchmarks.Tests;

/// <summary>The benchmark runs once at a tiny size, to prove it works; its figures are not checked (they are not meaningful here).</summary>
[Collection(ConsoleOutput.Collection)]
public sealed class BenchTests : IDisposable
{
    private readonly ModelFolder models = ModelFolder.WithStandardEnsembles();
    private readonly string json = Path.Combine(Path.GetTempPath(), $"bench-{Guid.NewGuid():N}.json");

    [Fact]
    public async Task Quick_bench_runs_every_section_and_writes_the_top_level_figures()
    {
        var settings = new BenchSettings(Quick: true, models.ManifestPath, json, DataFolder: null, RepoPaths.Root);

        var exit = await BenchRunner.RunAsync(settings);

        Assert.Equal(0, exit);
        using var report = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        var root = report.RootElement;
        foreach (var key in new[] { "limitFraction", "endToEndFraction", "speedupVsPerScanLoading", "speedupVsPerScanLoadingAtLimit", "coldStartSeconds", "peakMemoryMB" })
        {
            Assert.True(root.TryGetProperty(key, out _), key);
        }

        Figures.FinitePositive(root.GetProperty("speedupVsPerScanLoading").GetDouble());
        Figures.FinitePositive(root.GetProperty("speedupVsPerScanLoadingLoneScan").GetDouble());
        var modalities = root.GetProperty("modalities");
        double MeanOverModalities(Func<JsonElement, double> figure) =>
            (figure(modalities.GetProperty("chest")) + figure(modalities.GetProperty("ct"))) / 2;
        Assert.Equal(MeanOverModalities(m => m.GetProperty("limitFraction").GetProperty("median").GetDouble()), root.GetProperty("limitFraction").GetDouble(), 9);
        foreach (var key in new[] { "speedupVsPerScanLoading", "speedupVsPerScanLoadingLoneScan" })
        {
            Assert.Equal(MeanOverModalities(m => m.GetProperty(key).GetDouble()), root.GetProperty(key).GetDouble(), 9);
        }

        Assert.Equal(3, root.GetProperty("modalities").GetProperty("chest").GetProperty("loneScanBatching").GetProperty("runs").GetInt32());
        Figures.FinitePositive(root.GetProperty("endToEndFraction").GetDouble());
        var rounds = root.GetProperty("endToEndRounds").EnumerateArray().ToList();
        Assert.Equal([true, false, true], rounds.Select(r => r.GetProperty("inProcessFirst").GetBoolean()));
        var middle = rounds.Select(r => r.GetProperty("fraction").GetDouble()).Order().ElementAt(1);
        Assert.Equal(middle, root.GetProperty("endToEndFraction").GetDouble());
        Assert.Equal(3, root.GetProperty("endToEndFractionSpread").GetProperty("rounds").GetInt32());
        Assert.Equal(4, root.GetProperty("endToEnd").GetProperty("scans").GetInt32());
        Assert.Equal(2, root.GetProperty("modalities").GetProperty("ct").GetProperty("batched").GetArrayLength());
        var stages = root.GetProperty("modalities").GetProperty("chest").GetProperty("stages").EnumerateArray()
            .Select(s => s.GetProperty("stage").GetString()).ToList();
        Assert.Equal(["decode", "preprocess"], stages.Take(2));
        Assert.Equal(["ensemble", "whole scan", "whole scan spinning", "seed's way"], stages.TakeLast(4));
        Assert.Equal(10, stages.Count);
        Assert.True(root.GetProperty("storageRequests").GetProperty("perScan").GetDouble() >= 4, "at least the upload, download, results and message per scan");
        var remote = root.GetProperty("endToEndRemote").GetProperty("endToEnd");
        Assert.Equal(4, remote.GetProperty("scans").GetInt32());
        Assert.Equal(JsonValueKind.Number, remote.GetProperty("workerCpuSeconds").ValueKind); // the worker's CPU is measured
        Assert.True(root.GetProperty("endToEnd").GetProperty("workerCpuSeconds").ValueKind == JsonValueKind.Null, "no worker in the default configuration");
        Assert.Equal(JsonValueKind.Number, root.GetProperty("endToEnd").GetProperty("clientCpuSeconds").ValueKind); // the benchmark's own CPU
        Assert.Equal(["azurite"], root.GetProperty("endToEnd").GetProperty("azuriteProcesses").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        Assert.Equal(JsonValueKind.Number, root.GetProperty("endToEnd").GetProperty("azuriteCpuSeconds").ValueKind); // Azurite's, all its processes
        if (Environment.ProcessorCount >= 2)
        {
            Figures.FinitePositive(root.GetProperty("endToEndFractionStorageApart").GetDouble());
            var apart = root.GetProperty("endToEndStorageApart");
            Assert.Equal(4, apart.GetProperty("endToEnd").GetProperty("scans").GetInt32());
            var apartRound = Assert.Single(apart.GetProperty("rounds").EnumerateArray());
            Assert.Equal(apartRound.GetProperty("fraction").GetDouble(), root.GetProperty("endToEndFractionStorageApart").GetDouble());
        }
    }

    [Fact]
    public async Task Gpu_bench_on_a_build_without_the_cuda_provider_stops_with_the_reason_and_reports_nothing()
    {
        var settings = new BenchSettings(Quick: true, models.ManifestPath, json, DataFolder: null, RepoPaths.Root) { Gpu = true };

        var (exit, _, error) = await ConsoleOutput.CaptureAsync(() => GpuBenchmarks.RunAsync(settings));

        Assert.Equal(3, exit);
        Assert.Contains("no CUDA provider", error, StringComparison.Ordinal);
        Assert.False(File.Exists(json), "no GPU figures without a GPU");
    }

    public void Dispose()
    {
        models.Dispose();
        File.Delete(json);
    }
}
