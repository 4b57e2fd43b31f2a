using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using CovidServerless.Core;
using CovidServerless.Core.Evaluation;

namespace CovidServerless.Cli.Reports;

/// <summary>Writes metrics.json, report.md and the PNG plots of an evaluation run.</summary>
internal static class EvaluationReport
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static IReadOnlyList<string> Write(EvaluationRun run, string dataFolder, string outFolder)
    {
        Directory.CreateDirectory(outFolder);
        var metrics = run.Metrics();
        var order = run.ModelNames.Append(EvaluationRun.Ensemble).ToList();
        var document = new
        {
            modality = run.Modality.ToName(),
            n = run.Scans.Count,
            threshold = run.Threshold,
            data = dataFolder,
            positives = run.Labels.Count(l => l),
            negatives = run.Labels.Count(l => !l),
            rejected = run.Rejected.Select(r => new { file = r.Scan.Path, reason = r.Reason }),
            models = order.ToDictionary(name => name, name => metrics[name]),
            generatedAt = DateTimeOffset.UtcNow,
        };
        var written = new List<string> { Path.Combine(outFolder, "metrics.json") };
        File.WriteAllText(written[0], JsonSerializer.Serialize(document, Json));
        written.AddRange(EvaluationPlots.Write(run, order, outFolder));
        var report = Path.Combine(outFolder, "report.md");
        File.WriteAllText(report, Markdown(run, metrics, order, dataFolder));
        written.Add(report);
        return written;
    }

    private static string Markdown(EvaluationRun run, IReadOnlyDictionary<string, BinaryMetrics> metrics, IReadOnlyList<string> order, string dataFolder)
    {
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(c, $"# Evaluation: {run.Modality.ToName()}");
        md.AppendLine();
        md.AppendLine(c, $"Data: `{dataFolder}` ({run.Labels.Count(l => l)} covid, {run.Labels.Count(l => !l)} noncovid scored; {run.Rejected.Count} rejected).");
        md.AppendLine(c, $"Every image was scored by `covidscan evaluate` through the serving scorer (same decoder, preprocessing and ONNX sessions as the pipeline). Decision threshold {run.Threshold:F3} from the manifest; COVID is the positive class.");
        md.AppendLine(c, $"Generated {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC.");
        md.AppendLine();
        md.AppendLine("| model | AUC | accuracy | sensitivity | specificity | precision | F1 | TP | FP | TN | FN | ECE |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var name in order)
        {
            var m = metrics[name];
            md.AppendLine(c, $"| {name} | {m.Auc:F3} | {m.Accuracy:F3} | {m.Sensitivity:F3} | {m.Specificity:F3} | {m.Precision:F3} | {m.F1:F3} | {m.Tp} | {m.Fp} | {m.Tn} | {m.Fn} | {m.Ece:F3} |");
        }

        md.AppendLine();
        md.AppendLine("ECE: expected calibration error over 10 equal-width pCovid bins (0 = perfectly calibrated).");
        md.AppendLine();
        md.AppendLine("![ROC curves](roc.png)");
        md.AppendLine();
        md.AppendLine("![Reliability curves](reliability.png)");
        md.AppendLine();
        md.AppendLine("![Confusion matrices](confusion.png)");
        if (run.Rejected.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("## Rejected images");
            foreach (var (scan, reason) in run.Rejected)
            {
                md.AppendLine(c, $"- `{Path.GetFileName(scan.Path)}`: {reason}");
            }
        }

        return md.ToString();
    }
}
