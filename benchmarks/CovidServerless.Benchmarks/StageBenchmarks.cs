using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.NoEmit;
using CovidServerless.Core;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;
using Microsoft.ML.OnnxRuntime;
using Perfolizer.Horology;

namespace CovidServerless.Benchmarks;

/// <summary>The per-stage cost of one scan, measured by BenchmarkDotNet in this process.</summary>
/// <param name="Stage">One of <see cref="StageBenchmarks.Stages"/>.</param>
/// <param name="AllocatedBytes">Managed bytes allocated per run (ONNX Runtime's and Skia's native memory not included).</param>
public sealed record StageCost(string Stage, Stats Time, long? AllocatedBytes);

/// <summary>
/// One scan's stages as BenchmarkDotNet benchmarks: it chooses how many runs make an iteration, warms up, and counts
/// the managed memory each run allocates. It runs in this process (its in-process toolchain) on the models and scan
/// of <see cref="Setup"/>, one modality at a time, so that its figures sit in the same run as every other section's.
/// </summary>
public class StageBenchmarks
{
    private readonly ScanDecoder decoder = new();
    private byte[] image = [];
    private ModalityModels ensemble = null!;
    private EnsembleRunner runner = null!;
    private ModalityModels spinningEnsemble = null!;
    private DecodedScan scan = null!;
    private Dictionary<string, float[]> tensors = [];
    private Action stage = () => { };

    /// <summary>decode, preprocess, each model's run (on its prepared tensor), ensemble, whole scan, whole scan spinning, seed's way.</summary>
    public static IEnumerable<string> Stages =>
        ["decode", "preprocess", .. Setup?.Catalog.For(Setup.Modality).Models.Select(m => m.Name) ?? [], "ensemble", "whole scan", "whole scan spinning", "seed's way"];

    [ParamsSource(nameof(Stages))]
    public string Stage { get; set; } = "decode";

    /// <summary>What the benchmarks run on; set by <see cref="Run"/> (BenchmarkDotNet creates this class itself).</summary>
    private static StageSetup? Setup { get; set; }

    public static IReadOnlyList<StageCost> Run(StageSetup setup, bool quick)
    {
        ArgumentNullException.ThrowIfNull(setup);
        Setup = setup;
        var artifacts = Directory.CreateTempSubdirectory("covidscan-bench-");
        try
        {
            // Iterations of about 250 ms each (BenchmarkDotNet picks the runs per iteration): 3 to warm up, 7 timed.
            var job = (quick ? Job.Dry : Job.Default.WithWarmupCount(3).WithIterationCount(7).WithIterationTime(TimeInterval.FromMilliseconds(250)))
                .WithToolchain(InProcessNoEmitToolchain.Instance);
            var config = ManualConfig.CreateEmpty()
                .AddJob(job)
                .AddDiagnoser(BenchmarkDotNet.Diagnosers.MemoryDiagnoser.Default)
                .AddLogger(NullLogger.Instance)
                .WithArtifactsPath(artifacts.FullName)

                // The bench is run from Release builds, but its tests run it from a Debug one.
                .WithOptions(ConfigOptions.DisableOptimizationsValidator | ConfigOptions.DisableLogFile);
            var order = Stages.ToList();

            // Each stage once first, outside BenchmarkDotNet, so that a stage that throws stops the bench with its own
            // exception: inside, BenchmarkDotNet 0.15.8's in-process toolchain turns it into a NullReferenceException.
            foreach (var name in order)
            {
                var once = new StageBenchmarks { Stage = name };
                once.Prepare();
                once.Run();
                once.Release();
            }

            var summary = BenchmarkRunner.Run<StageBenchmarks>(config);
            var costs = summary.Reports.Where(r => r.ResultStatistics is not null).Select(r => new StageCost(
                (string)r.BenchmarkCase.Parameters[nameof(Stage)],
                new Stats(r.ResultStatistics!.Median / 1e6, r.ResultStatistics.Q1 / 1e6, r.ResultStatistics.Q3 / 1e6, r.ResultStatistics.Min / 1e6, r.ResultStatistics.Max / 1e6, r.ResultStatistics.N),
                r.GcStats.GetBytesAllocatedPerOperation(r.BenchmarkCase))).OrderBy(c => order.IndexOf(c.Stage)).ToList();

            // Its logger is off (the bench prints its own table), so a stage it refused must not vanish quietly.
            var missing = order.Except(costs.Select(c => c.Stage)).ToList();
            if (missing.Count > 0)
            {
                throw new InvalidOperationException(
                    $"BenchmarkDotNet measured no {string.Join(", ", missing)} for {setup.Modality.ToName()}: " +
                    string.Join("; ", summary.ValidationErrors.Select(e => e.Message).DefaultIfEmpty("no validation error; a stage threw")));
            }

            return costs;
        }
        finally
        {
            Setup = null;
            artifacts.Delete(recursive: true);

            // BenchmarkDotNet raises this process's priority to measure; the sections after it, and the host and
            // Azurite processes they start, run at the usual one.
            using var self = System.Diagnostics.Process.GetCurrentProcess();
            self.PriorityClass = System.Diagnostics.ProcessPriorityClass.Normal;
        }
    }

    [GlobalSetup]
    public void Prepare()
    {
        var setup = Setup ?? throw new InvalidOperationException("StageBenchmarks runs through StageBenchmarks.Run.");
        image = setup.Image;
        ensemble = setup.Catalog.For(setup.Modality);
        runner = BenchScoring.OneSlot(setup.Catalog);
        spinningEnsemble = setup.SpinningCatalog.For(setup.Modality);
        scan = decoder.Decode(image);
        tensors = ensemble.Models.ToDictionary(m => m.Name, m => ImagePreprocessor.ToTensor(scan, m.Input));
        stage = StageToRun(Stage);
    }

    [GlobalCleanup]
    public void Release()
    {
        scan.Dispose();
        runner.Dispose();
    }

    /// <summary>The stage <see cref="Stage"/> once, for BenchmarkDotNet to time.</summary>
    [Benchmark]
    public void Run() => stage();

    private Action StageToRun(string name) => name switch
    {
        "decode" => () => decoder.Decode(image).Dispose(),
        "preprocess" => () => ImagePreprocessor.Fill(scan, ensemble.Models[0].Input, tensors[ensemble.Models[0].Name]),
        "ensemble" => () => BenchScoring.ScoreDecoded(runner, ensemble, [scan]),
        "whole scan" => () => ScoreFromBytes(ensemble),

        // With ONNX Runtime's pool threads allowed to spin between runs (Models:AllowSpinning).
        "whole scan spinning" => () => ScoreFromBytes(spinningEnsemble),
        "seed's way" => SeedWay,
        _ => ensemble.Models.Single(m => m.Name == name) is var model && tensors[name] is var tensor
            ? () => model.PredictCovid(tensor, 1)
            : throw new ArgumentException($"No stage {name}.", nameof(name)),
    };

    /// <summary>
    /// The seed's way: load the four models (new sessions from their files) for every scan, then score it as "whole
    /// scan" does. The sessions get the catalog's options, so that the two differ by the loading alone.
    /// </summary>
    private void SeedWay()
    {
        var folder = Path.GetDirectoryName(Setup!.Catalog.ManifestPath)!;
        var loaded = new List<OnnxModel>();
        try
        {
            foreach (var model in ensemble.Models)
            {
                using var options = OnnxSessionFactory.CreateOptions(Setup.Options, onCuda: false);
                loaded.Add(new OnnxModel(ensemble.Modality, model.Entry, model.Sha256, new InferenceSession(Path.Combine(folder, model.Entry.File), options)));
            }

            ScoreFromBytes(new ModalityModels(ensemble.Modality, ensemble.Rule, loaded));
        }
        finally
        {
            loaded.ForEach(m => m.Dispose());
        }
    }

    private IReadOnlyList<EnsembleScore> ScoreFromBytes(ModalityModels models)
    {
        using var decoded = decoder.Decode(image);
        return BenchScoring.ScoreDecoded(runner, models, [decoded]);
    }
}

/// <summary>The models and the sample scan of one modality the stage benchmarks run on.</summary>
/// <param name="SpinningCatalog">The same models with ONNX Runtime's threads allowed to spin.</param>
/// <param name="Options">The options <see cref="Catalog"/> was loaded with.</param>
public sealed record StageSetup(ModelCatalog Catalog, ModelOptions Options, ModelCatalog SpinningCatalog, Modality Modality, byte[] Image);
