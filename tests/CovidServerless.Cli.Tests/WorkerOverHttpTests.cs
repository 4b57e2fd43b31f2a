using CovidServerless.Benchmarks;
using CovidServerless.Core;
using CovidServerless.Core.Models;
using CovidServerless.TestSupport;

namespace CovidServerless.Cli.Tests;

/// <summary>
/// The GPU bench's worker-over-HTTP section, run here on the CPU build of the worker: it proves the section works and
/// that it refuses to report CPU figures as CUDA ones. Its figures are not checked (not meaningful at this size).
/// </summary>
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
        Assert.True(result.Burst.ScansPerMinute > 0);
        Assert.True(result.StartToReadySeconds > 0);
        Assert.True(result.WorkerCpuMsPerScan > 0, "the worker process, not this one, scored the scans");
        Assert.True(result.LoneScanMs > 0);
    }

    [Fact]
    public async Task Worker_asked_for_cuda_whose_models_run_on_the_cpu_stops_the_run()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => WorkerOverHttp.MeasureAsync(Settings, ExecutionProvider.Cuda, burst, burst, callers: 2));

        Assert.Contains("models_on_cuda 0", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => models.Dispose();
}
