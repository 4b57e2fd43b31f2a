using System.Globalization;
using System.Security.Cryptography;
using CovidServerless.Core.Gate;
using CovidServerless.Core.Models;
using CovidServerless.Training.Gate;
using CovidServerless.Training.Manifest;
using CovidServerless.Training.Onnx;

namespace CovidServerless.Training.Cli;

/// <summary>
/// Builds the input gate: compares the candidate classifiers by patient-grouped cross-validation (out-of-fold
/// scores), keeps the one the figures favour, chooses per modality the threshold that rejects at most 1% of that
/// modality's real scans out of fold, trains the kept approach on everything and writes models/gate/gate.onnx
/// and the manifest's "gate" section with the figures.
/// </summary>
internal static class GateCommand
{
    public const double MaxFalseRejection = 0.01;

    public static void Run(string dataRoot, string outDirectory, int folds, int seed, Action<string> log)
    {
        // These models are tiny: one thread avoids the cost of keeping two in step, which dominates on a busy machine.
        TorchSharp.torch.set_num_threads(1);
        var samples = GateData.Load(dataRoot, negativesPerKind: 150, fragments: 300, seed, log);
        var lumaStd = samples.Select(s => InputGate.LumaStd(s.Pixels, GateData.Input)).ToArray();
        var realStd = samples.Select((s, i) => (s, i)).Where(p => p.s.Class != GateData.Other).Select(p => lumaStd[p.i]).ToArray();

        // Flat images (a blank page, a black frame) are refused before the classifier has a say: half the flattest real scan.
        var minLumaStd = Math.Round(Math.Min(0.02, realStd.Min() / 2), 4);
        log($"gate: flattest real scan has luma std {realStd.Min():F4}; no-content limit {minLumaStd:F4} " +
            $"catches {samples.Where((s, i) => s.Class == GateData.Other && lumaStd[i] < minLumaStd).Count()} of {samples.Count(s => s.Class == GateData.Other)} generated negatives");

        var evaluations = new List<Evaluation>();
        foreach (var approach in GateClassifier.Approaches)
        {
            var (oof, elapsed) = GateClassifier.CrossValidate(approach, samples, folds, seed, log);
            var evaluation = Evaluate(approach, samples, oof, lumaStd, minLumaStd, elapsed);
            evaluations.Add(evaluation);
            foreach (var line in evaluation.Lines)
            {
                log(line);
            }
        }

        // The approach that rejects the most wrong images at <= 1% false rejections; ties go to the simpler (listed first).
        var kept = evaluations.OrderByDescending(e => Math.Round(e.WrongRejected, 4)).First();
        log($"gate: keeping '{kept.Approach}' (mean rejection of wrong images {kept.WrongRejected:P2} vs " +
            string.Join(", ", evaluations.Where(e => e != kept).Select(e => $"'{e.Approach}' {e.WrongRejected:P2}")) + ")");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var model = GateClassifier.Train(kept.Approach, samples, seed);
        var onnx = GateClassifier.Export(model, $"covidserverless input gate ({kept.Approach}): chest / ct / other on a 32x32 grey thumbnail");
        log($"gate: final '{kept.Approach}' trained on all {samples.Count} images in {clock.Elapsed.TotalSeconds:F0} s");

        var file = "gate/gate.onnx";
        Directory.CreateDirectory(Path.Combine(outDirectory, "gate"));
        File.WriteAllBytes(Path.Combine(outDirectory, file), onnx);
        var manifestPath = Path.Combine(outDirectory, "manifest.json");
        var manifest = ManifestFile.LoadOrCreate(manifestPath);
        var entry = new ModelEntry
        {
            Name = "gate",
            Architecture = $"gate-{kept.Approach}",
            Version = "1.0.0",
            File = file,
            Sha256 = Convert.ToHexStringLower(SHA256.HashData(onnx)),
            Input = GateData.Input,
            Output = new ModelOutputSpec { Name = OnnxExporter.OutputName, CovidIndex = 0, Kind = OutputKind.Probabilities },
            Training = ManifestFile.ToJson(new GateTrainingRecord(
                $"all shared chest and CT images, train and val ({samples.Count(s => s.Class != GateData.Other)}), and " +
                $"{samples.Count(s => s.Class == GateData.Other)} generated negatives ({string.Join(", ", samples.Where(s => s.Class == GateData.Other).GroupBy(s => s.Kind).Select(g => $"{g.Key} {g.Count()}"))}); " +
                "fragments are crops of 8-25% of a real scan's side, blown up",
                $"{kept.Approach}: Adam lr 0.003 (cosine), weight decay 1e-4, batch 64, {GateClassifier.Epochs(kept.Approach)} epochs, class-balanced cross-entropy, random horizontal flips",
                seed,
                DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture))),
            Validation = ManifestFile.ToJson(new GateValidationRecord(
                $"{folds}-fold cross-validation grouped by patient (generated images each their own group, fragments in their source scan's), out-of-fold scores",
                kept.Approach,
                evaluations.ToDictionary(e => e.Approach, e => e.Lines))),
        };
        manifest = manifest with
        {
            Gate = new GateManifest
            {
                Model = entry,
                Classes = [.. GateData.Classes],
                Thresholds = kept.Thresholds,
                MinLumaStd = minLumaStd,
                Rationale =
                    $"Per modality, the threshold on the gate's probability of that modality is the largest that rejects at most {MaxFalseRejection:P0} of " +
                    $"that modality's real scans (train and val) out of fold ({folds}-fold, grouped by patient; chosen on those same out-of-fold " +
                    $"scores, so that figure holds by construction; the val split alone, 95-118 scans, is reported but too small to set a 1% rate; the " +
                    $"other figures come from images that did not choose it). Images with a luma spread under minLumaStd (half the flattest real scan's, at most 0.02) have no content. " +
                    string.Join(" ", kept.Lines.Skip(1)),
            },
        };
        ManifestFile.Save(manifest, manifestPath);
        log($"gate: wrote {file} ({onnx.Length} bytes) and the manifest's gate section");
    }

    private static Evaluation Evaluate(string approach, List<GateSample> samples, float[][] oof, double[] lumaStd, double minLumaStd, TimeSpan elapsed)
    {
        string Fraction(int k, int n) => $"{k}/{n} ({(double)k / n:P1})";
        var lines = new List<string> { $"{approach}: cross-validation took {elapsed.TotalSeconds:F0} s" };
        var thresholds = new Dictionary<string, double>();
        var wrong = new List<double>();
        foreach (var (name, c) in new[] { ("chest", GateData.Chest), ("ct", GateData.Ct) })
        {
            var other = c == GateData.Chest ? GateData.Ct : GateData.Chest;
            bool Rejected(int i) => oof[i][c] < thresholds[name] || lumaStd[i] < minLumaStd;
            var right = Enumerable.Range(0, samples.Count).Where(i => samples[i].Class == c).ToList();
            var rightVal = right.Where(i => samples[i].Val).ToList();

            // At most 1% of all the modality's real scans (495-541) rejected; val alone (95-118) would allow 0-1 scans,
            // too few to set a rate. Rounded down, so never above the score that allows it.
            var sorted = right.Select(i => (double)oof[i][c]).Order().ToArray();
            thresholds[name] = Math.Floor(sorted[(int)Math.Floor(MaxFalseRejection * sorted.Length)] * 10_000) / 10_000;
            var cross = Enumerable.Range(0, samples.Count).Where(i => samples[i].Class == other).ToList();
            var junk = Enumerable.Range(0, samples.Count).Where(i => samples[i].Class == GateData.Other).ToList();
            var byKind = junk.GroupBy(i => samples[i].Kind).Select(g => $"{g.Key} {Fraction(g.Count(Rejected), g.Count())}");
            var crossVal = cross.Where(i => samples[i].Val).ToList();
            lines.Add(
                $"{approach} as {name}: threshold {thresholds[name]:F4}; real {name} falsely rejected {Fraction(right.Count(Rejected), right.Count)} " +
                $"(val {Fraction(rightVal.Count(Rejected), rightVal.Count)}); " +
                $"{GateData.Classes[other]} scans uploaded as {name} rejected {Fraction(cross.Count(Rejected), cross.Count)} (val {Fraction(crossVal.Count(Rejected), crossVal.Count)}); " +
                $"generated negatives rejected {Fraction(junk.Count(Rejected), junk.Count)} ({string.Join(", ", byKind)}).");
            wrong.Add((double)cross.Count(Rejected) / cross.Count);
            wrong.Add((double)junk.Count(Rejected) / junk.Count);
        }

        return new Evaluation(approach, thresholds, wrong.Average(), lines);
    }

    private sealed record Evaluation(string Approach, Dictionary<string, double> Thresholds, double WrongRejected, List<string> Lines);
}

/// <summary>How the gate was made (its manifest entry's "training").</summary>
internal sealed record GateTrainingRecord(string Data, string Recipe, int Seed, string TrainedAt);

/// <summary>The cross-validation figures of every approach compared (its manifest entry's "validation").</summary>
internal sealed record GateValidationRecord(string Method, string Kept, Dictionary<string, List<string>> Approaches);
