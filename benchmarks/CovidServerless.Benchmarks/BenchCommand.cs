using System.CommandLine;

namespace CovidServerless.Benchmarks;

/// <summary>The benchmark's command line (<c>./covidscan bench</c> runs this executable): its options become <see cref="BenchSettings"/>.</summary>
public static class BenchCommand
{
    /// <param name="repoRoot">The repository, for the default manifest and the shared data beside it.</param>
    /// <param name="run">What runs with the parsed settings; its result is the exit code.</param>
    public static RootCommand Create(string repoRoot, Func<BenchSettings, Task<int>> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var gpu = new Option<bool>("--gpu") { Description = "Run the ensemble on CUDA against this machine's CPU, instead of the CPU sections." };
        var heatmaps = new Option<bool>("--heatmaps") { Description = "Only the heatmap section: scoring with and without the maps stored, and the first GET that draws an overlay." };
        var quick = new Option<bool>("--quick") { Description = "Shrink every section to prove that it works, not to measure." };
        var json = new Option<string?>("--json") { Description = "Also write the figures to this JSON file.", HelpName = "FILE" };
        var models = new Option<string>("--models")
        {
            Description = "Path of the model manifest (default: Models__ManifestPath, else models/manifest.json).",
            HelpName = "MANIFEST",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("Models__ManifestPath") ?? Path.Combine(repoRoot, "models", "manifest.json"),
        };
        var data = new Option<string>("--data")
        {
            Description = "The shared data folder, for real scans (default: ../shared/data beside the repository; synthetic scans where it is missing).",
            HelpName = "SHARED_DATA",
            DefaultValueFactory = _ => Path.Combine(repoRoot, "..", "shared", "data"),
        };
        var command = new RootCommand("covidscan bench: throughput, latency and cold start of the pipeline on this machine (benchmarks/README.md).")
        {
            gpu, heatmaps, quick, json, models, data,
        };
        command.SetAction(parse =>
        {
            var dataFolder = Path.GetFullPath(parse.GetValue(data)!);
            return run(new BenchSettings(
                parse.GetValue(quick),
                Path.GetFullPath(parse.GetValue(models)!),
                parse.GetValue(json),
                Directory.Exists(dataFolder) ? dataFolder : null,
                repoRoot)
            {
                Gpu = parse.GetValue(gpu),
                HeatmapsOnly = parse.GetValue(heatmaps),
            });
        });
        return command;
    }
}
