using CovidServerless.Benchmarks;
using CovidServerless.Core;
using CovidServerless.Core.Ingestion;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;
using CovidServerless.TestSupport;

namespace CovidServerless.Benchmarks.Tests;

/// <summary>
/// The GPU bench's worker sections (the worker over HTTP; the pipeline in front of it), run here on the CPU build of the
/// worker: they prove the section works and that both refuse to report CPU figures as CUDA ones. Figures are not
/// checked (not meaningful at this size). The pipeline section prints, so the class joins the console collection.
/// </summary>
[Collection(ConsoleOutput.Collection)]
public sealed class WorkerOverHttpTests : IDisposable
{
    private readonly ModelFolder models = ModelFolder.WithStandardEnsembles();
    private readonly List<(Modality Modality, byte[] Image)> burst =
        [.. Enumerable.Range(0, 4).Select(i => (ModalityNames.All[i % 2], Samples.For(ModalityNames.All[i % 2], null, 2)[i / 2]))];

    private BenchSettings Settings => new(Quick: true, models.ManifestPath, JsonPath: null, DataFolder: null, RepoPaths.Root);

    [Fact]
    public async Task Worker_sent_a_burst_by_the_hosts_remote_client_reports_its_rate_start_and_cpu()
    {
        var result = await WorkerOverHttp.MeasureAsync(Settings, ExecutionProvider.Cpu, burst, burst.Take(2).ToList(), callers: 2);

        Assert.False(result.ModelsOnCuda);
        Assert.Equal(burst.Count, result.Burst.Scans);
        Figures.FinitePositive(result.Burst.ScansPerMinute);
        Figures.FinitePositive(result.StartToReadySeconds);
        Assert.True(result.WorkerCpuMsPerScan > 0, "the worker process, not this one, scored the scans");
        Figures.FinitePositive(result.LoneScanMs);
    }

    [Fact]
    public async Task Worker_asked_for_cuda_whose_models_run_on_the_cpu_stops_the_run()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => WorkerOverHttp.MeasureAsync(Settings, ExecutionProvider.Cuda, burst, burst, callers: 2));

        Assert.Contains("models_on_cuda 0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pipeline_in_front_of_a_worker_asked_for_cuda_whose_models_run_on_the_cpu_stops_the_run()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => new StorageBenchmarks(Settings).EndToEndAsync(burst, batchInProcess: true, ingestConcurrency: 2, concurrentScans: 2, scoringWorker: ExecutionProvider.Cuda));

        Assert.Contains("models_on_cuda 0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gpu_bench_pipeline_section_without_a_cuda_worker_is_skipped_so_the_figures_before_it_still_get_reported()
    {
        var ((runs, skipped), printed, _) = await ConsoleOutput.CaptureAsync(() => GpuBenchmarks.PipelineWithWorkerAsync(Settings, burst));

        Assert.Null(runs);
        Assert.Contains("models_on_cuda 0", skipped, StringComparison.Ordinal);
        Assert.Contains("skipped", printed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gpu_bench_pipeline_section_runs_as_deployed_then_with_azurite_per_service_and_more_scans_ingested()
    {
        var ((runs, skipped), printed, _) = await ConsoleOutput.CaptureAsync(() => GpuBenchmarks.PipelineWithWorkerAsync(Settings, burst, ExecutionProvider.Cpu));

        Assert.Null(skipped);
        Assert.NotNull(runs);
        var defaultIngestion = new ScanWatchOptions().ScansIngestedAtOnce(new ScoringOptions { Mode = ScoringMode.Remote }, new ModelOptions());
        Assert.Equal(
            [(false, defaultIngestion), (false, Settings.GpuBurstCallers), (true, defaultIngestion), (true, Settings.GpuBurstCallers)],
            runs.Select(run => (run.AzuritePerService, run.IngestedAtOnce)));
        Assert.All(runs, run =>
        {
            Assert.Equal(burst.Count, run.EndToEnd.Scans);
            Assert.Equal(run.IngestedAtOnce, run.EndToEnd.IngestConcurrency);
            Assert.Equal(run.AzuritePerService ? 3 : 1, run.EndToEnd.AzuriteProcesses.Count);
            Assert.True(run.EndToEnd.WorkerCpuSeconds > 0, "the worker scored the scans");
            Assert.Contains($"{run.Label} (", printed, StringComparison.Ordinal); // each run's line, with its duration
        });
    }

    public void Dispose() => models.Dispose();
}
