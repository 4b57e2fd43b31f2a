using CovidServerless.Core.Evaluation;
using ScottPlot;

namespace CovidServerless.Cli.Reports;

/// <summary>ROC, reliability and confusion-matrix plots as PNG files.</summary>
internal static class EvaluationPlots
{
    public static IReadOnlyList<string> Write(EvaluationRun run, IReadOnlyList<string> order, string outFolder)
    {
        PlotFonts.EnsureLoaded();
        var labels = run.Labels;
        var metrics = run.Metrics();
        return [Roc(run, labels, metrics, order, outFolder), Reliability(run, labels, order, outFolder), Confusion(run, metrics, order, outFolder)];
    }

    private static string Roc(EvaluationRun run, IReadOnlyList<bool> labels, IReadOnlyDictionary<string, BinaryMetrics> metrics, IReadOnlyList<string> order, string outFolder)
    {
        var plot = new Plot();
        foreach (var name in order)
        {
            var curve = BinaryMetrics.RocCurve(labels, run.Scores[name]);
            var line = plot.Add.Scatter(curve.Select(p => p.Fpr).ToArray(), curve.Select(p => p.Tpr).ToArray());
            line.LegendText = $"{name} (AUC {metrics[name].Auc:F3})";
            line.MarkerSize = 0;
            line.LineWidth = name == EvaluationRun.Ensemble ? 3 : 1.5f;
        }

        var chance = plot.Add.Line(0, 0, 1, 1);
        chance.LinePattern = LinePattern.Dashed;
        chance.Color = Colors.Gray;
        plot.Title($"ROC, {run.Modality.ToString().ToLowerInvariant()} (n={labels.Count})");
        plot.XLabel("false positive rate");
        plot.YLabel("true positive rate");
        plot.Axes.SetLimits(0, 1, 0, 1);
        plot.ShowLegend(Alignment.LowerRight);
        return Save(plot, outFolder, "roc.png");
    }

    private static string Reliability(EvaluationRun run, IReadOnlyList<bool> labels, IReadOnlyList<string> order, string outFolder)
    {
        var plot = new Plot();
        foreach (var name in order)
        {
            var bins = Calibration.ReliabilityCurve(labels, run.Scores[name]).Where(b => b.Count > 0).ToList();
            var line = plot.Add.Scatter(bins.Select(b => b.MeanPredicted).ToArray(), bins.Select(b => b.ObservedRate).ToArray());
            line.LegendText = $"{name} (ECE {Calibration.ExpectedCalibrationError(labels, run.Scores[name]):F3})";
            line.LineWidth = name == EvaluationRun.Ensemble ? 3 : 1.5f;
        }

        var ideal = plot.Add.Line(0, 0, 1, 1);
        ideal.LinePattern = LinePattern.Dashed;
        ideal.Color = Colors.Gray;
        plot.Title("Reliability: observed COVID rate per predicted-pCovid bin");
        plot.XLabel("mean predicted pCovid");
        plot.YLabel("observed COVID fraction");
        plot.Axes.SetLimits(0, 1, 0, 1);
        plot.ShowLegend(Alignment.UpperLeft);
        return Save(plot, outFolder, "reliability.png");
    }

    private static string Confusion(EvaluationRun run, IReadOnlyDictionary<string, BinaryMetrics> metrics, IReadOnlyList<string> order, string outFolder)
    {
        // One 2x2 block per scorer, side by side: rows = actual (covid, noncovid), columns = predicted (covid, noncovid).
        var plot = new Plot();
        var n = run.Scans.Count;
        for (var k = 0; k < order.Count; k++)
        {
            var m = metrics[order[k]];
            var x0 = k * 2.5;
            foreach (var (row, col, value, label) in new[] { (0, 0, m.Tp, "TP"), (0, 1, m.Fn, "FN"), (1, 0, m.Fp, "FP"), (1, 1, m.Tn, "TN") })
            {
                var (left, top) = (x0 + col, 2 - row);
                var cell = plot.Add.Rectangle(left, left + 1, top - 1, top);
                cell.FillStyle.Color = (row == col ? Colors.SeaGreen : Colors.IndianRed).WithAlpha(0.15 + (0.85 * value / Math.Max(1, n)));
                cell.LineStyle.Color = Colors.White;
                var text = plot.Add.Text($"{label} {value}", left + 0.5, top - 0.5);
                text.LabelFontSize = 16;
                text.LabelAlignment = Alignment.MiddleCenter;
            }

            var name = plot.Add.Text(order[k], x0 + 1, 2.25);
            name.LabelAlignment = Alignment.MiddleCenter;
            name.LabelFontSize = 15;
            name.LabelBold = true;
        }

        plot.Title($"Confusion matrices at threshold {run.Threshold:F2}: rows actual covid / noncovid, columns predicted covid / noncovid");
        plot.Axes.SetLimits(-0.25, (order.Count * 2.5) - 0.25, -0.1, 2.5);
        plot.Axes.Frameless();
        plot.HideGrid();
        return Save(plot, outFolder, "confusion.png", width: 280 * order.Count, height: 420);
    }

    private static string Save(Plot plot, string outFolder, string name, int width = 900, int height = 600)
    {
        var path = Path.Combine(outFolder, name);
        plot.SavePng(path, width, height);
        return path;
    }
}
