using System.Globalization;
using System.Text;
using CovidServerless.Core.Evaluation;
using CovidServerless.Core.Models;
using CovidServerless.Training.Evaluation;
using CovidServerless.Training.Manifest;
using Metrics = CovidServerless.Core.Evaluation.BinaryMetrics;

namespace CovidServerless.Training.Cli;

/// <summary>
/// Turns a modality's out-of-fold scores (models/cv/&lt;modality&gt;-oof.csv, from <c>cross-validate</c>) into triage:
/// member temperatures, the threshold for the target sensitivity and the abstaining band, all fitted on every
/// out-of-fold score and written to the manifest; and the report models/cv/&lt;modality&gt;.md, whose triage figures are
/// cross-fitted (each fold judged by parameters fitted on the other folds), so no reported figure comes from the
/// scans that chose it.
/// </summary>
internal static class CalibrateCommand
{
    public const double DefaultTargetSensitivity = 0.90;
    public const double DefaultMinCoverage = 0.85;

    public static void Run(string modality, string outDirectory, double targetSensitivity, double minCoverage, Action<string> log)
    {
        var oofPath = OutOfFoldScores.PathFor(outDirectory, modality);
        var rows = OutOfFoldScores.Read(oofPath);
        var manifestPath = Path.Combine(outDirectory, "manifest.json");
        var manifest = ManifestFile.LoadOrCreate(manifestPath);
        var models = manifest.Modalities.TryGetValue(modality, out var current) && current.Models.Count > 0
            ? [.. current.Models.Select(m => m.Name)]
            : rows.Select(r => r.Model).Distinct().ToArray();
        var missing = models.Except(rows.Select(r => r.Model)).ToList();
        if (missing.Count > 0)
        {
            throw new ArgumentException($"{oofPath} has no out-of-fold scores for {string.Join(", ", missing)}.");
        }

        var report = new Report(modality, models, rows, targetSensitivity, minCoverage);
        var parameters = TriageFit.Fit(report.Scans(OutOfFoldScores.Original), targetSensitivity, minCoverage);
        var triage = report.CrossFitted(OutOfFoldScores.Original);
        var text = report.Write(parameters, triage, OutOfFoldScores.Recipe(oofPath));
        var reportPath = Path.Combine(outDirectory, "cv", $"{modality}.md");
        File.WriteAllText(reportPath, text);
        log(text);

        if (current is null || current.Models.Count == 0)
        {
            log($"{modality}: no models in {manifestPath}; report only -> {reportPath}");
            return;
        }

        var entries = current.Models.Select((m, i) => m with
        {
            Calibration = parameters.Calibrations[i] with
            {
                Rationale = $"Platt scaling fitted on the {report.N} out-of-fold scores of the {report.Folds}-fold cross-validation (models/cv/{modality}-oof.csv).",
            },
            Validation = ManifestFile.ToJson(report.ModelValidation(m.Name)),
        }).ToList();
        var band = new AbstainRule
        {
            Margin = parameters.Margin,
            MaxSpread = parameters.MaxSpread,
            Rationale = $"Fitted out of fold: the band (margin 0..0.30, spread 0.3..1) with the most accurate confident verdicts at coverage >= {F(minCoverage, 2)}. " +
                $"Cross-fitted: coverage {F(triage.Coverage)}, accuracy of confident verdicts {F(triage.ConfidentAccuracy.Value)} against {F(triage.AllAccuracy.Value)} for all.",
        };
        var rule = new EnsembleRule
        {
            Rule = "soft-vote",
            Threshold = Math.Round(parameters.Threshold, 6),
            TargetSensitivity = targetSensitivity,
            ThresholdRationale = $"Soft vote of {models.Length} Platt-scaled models. The largest threshold calling >= {F(targetSensitivity, 2)} of the COVID scans COVID, " +
                $"fitted on all {report.N} out-of-fold scores. Cross-fitted (each fold judged by a threshold fitted on the others): sensitivity {triage.Sensitivity}, " +
                $"specificity {triage.Specificity}; ensemble AUC {F(triage.Auc)}, ECE {F(triage.Ece)}. See models/cv/{modality}.md.",
            Abstain = band,
            Calibration = parameters.Ensemble with { Rationale = "Platt scaling of the soft vote (members calibrated first), fitted on the same out-of-fold scores." },
        };
        manifest.Modalities[modality] = current with { Ensemble = rule, Models = entries };
        ManifestFile.Save(manifest, manifestPath);
        log($"{modality}: threshold {rule.Threshold:F4}, band margin {band.Margin:F2} / spread {band.MaxSpread:F1}, temperatures " +
            string.Join(", ", entries.Select(e => $"{e.Name} T {e.Calibration!.Temperature:F3} B {e.Calibration.Bias:F3}")) + $" -> {manifestPath}, {reportPath}");
    }

    private static string F(double value, int digits = 3) => value.ToString("F" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    /// <summary>Triage as judged out of fold: binary rule on all scans, and the abstaining rule's confident verdicts.</summary>
    internal sealed record TriageFigures(double Auc, double Ece, double UncalibratedEce, Proportion Sensitivity, Proportion Specificity,
        Proportion AllAccuracy, double Coverage, Proportion ConfidentAccuracy, Proportion ConfidentSensitivity, Proportion ConfidentSpecificity);

    /// <summary>Manifest "validation" of a member: cross-validated AUC (pooled and per fold).</summary>
    internal sealed record CrossValidationRecord(string Data, double Auc, double AucMean, double AucSd, double[] FoldAucs, int N);

    private sealed class Report(string modality, string[] models, List<OutOfFoldScore> rows, double targetSensitivity, double minCoverage)
    {
        public int N => Scans(OutOfFoldScores.Original).Count;

        public int Folds => rows.Select(r => r.Fold).Distinct().Count();

        public List<ScanScores> Scans(string variant) =>
            [.. rows.Where(r => r.Variant == variant).GroupBy(r => r.File).OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new ScanScores(g.Key, g.First().Fold, g.First().IsCovid,
                    [.. models.Select(m => g.Single(r => r.Model == m).PCovid)]))];

        public TriageFigures CrossFitted(string variant)
        {
            var scans = Scans(variant);
            var judged = TriageFit.CrossFit(scans, targetSensitivity, minCoverage);
            var labels = judged.Select(j => j.Scan.IsCovid).ToArray();
            var ensemble = judged.Select(j => j.PCovid).ToArray();
            var uncalibrated = judged.Select(j => j.Scan.Members.Average()).ToArray(); // the plain soft vote, for comparison
            var binary = judged.Select(j => j.Verdict == Core.Scoring.Verdicts.Indeterminate
                ? null : (bool?)(j.Verdict == Core.Scoring.Verdicts.Covid)).ToArray();
            // The binary rule: the abstaining band is ignored, each scan is called by the threshold its fold was given.
            var called = judged.Select(j => j.PCovid >= j.Threshold).ToArray();
            int Count(Func<int, bool> where) => Enumerable.Range(0, labels.Length).Count(where);
            var confident = Enumerable.Range(0, labels.Length).Where(i => binary[i] is not null).ToArray();
            return new TriageFigures(
                Metrics.AreaUnderRoc(labels, ensemble),
                Calibration.ExpectedCalibrationError(labels, ensemble),
                Calibration.ExpectedCalibrationError(labels, uncalibrated),
                Proportion.Wilson(Count(i => labels[i] && called[i]), Count(i => labels[i])),
                Proportion.Wilson(Count(i => !labels[i] && !called[i]), Count(i => !labels[i])),
                Proportion.Wilson(Count(i => labels[i] == called[i]), labels.Length),
                (double)confident.Length / labels.Length,
                Proportion.Wilson(confident.Count(i => binary[i] == labels[i]), confident.Length),
                Proportion.Wilson(confident.Count(i => labels[i] && binary[i] == true), confident.Count(i => labels[i])),
                Proportion.Wilson(confident.Count(i => !labels[i] && binary[i] == false), confident.Count(i => !labels[i])));
        }

        public CrossValidationRecord ModelValidation(string model)
        {
            var own = rows.Where(r => r.Model == model && r.Variant == OutOfFoldScores.Original).ToList();
            var folds = own.GroupBy(r => r.Fold).OrderBy(g => g.Key).Select(g => Auc(g)).ToArray();
            return new CrossValidationRecord(
                $"{Folds}-fold cross-validation by patient group on {modality}/train + {modality}/val, out-of-fold scores of the fold models (models/cv/{modality}-oof.csv)",
                Math.Round(Auc(own), 4), Math.Round(folds.Average(), 4), Math.Round(Sd(folds), 4), [.. folds.Select(a => Math.Round(a, 4))], own.Count);
        }

        public string Write(TriageParameters parameters, TriageFigures triage, string recipe)
        {
            var text = new StringBuilder();
            void Line(string line) => text.AppendLine(line); // numbers are formatted invariantly by F
            var original = Scans(OutOfFoldScores.Original);
            Line($"# {modality}: cross-validated figures");
            text.AppendLine();
            Line($"Written by `covidserverless-train calibrate --modality {modality}` from `{modality}-oof.csv`: {original.Count} scans " +
                $"({original.Count(s => s.IsCovid)} COVID) of {modality}/train + {modality}/val, each scored by the model of the one fold (of {Folds}, by patient group) that did not train on it. " +
                "The number of epochs was fixed in advance; the recipe is the better of the few docs/training.md compares on these scores (so the AUCs below are " +
                "slightly optimistic for it); temperatures, threshold and band are fitted on these scores, " +
                "so their figures below are cross-fitted: each fold is judged with parameters fitted on the other folds only.");
            text.AppendLine();
            Line($"Recipe: {recipe}");
            text.AppendLine();
            text.AppendLine("## AUC per model (out of fold)");
            text.AppendLine();
            text.AppendLine("| model | pooled | mean over folds | sd | per fold | temperature | bias |");
            text.AppendLine("|---|---:|---:|---:|---|---:|---:|");
            foreach (var (model, m) in models.Select((n, i) => (n, i)))
            {
                var v = ModelValidation(model);
                Line($"| {model} | {F(v.Auc)} | {F(v.AucMean)} | {F(v.AucSd)} | {string.Join(" ", v.FoldAucs.Select(a => F(a)))} | {F(parameters.Calibrations[m].Temperature)} | {F(parameters.Calibrations[m].Bias)} |");
            }

            var softVote = original.GroupBy(s => s.Fold).OrderBy(g => g.Key)
                .Select(g => Metrics.AreaUnderRoc([.. g.Select(s => s.IsCovid)], [.. g.Select(s => s.Members.Average())])).ToArray();
            Line($"| **ensemble** (soft vote) | {F(Metrics.AreaUnderRoc([.. original.Select(s => s.IsCovid)], [.. original.Select(s => s.Members.Average())]))} | " +
                $"{F(softVote.Average())} | {F(Sd(softVote))} | {string.Join(" ", softVote.Select(a => F(a)))} | | |");
            text.AppendLine();

            text.AppendLine("## Triage (cross-fitted)");
            text.AppendLine();
            Line($"Manifest values (fitted on all out-of-fold scores): vote scaled with T {F(parameters.Ensemble.Temperature)} B {F(parameters.Ensemble.Bias)}, threshold {F(parameters.Threshold, 4)} for target sensitivity {F(targetSensitivity, 2)}; " +
                $"indeterminate when |pCovid - threshold| < {F(parameters.Margin, 2)} or the members' calibrated pCovid span more than {F(parameters.MaxSpread, 1)}.");
            text.AppendLine();
            text.AppendLine("| figure | value | 95% CI |");
            text.AppendLine("|---|---:|---|");
            Line($"| ensemble AUC, calibrated members | {F(triage.Auc)} | |");
            Line($"| ECE (10 bins), calibrated / uncalibrated soft vote | {F(triage.Ece)} / {F(triage.UncalibratedEce)} | |");
            Line($"| sensitivity at the threshold (all scans) | {Row(triage.Sensitivity)} |");
            Line($"| specificity at the threshold (all scans) | {Row(triage.Specificity)} |");
            Line($"| accuracy at the threshold (all scans) | {Row(triage.AllAccuracy)} |");
            Line($"| coverage (confident verdicts) | {F(triage.Coverage)} | |");
            Line($"| accuracy of confident verdicts | {Row(triage.ConfidentAccuracy)} |");
            Line($"| sensitivity of confident verdicts | {Row(triage.ConfidentSensitivity)} |");
            Line($"| specificity of confident verdicts | {Row(triage.ConfidentSpecificity)} |");
            text.AppendLine();
            text.AppendLine("Coverage against accuracy of the confident verdicts, cross-fitted, for other coverage floors of the band fit:");
            text.AppendLine();
            text.AppendLine("| coverage floor | coverage | accuracy of confident |");
            text.AppendLine("|---:|---:|---:|");
            foreach (var floor in new[] { 1.0, 0.95, 0.9, 0.85, 0.8, 0.7 })
            {
                var judged = TriageFit.CrossFit(original, targetSensitivity, floor);
                var confident = judged.Where(j => j.Verdict != Core.Scoring.Verdicts.Indeterminate).ToList();
                var accuracy = confident.Count(j => (j.Verdict == Core.Scoring.Verdicts.Covid) == j.Scan.IsCovid) / (double)confident.Count;
                Line($"| {F(floor, 2)} | {F(confident.Count / (double)judged.Count)} | {F(accuracy)} |");
            }

            text.AppendLine();
            text.AppendLine("## Subgroups (pooled out-of-fold AUC)");
            text.AppendLine();
            var groups = Subgroups(original);
            text.AppendLine("| subgroup | n (COVID / non-COVID) | " + string.Join(" | ", models) + " | ensemble |");
            text.AppendLine("|---|---|" + string.Concat(Enumerable.Repeat("---:|", models.Length + 1)));
            foreach (var (name, members) in groups)
            {
                var labels = members.Select(s => s.IsCovid).ToArray();
                if (labels.Distinct().Count() < 2)
                {
                    Line($"| {name} | {labels.Count(l => l)} / {labels.Count(l => !l)} | " +
                        string.Join(" | ", Enumerable.Repeat("-", models.Length + 1)) + " |");
                    continue;
                }

                var aucs = Enumerable.Range(0, models.Length).Select(m => Metrics.AreaUnderRoc(labels, [.. members.Select(s => s.Members[m])]))
                    .Append(Metrics.AreaUnderRoc(labels, [.. members.Select(s => s.Members.Average())]));
                Line($"| {name} | {labels.Count(l => l)} / {labels.Count(l => !l)} | {string.Join(" | ", aucs.Select(a => F(a)))} |");
            }

            text.AppendLine();
            text.AppendLine("## File-format check (pooled out-of-fold AUC, every scan re-encoded)");
            text.AppendLine();
            text.AppendLine("| variant | " + string.Join(" | ", models) + " | ensemble | ensemble change |");
            text.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---:|", models.Length + 2)));
            var baseline = EnsembleAuc(original);
            foreach (var variant in rows.Select(r => r.Variant).Distinct().Where(v => v != OutOfFoldScores.Mirrored))
            {
                var scans = Scans(variant);
                var labels = scans.Select(s => s.IsCovid).ToArray();
                var aucs = Enumerable.Range(0, models.Length).Select(m => F(Metrics.AreaUnderRoc(labels, [.. scans.Select(s => s.Members[m])])));
                var ensemble = EnsembleAuc(scans);
                var change = ensemble - baseline;
                Line($"| {variant} | {string.Join(" | ", aucs)} | {F(ensemble)} | " +
                    $"{(change >= 0 ? "+" : "")}{F(change)}{(Math.Abs(change) > 0.02 ? " (over 0.02)" : "")} |");
            }

            var mirrored = Scans(OutOfFoldScores.Mirrored);
            if (mirrored.Count == original.Count)
            {
                WriteTestTimeAugmentation(text, original, mirrored);
            }

            return text.ToString();
        }

        /// <summary>Each member's pCovid averaged over the scan and its mirror image, against the scan alone.</summary>
        private void WriteTestTimeAugmentation(StringBuilder text, List<ScanScores> original, List<ScanScores> mirrored)
        {
            var averaged = original.Zip(mirrored, (o, m) => o with { Members = [.. o.Members.Zip(m.Members, (a, b) => (a + b) / 2)] }).ToList();
            double[] FoldAucs(List<ScanScores> scans, Func<ScanScores, double> score) =>
                [.. scans.GroupBy(s => s.Fold).OrderBy(g => g.Key).Select(g => Metrics.AreaUnderRoc([.. g.Select(s => s.IsCovid)], [.. g.Select(score)]))];
            string Cell(Func<ScanScores, double> score)
            {
                var plain = Metrics.AreaUnderRoc([.. original.Select(s => s.IsCovid)], [.. original.Select(score)]);
                var tta = Metrics.AreaUnderRoc([.. averaged.Select(s => s.IsCovid)], [.. averaged.Select(score)]);
                var gains = FoldAucs(averaged, score).Zip(FoldAucs(original, score), (a, b) => a - b).ToArray();
                return $"{F(plain)} | {F(tta)} | {(tta >= plain ? "+" : "")}{F(tta - plain)} | {gains.Count(g => g > 0)} of {gains.Length}";
            }

            text.AppendLine();
            text.AppendLine("## Test-time augmentation (pooled out-of-fold AUC)");
            text.AppendLine();
            text.AppendLine("Each member's pCovid averaged over the scan and its left-right mirror image (the augmentation the models trained with), against the scan alone.");
            text.AppendLine();
            text.AppendLine("| model | scan alone | with mirror | change | folds improved |");
            text.AppendLine("|---|---:|---:|---:|---:|");
            foreach (var (model, m) in models.Select((n, i) => (n, i)))
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"| {model} | {Cell(s => s.Members[m])} |");
            }

            text.AppendLine(CultureInfo.InvariantCulture, $"| **ensemble** (soft vote) | {Cell(s => s.Members.Average())} |");
            foreach (var (name, members) in Subgroups(original))
            {
                var files = members.Select(s => s.File).ToHashSet();
                var labels = members.Select(s => s.IsCovid).ToArray();
                if (labels.Distinct().Count() == 2)
                {
                    var plain = EnsembleAuc(members);
                    var tta = EnsembleAuc([.. averaged.Where(s => files.Contains(s.File))]);
                    text.AppendLine(CultureInfo.InvariantCulture, $"| ensemble, {name} | {F(plain)} | {F(tta)} | {(tta >= plain ? "+" : "")}{F(tta - plain)} | |");
                }
            }
        }

        private List<(string Name, List<ScanScores> Members)> Subgroups(List<ScanScores> scans)
        {
            var covid = scans.Where(s => s.IsCovid).ToList();
            bool FromIeee(ScanScores s) => Path.GetFileName(s.File).StartsWith("ieee8023_", StringComparison.Ordinal);
            bool IsPng(ScanScores s) => s.File.EndsWith(".png", StringComparison.OrdinalIgnoreCase);
            return modality == "chest"
                ? [
                    ("all COVID vs NIH non-COVID", [.. covid, .. scans.Where(s => !s.IsCovid && !FromIeee(s))]),
                    ("all COVID vs ieee8023 non-COVID", [.. covid, .. scans.Where(s => !s.IsCovid && FromIeee(s))]),
                ]
                : [
                    // The UCSD COVID slices are all PNG and about half the non-COVID ones JPEG: a format shortcut shows as a gap here.
                    ("all COVID vs PNG non-COVID", [.. covid, .. scans.Where(s => !s.IsCovid && IsPng(s))]),
                    ("all COVID vs JPEG non-COVID", [.. covid, .. scans.Where(s => !s.IsCovid && !IsPng(s))]),
                ];
        }

        private static double EnsembleAuc(List<ScanScores> scans) =>
            Metrics.AreaUnderRoc([.. scans.Select(s => s.IsCovid)], [.. scans.Select(s => s.Members.Average())]);

        private static double Auc(IEnumerable<OutOfFoldScore> scores)
        {
            var list = scores.ToList();
            return Metrics.AreaUnderRoc([.. list.Select(r => r.IsCovid)], [.. list.Select(r => r.PCovid)]);
        }

        private static double Sd(double[] values)
        {
            var mean = values.Average();
            return values.Length < 2 ? 0 : Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1));
        }

        private static string Row(Proportion p) => $"{F(p.Value)} ({p.Successes}/{p.Total}) | {F(p.Lower)}-{F(p.Upper)}";
    }
}
