namespace CovidServerless.Benchmarks;

/// <summary>What to run: --quick shrinks every section to prove it works, not to measure.</summary>
public sealed record BenchSettings(bool Quick, string ManifestPath, string? JsonPath, string? DataFolder, string RepoRoot)
{
    public int Runs => Quick ? 3 : 15;

    public int[] BatchSizes => Quick ? [1, 2] : [1, 2, 4, 8, 16];

    public int EndToEndScans => Quick ? 4 : 240;

    /// <summary>Scans posted straight to the scoring worker before its end-to-end burst, to finish its tier-up JIT.</summary>
    public int WorkerWarmupScans => Quick ? 4 : 1200;

    /// <summary>Timed repeats of the in-process reference burst (after one warm-up burst); the median is kept.</summary>
    public int InProcessBurstRounds => Quick ? 1 : 3;

    /// <summary>
    /// Rounds of the default configuration end to end, each beside its own in-process burst; the median round's
    /// fraction is endToEndFraction, as one burst of each varies too much between runs on a shared machine.
    /// </summary>
    public int EndToEndRounds => Quick ? 3 : 5;

    /// <summary>Rounds of the default configuration with storage on a core of its own, as <see cref="EndToEndRounds"/>.</summary>
    public int StorageApartRounds => Quick ? 1 : 3;

    public int MatMulSize => Quick ? 256 : 1024;

    /// <summary>Alternating rounds of MatMul probe and batched ensemble for the limit fraction.</summary>
    public int LimitRounds => Quick ? 2 : 9;

    /// <summary>--gpu: the ensemble on CUDA against this machine's CPU instead of the CPU sections.</summary>
    public bool Gpu { get; init; }

    /// <summary>Run only the heatmap section (<c>--heatmaps</c>).</summary>
    public bool HeatmapsOnly { get; init; }

    public int GpuSampleScans => Quick ? 2 : 32;

    public int[] GpuBatchSizes => Quick ? [1, 2] : [1, 2, 4, 8, 16, 32, 64];

    public int GpuBurstScans => Quick ? 8 : 512;

    public int GpuBurstCallers => Quick ? 4 : 128;

    /// <summary>Scans sent one at a time through the batching scorer (--gpu), for the cost of padding to a scan alone.</summary>
    public int GpuLoneScans => Quick ? 2 : 64;

    /// <summary>A slow burst configuration stops after the timed round that passes this, so one run fits a GPU lease.</summary>
    public TimeSpan GpuBurstBudget => TimeSpan.FromSeconds(Quick ? 5 : 25);
}
