using System.Text.Json;
using CovidServerless.TestSupport;

namespace CovidServerless.Cli.Tests;

[Collection(ConsoleCapture.Collection)]
public sealed class EvaluateCommandTests : IDisposable
{
    private readonly ModelFolder models = ModelFolder.WithStandardEnsembles();
    private readonly string data = Directory.CreateTempSubdirectory("covidscan-eval-").FullName;

    [Fact]
    public async Task Writes_metrics_json_report_and_plots_per_model_and_for_the_ensemble()
    {
        // The chest test models rise with brightness: bright "covid" scans, dark "noncovid" scans,
        // and one dark covid scan that the ensemble must miss.
        Write("covid", [200, 220, 240, 30]);
        Write("noncovid", [10, 40, 60]);
        File.WriteAllText(Path.Combine(data, "noncovid", "broken.png"), "not an image");
        var output = Path.Combine(data, "out");

        var (exit, _, error) = await ConsoleCapture.RunAsync("evaluate", "--modality", "chest", "--data", data, "--out", output, "--models", models.ManifestPath);

        Assert.True(exit == 0, error);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        var root = metrics.RootElement;
        Assert.Equal(("chest", 7), (root.GetProperty("modality").GetString(), root.GetProperty("n").GetInt32()));
        var modelNames = root.GetProperty("models").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal([.. ModelFolder.ArchitectureNames, "ensemble"], modelNames);
        var ensemble = root.GetProperty("models").GetProperty("ensemble");
        Assert.Equal((3, 0, 3, 1), (ensemble.GetProperty("tp").GetInt32(), ensemble.GetProperty("fp").GetInt32(), ensemble.GetProperty("tn").GetInt32(), ensemble.GetProperty("fn").GetInt32()));
        Assert.Equal(0.75, ensemble.GetProperty("sensitivity").GetDouble(), 6);
        Assert.Equal(10.0 / 12.0, ensemble.GetProperty("auc").GetDouble(), 6); // the dark covid scan outranks only the darkest negative
        Assert.Single(root.GetProperty("rejected").EnumerateArray());
        Assert.Contains("| ensemble |", File.ReadAllText(Path.Combine(output, "report.md")), StringComparison.Ordinal);
        foreach (var plot in new[] { "roc.png", "reliability.png", "confusion.png" })
        {
            var bytes = File.ReadAllBytes(Path.Combine(output, plot));
            Assert.True(bytes.Length > 1000 && bytes[1] == 'P' && bytes[2] == 'N' && bytes[3] == 'G', plot);
        }
    }

    [Fact]
    public async Task With_an_abstaining_band_it_reports_coverage_and_the_figures_of_the_confident_verdicts()
    {
        // Chest abstains from 0.3 to 0.7. Mean pCovid by grey level: 250 0.756, 240 0.740, 220 0.705, 150 0.555,
        // 128 0.501, 30 0.286, 10 0.252. Confident: 250, 240 (TP), 30 (FN), 10 (TN), 220 (FP); 150 and 128 abstain.
        using var abstaining = ModelFolder.WithAbstainingChest(margin: 0.2);
        Write("covid", [250, 240, 150, 30]);
        Write("noncovid", [10, 128, 220]);
        var output = Path.Combine(data, "out");

        var (exit, stdout, error) = await ConsoleCapture.RunAsync("evaluate", "--modality", "chest", "--data", data, "--out", output, "--models", abstaining.ManifestPath);

        Assert.True(exit == 0, error);
        Assert.Contains(
            "abstaining band (margin 0.200, max spread 1.000): coverage 0.714 (5 of 7 scans confident, 2 indeterminate); on the confident: accuracy 0.600  sensitivity 0.667  specificity 0.500",
            stdout,
            StringComparison.Ordinal);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        var triage = metrics.RootElement.GetProperty("triage");
        Assert.Equal(0.2, triage.GetProperty("margin").GetDouble());
        var confident = triage.GetProperty("metrics");
        Assert.Equal(5.0 / 7.0, confident.GetProperty("coverage").GetDouble(), 12);
        Assert.Equal((2, 1, 1, 1), (confident.GetProperty("tp").GetInt32(), confident.GetProperty("fp").GetInt32(), confident.GetProperty("tn").GetInt32(), confident.GetProperty("fn").GetInt32()));
        Assert.Equal(0.6, confident.GetProperty("accuracy").GetDouble(), 12);

        // The band changes no threshold figure: the ensemble row still counts every scan against 0.5.
        var ensemble = metrics.RootElement.GetProperty("models").GetProperty("ensemble");
        Assert.Equal(7, ensemble.GetProperty("tp").GetInt32() + ensemble.GetProperty("fp").GetInt32() + ensemble.GetProperty("tn").GetInt32() + ensemble.GetProperty("fn").GetInt32());
        var ece = ensemble.GetProperty("ece").GetDouble();
        Assert.Contains($"ensemble ECE {ece.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)} (expected calibration error", stdout, StringComparison.Ordinal);
        var report = File.ReadAllText(Path.Combine(output, "report.md"));
        Assert.Contains("## Triage with the abstaining band", report, StringComparison.Ordinal);
        Assert.Contains("| 0.714 | 5 | 2 | 0.600 | 0.667 | 0.500 | 2 | 1 | 1 | 1 |", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_an_abstaining_band_it_reports_no_coverage_because_no_verdict_can_be_indeterminate()
    {
        Write("covid", [250, 150]);
        Write("noncovid", [10, 128]);
        var output = Path.Combine(data, "out");

        var (exit, stdout, error) = await ConsoleCapture.RunAsync("evaluate", "--modality", "chest", "--data", data, "--out", output, "--models", models.ManifestPath);

        Assert.True(exit == 0, error);
        Assert.DoesNotContain("coverage", stdout, StringComparison.Ordinal);
        Assert.Contains("ensemble ECE ", stdout, StringComparison.Ordinal);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        Assert.Equal(JsonValueKind.Null, metrics.RootElement.GetProperty("triage").ValueKind);
        Assert.DoesNotContain("abstaining band", File.ReadAllText(Path.Combine(output, "report.md")), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task The_report_counts_the_scans_the_input_gate_rejected_and_gives_their_reasons()
    {
        Skip.If(RepoPaths.SharedData is null, RepoPaths.NoSharedDataMessage);
        using var gated = ModelFolder.WithStandardEnsembles().WithCommittedGate().Write();
        foreach (var label in new[] { "covid", "noncovid" })
        {
            Directory.CreateDirectory(Path.Combine(data, label));
            foreach (var file in Directory.EnumerateFiles(Path.Combine(RepoPaths.SharedData!, "chest", "val", label)).Order(StringComparer.Ordinal).Take(3))
            {
                File.Copy(file, Path.Combine(data, label, Path.GetFileName(file)));
            }
        }

        File.WriteAllBytes(Path.Combine(data, "covid", "blank.png"), TestImages.Uniform(0, 512, 512));
        File.Copy(
            Directory.EnumerateFiles(Path.Combine(RepoPaths.SharedData!, "ct", "val", "covid")).Order(StringComparer.Ordinal).First(),
            Path.Combine(data, "noncovid", "a-ct-slice.png"));
        var output = Path.Combine(data, "out");

        var (exit, stdout, error) = await ConsoleCapture.RunAsync("evaluate", "--modality", "chest", "--data", data, "--out", output, "--models", gated.ManifestPath);

        Assert.True(exit == 0, error);
        Assert.Contains("input gate rejected 2 of 8 images", stdout, StringComparison.Ordinal);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        Assert.Equal(2, metrics.RootElement.GetProperty("gateRejected").GetInt32());
        Assert.Equal(6, metrics.RootElement.GetProperty("n").GetInt32());
        var report = File.ReadAllText(Path.Combine(output, "report.md"));
        Assert.Contains("Input gate: rejected 2 of 8 images", report, StringComparison.Ordinal);
        Assert.Contains("`blank.png`: The image has no content", report, StringComparison.Ordinal);
        Assert.Contains("`a-ct-slice.png`: The image looks like a chest CT slice", report, StringComparison.Ordinal);
        var thumbnails = Directory.GetFiles(Path.Combine(output, "rejected"), "*.png");
        Assert.Equal(2, thumbnails.Length);
        Assert.All(thumbnails, t => Assert.Contains($"(rejected/{Path.GetFileName(t)})", report, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_folder_with_one_class_scored_is_refused_instead_of_writing_undefined_metrics()
    {
        Write("covid", [200, 220]);
        Write("noncovid", []);
        File.WriteAllText(Path.Combine(data, "noncovid", "broken.png"), "not an image");
        var output = Path.Combine(data, "out");

        var (exit, _, error) = await ConsoleCapture.RunAsync("evaluate", "--modality", "chest", "--data", data, "--out", output, "--models", models.ManifestPath);

        Assert.Equal(2, exit);
        Assert.Contains("2 covid and 0 noncovid images were scored (1 rejected)", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(output, "metrics.json")));
    }

    [Fact]
    public async Task A_folder_without_its_class_subfolders_is_a_usage_error_naming_the_missing_one()
    {
        Write("covid", [200]);

        var (exit, _, error) = await ConsoleCapture.RunAsync("evaluate", "--modality", "chest", "--data", data, "--out", Path.Combine(data, "out"), "--models", models.ManifestPath);

        Assert.Equal(2, exit);
        Assert.Contains($"{Path.Combine(data, "noncovid")} is missing", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_report_folder_that_cannot_be_written_is_refused_before_the_models_load()
    {
        Write("covid", [200]);
        Write("noncovid", [10]);
        var file = Path.Combine(data, "a file, not a folder");
        File.WriteAllText(file, "taken");
        var noModels = Path.Combine(data, "no-such-manifest.json"); // were they loaded first, this would be the error

        var (exit, _, error) = await ConsoleCapture.RunAsync("evaluate", "--modality", "chest", "--data", data, "--out", file, "--models", noModels);

        Assert.Equal(2, exit);
        Assert.Contains($"Cannot write the report to {file}", error, StringComparison.Ordinal);
    }

    private void Write(string label, byte[] levels)
    {
        Directory.CreateDirectory(Path.Combine(data, label));
        foreach (var level in levels)
        {
            File.WriteAllBytes(Path.Combine(data, label, $"{level}.png"), TestImages.Uniform(level));
        }
    }

    public void Dispose()
    {
        models.Dispose();
        Directory.Delete(data, recursive: true);
    }
}
