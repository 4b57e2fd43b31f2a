using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using CovidServerless.Core;
using CovidServerless.Core.Evaluation;
using CovidServerless.Core.Imaging;
using SkiaSharp;

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
            rejected = run.Rejected.Select((r, i) => new { file = r.Scan.Path, reason = r.Reason, gate = run.RejectedByGate.ElementAtOrDefault(i) }),
            gateRejected = run.GateRejections,
            models = order.ToDictionary(name => name, name => metrics[name]),
            triage = run.Triage() is { } triage ? new { margin = run.Abstain!.Margin, maxSpread = run.Abstain.MaxSpread, metrics = triage } : null,
            generatedAt = DateTimeOffset.UtcNow,
        };
        var written = new List<string> { Path.Combine(outFolder, "metrics.json") };
        File.WriteAllText(written[0], JsonSerializer.Serialize(document, Json));
        written.AddRange(EvaluationPlots.Write(run, order, outFolder));
        written.AddRange(WriteThumbnails(run, outFolder));
        var report = Path.Combine(outFolder, "report.md");
        File.WriteAllText(report, Markdown(run, metrics, order, dataFolder));
        written.Add(report);
        return written;
    }

    /// <summary>Where the thumbnails of the scans the gate rejected go (derived from the data: keep them out of git).</summary>
    public const string ThumbnailFolder = "rejected";

    /// <summary>A thumbnail (at most 160 px a side) of each scan the input gate rejected, named by its place in the list.</summary>
    private static List<string> WriteThumbnails(EvaluationRun run, string outFolder)
    {
        var decoder = new ScanDecoder();
        var written = new List<string>();
        for (var i = 0; i < run.Rejected.Count; i++)
        {
            if (run.RejectedByGate.ElementAtOrDefault(i) is null)
            {
                continue;
            }

            using var scan = decoder.Decode(File.ReadAllBytes(run.Rejected[i].Scan.Path));
            var scale = Math.Min(1.0, 160.0 / Math.Max(scan.Width, scan.Height));
            var info = new SKImageInfo(Math.Max(1, (int)(scan.Width * scale)), Math.Max(1, (int)(scan.Height * scale)));
            using var thumbnail = scan.Bitmap.Resize(info, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
            using var image = SKImage.FromBitmap(thumbnail);
            using var png = image.Encode(SKEncodedImageFormat.Png, 100);
            Directory.CreateDirectory(Path.Combine(outFolder, ThumbnailFolder));
            var path = Path.Combine(outFolder, ThumbnailFolder, $"{i}.png");
            File.WriteAllBytes(path, png.ToArray());
            written.Add(path);
        }

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
        md.AppendLine(c, $"Input gate: rejected {run.GateRejections} of {run.Scans.Count + run.Rejected.Count} images (not scored, so not in the metrics below).");
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
        if (run.Triage() is { } triage)
        {
            md.AppendLine();
            md.AppendLine("## Triage with the abstaining band");
            md.AppendLine();
            md.AppendLine(c, $"The ensemble answers `indeterminate` (needs a radiologist) when its pCovid is within {run.Abstain!.Margin:F3} of the threshold or its members' pCovid span more than {run.Abstain.MaxSpread:F3}. The table above ignores the band; this one counts the confident verdicts only.");
            md.AppendLine();
            md.AppendLine("| coverage | confident | indeterminate | accuracy | sensitivity | specificity | TP | FP | TN | FN |");
            md.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
            md.AppendLine(c, $"| {triage.Coverage:F3} | {triage.Confident} | {triage.Scans - triage.Confident} | {triage.Accuracy:F3} | {triage.Sensitivity:F3} | {triage.Specificity:F3} | {triage.Tp} | {triage.Fp} | {triage.Tn} | {triage.Fn} |");
            md.AppendLine();
            md.AppendLine("Coverage: the share of scored scans given a confident verdict (covid or noncovid).");
        }
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
            foreach (var ((scan, reason), i) in run.Rejected.Select((r, i) => (r, i)))
            {
                var gate = run.RejectedByGate.ElementAtOrDefault(i);
                var figures = gate is null ? "" : $" (gate score {gate.Score:F3} < {gate.Threshold:F3}, looks like {gate.LooksLike})";
                md.AppendLine(c, $"- `{Path.GetFileName(scan.Path)}`: {reason}{figures}");
                if (gate is not null)
                {
                    md.AppendLine(c, $"  ![{Path.GetFileName(scan.Path)}]({ThumbnailFolder}/{i}.png)");
                }
            }
        }

        return md.ToString();
    }
}
