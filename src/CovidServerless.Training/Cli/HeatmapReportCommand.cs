using System.Diagnostics;
using System.Globalization;
using CovidServerless.Core;
using CovidServerless.Core.Heatmaps;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using CovidServerless.Training.Data;
using CovidServerless.Training.Onnx;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SkiaSharp;

namespace CovidServerless.Training.Cli;

/// <summary>
/// What the heatmaps show and cost, on val: per model (and the ensemble) the share of positive heat outside the central
/// box (a shortcut alarm: borders, labels, corners), a figure of a few scans of each class, and the serving cost of the
/// map output against the same graph without it (sessions set up as serving sets them up).
/// </summary>
internal static class HeatmapReportCommand
{
    /// <summary>The central box covers this fraction of each side; uniform heat would put 1 - 0.6^2 = 64% outside it.</summary>
    private const double CentralFraction = 0.6;
    private const int ShareGrid = 224;
    private const int Tile = 150;
    private const int Caption = 16;
    private const int TimedScans = 40;
    private const int Rounds = 7;

    public static void Run(string dataRoot, string outDirectory, string figurePath, int perClass, Action<string> log)
    {
        var manifestPath = Path.Combine(outDirectory, "manifest.json");
        using var catalog = new ModelCatalog(Options.Create(new ModelOptions { ManifestPath = manifestPath }), NullLogger<ModelCatalog>.Instance);
        if (!catalog.IsReady)
        {
            throw new ArgumentException($"The models are not ready: {string.Join("; ", catalog.Problems)}");
        }

        // The figure is committed, so it shows only images whose licence allows that (shared/data/manifest.csv):
        // CC BY and NIH ChestX-ray8 images; not CC BY-NC-SA ones, nor the UCSD CT images (research use only).
        var licences = DataManifest.Read(dataRoot).ToDictionary(r => r.File, r => r.Licence, StringComparer.Ordinal);
        var explainer = new HeatmapExplainer(catalog);
        var decoder = new ScanDecoder();
        var rows = new List<(string Label, SKBitmap Scan, IReadOnlyList<MemberHeatmap> Members)>();
        log($"Share of positive heat outside the central {CentralFraction:P0} x {CentralFraction:P0} box (uniform heat: {1 - (CentralFraction * CentralFraction):P0}), mean over val scans:");
        foreach (var modality in new[] { Modality.Chest, Modality.Ct })
        {
            var val = ScanFolder.Open(Path.Combine(dataRoot, modality.ToName(), "val"));
            var shares = new Dictionary<(string Model, int Label), List<double>>();
            var shown = new Dictionary<int, int>();
            foreach (var scan in val.Scans)
            {
                var decoded = decoder.Decode(File.ReadAllBytes(scan.Path));
                var members = explainer.Explain(modality, decoded);
                foreach (var member in members)
                {
                    Add(shares, (member.Model, scan.Label), member.Map.Resize(ShareGrid, ShareGrid).PositiveShareOutsideCentre(CentralFraction));
                }

                Add(shares, ("ensemble", scan.Label), HeatmapExplainer.EnsembleMap(members, ShareGrid, ShareGrid).PositiveShareOutsideCentre(CentralFraction));

                // The figure takes every n-th scan of each class, so it is not the first files of one source.
                var licence = licences.GetValueOrDefault(Path.GetRelativePath(dataRoot, scan.Path).Replace('\\', '/'), string.Empty);
                var index = shown.GetValueOrDefault(scan.Label);
                shown[scan.Label] = index + 1;
                var count = val.Scans.Count(s => s.Label == scan.Label);
                if (MayBeShown(licence) && index % Math.Max(1, count / perClass) == 0 && rows.Count(r => r.Label.StartsWith($"{modality.ToName()} {ClassName(scan.Label)}", StringComparison.Ordinal)) < perClass)
                {
                    log($"Figure: {Path.GetRelativePath(dataRoot, scan.Path)} ({licence})");
                    rows.Add(($"{modality.ToName()} {ClassName(scan.Label)}", decoded.Bitmap.Resize(new SKImageInfo(Tile, Tile), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear)), members));
                }

                decoded.Dispose();
            }

            foreach (var model in shares.Keys.Select(k => k.Model).Distinct())
            {
                var all = shares.Where(p => p.Key.Model == model).SelectMany(p => p.Value).ToList();
                log($"  {modality.ToName()}/{model}: {all.Average():P1} (COVID {shares[(model, LabelledScan.Covid)].Average():P1}, non-COVID {shares[(model, LabelledScan.NonCovid)].Average():P1}; n={all.Count})");
            }

            MeasureCost(catalog.For(modality), outDirectory, val, decoder, log);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(figurePath))!);
        File.WriteAllBytes(figurePath, Figure(rows));
        foreach (var row in rows)
        {
            row.Scan.Dispose();
        }

        log($"Figure written to {figurePath} ({rows.Count} scans).");
    }

    private static void Add(Dictionary<(string, int), List<double>> shares, (string, int) key, double value)
    {
        if (!shares.TryGetValue(key, out var list))
        {
            shares[key] = list = [];
        }

        list.Add(value);
    }

    private static string ClassName(int label) => label == LabelledScan.Covid ? "COVID" : "non-COVID";

    /// <summary>
    /// Per scan, all members: the graph without the map fetching pCovid (what scoring cost before), the graph with the map
    /// fetching pCovid only (what scoring costs now) and fetching both; then the ensemble overlay (resize + PNG) apart.
    /// Per scan and member the fastest of <see cref="Rounds"/> runs of each variant (rotating order); medians over <see cref="TimedScans"/>
    /// val scans after a warm-up.
    /// </summary>
    private static void MeasureCost(ModalityModels ensemble, string modelsDirectory, ScanFolder val, ScanDecoder decoder, Action<string> log)
    {
        var settings = new ModelOptions();
        var variants = ensemble.Models.Select(m =>
        {
            var withMap = File.ReadAllBytes(Path.Combine(modelsDirectory, m.Entry.File));
            var channels = global::Onnx.ModelProto.Parser.ParseFrom(withMap).Graph.Initializer.Single(i => i.Name == CamHead.WeightName).Dims[1];
            log($"  {ensemble.Modality.ToName()}/{m.Name}: the map's 1x1 convolution reads {channels} channels per location");
            return (Model: m,
                Without: new InferenceSession(CamHead.Remove(withMap), OnnxSessionFactory.CreateOptions(settings, onCuda: false)),
                With: new InferenceSession(withMap, OnnxSessionFactory.CreateOptions(settings, onCuda: false)));
        }).ToList();
        try
        {
            var scans = val.Scans.Take(TimedScans + 2).ToList();
            var times = new List<(double Without, double ProbabilitiesOnly, double Both, double Overlay)>();
            for (var i = 0; i < scans.Count; i++)
            {
                using var scan = decoder.Decode(File.ReadAllBytes(scans[i].Path));
                var tensors = variants.Select(v => ImagePreprocessor.ToTensor(scan, v.Model.Input)).ToList();
                double without = 0, probabilitiesOnly = 0, both = 0;
                var maps = new List<MemberHeatmap>();
                for (var m = 0; m < variants.Count; m++)
                {
                    var (model, withoutSession, withSession) = variants[m];
                    var input = NamedOnnxValue.CreateFromTensor(model.Input.Name, new DenseTensor<float>(tensors[m], [1, model.Input.Height, model.Input.Width, model.Input.Channels]));
                    string[] scoreOnly = [model.Entry.Output.Name];
                    string[] scoreAndMap = [model.Entry.Output.Name, model.Entry.Output.Heatmap!];
                    double Time(InferenceSession session, string[] outputs)
                    {
                        var clock = Stopwatch.StartNew();
                        using var r = session.Run([input], outputs);
                        if (outputs.Length == 2 && maps.Count == m)
                        {
                            var map = r[1].AsTensor<float>();
                            maps.Add(new MemberHeatmap(model.Name, 0, new CamMap(map.Dimensions[2], map.Dimensions[1], [.. map])));
                        }

                        return clock.Elapsed.TotalMilliseconds;
                    }

                    // Each variant several times, in rotating order; the fastest run of each (the least disturbed by
                    // other processes on the shared cores) counts.
                    double bestWithout = double.MaxValue, bestProbabilitiesOnly = double.MaxValue, bestBoth = double.MaxValue;
                    for (var round = 0; round < Rounds; round++)
                    {
                        for (var k = 0; k < 3; k++)
                        {
                            switch ((round + k) % 3)
                            {
                                case 0: bestWithout = Math.Min(bestWithout, Time(withoutSession, scoreOnly)); break;
                                case 1: bestProbabilitiesOnly = Math.Min(bestProbabilitiesOnly, Time(withSession, scoreOnly)); break;
                                default: bestBoth = Math.Min(bestBoth, Time(withSession, scoreAndMap)); break;
                            }
                        }
                    }

                    without += bestWithout;
                    probabilitiesOnly += bestProbabilitiesOnly;
                    both += bestBoth;
                }

                var overlayClock = Stopwatch.StartNew();
                HeatmapRenderer.RenderPng(scan.Bitmap, HeatmapExplainer.EnsembleMap(maps, scan.Width, scan.Height));
                var overlay = overlayClock.Elapsed.TotalMilliseconds;
                if (i >= 2)
                {
                    times.Add((without, probabilitiesOnly, both, overlay));
                }
            }

            double Median(Func<(double Without, double ProbabilitiesOnly, double Both, double Overlay), double> f)
            {
                var sorted = times.Select(f).Order().ToList();
                return sorted[sorted.Count / 2];
            }

            var baseline = Median(t => t.Without);
            var extra = Median(t => t.Both - t.Without);
            log(string.Create(CultureInfo.InvariantCulture,
                $"  {ensemble.Modality.ToName()} cost per scan, all {variants.Count} members, median of {times.Count} val scans ({settings.EffectiveIntraOpThreads} intra-op threads): " +
                $"graph without map {baseline:F1} ms; with map, pCovid only {Median(t => t.ProbabilitiesOnly):F1} ms; pCovid + map {Median(t => t.Both):F1} ms " +
                $"(ratio of medians {Median(t => t.Both) / baseline:F3}; median per-scan difference {extra:+0.00;-0.00} ms = {extra / baseline:P1} of scoring); " +
                $"ensemble overlay at the scan's size (resize + PNG) {Median(t => t.Overlay):F1} ms"));
        }
        finally
        {
            foreach (var v in variants)
            {
                v.Without.Dispose();
                v.With.Dispose();
            }
        }
    }

    private static void Blit(SKCanvas canvas, SKBitmap bitmap, float x, float y)
    {
        using var image = SKImage.FromBitmap(bitmap);
        canvas.DrawImage(image, SKRect.Create(x, y, bitmap.Width, bitmap.Height), new SKSamplingOptions(SKFilterMode.Nearest));
    }

    private static byte[] Figure(List<(string Label, SKBitmap Scan, IReadOnlyList<MemberHeatmap> Members)> rows)
    {
        var columns = 2 + rows.Max(r => r.Members.Count);
        var header = 22;
        using var figure = new SKBitmap(columns * Tile, header + (rows.Count * (Tile + Caption)));
        using var canvas = new SKCanvas(figure);
        canvas.Clear(SKColors.White);
        var fontFile = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
        using var typeface = File.Exists(fontFile) ? SKTypeface.FromFile(fontFile) : SKTypeface.Default;
        using var font = new SKFont(typeface, 11);
        using var headerFont = new SKFont(typeface, 13);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        string[] names = ["scan", "ensemble", .. rows[0].Members.Select(m => m.Model)];
        for (var c = 0; c < names.Length; c++)
        {
            canvas.DrawText(names[c], (c * Tile) + 4, 16, SKTextAlign.Left, headerFont, ink);
        }

        for (var r = 0; r < rows.Count; r++)
        {
            var (label, scan, members) = rows[r];
            var top = header + (r * (Tile + Caption));
            var ensembleP = members.Average(m => m.PCovid);
            Blit(canvas, scan, 0, top);
            canvas.DrawText(label, 4, top + Tile + 12, SKTextAlign.Left, font, ink);
            using (var overlay = HeatmapRenderer.Render(scan, HeatmapExplainer.EnsembleMap(members, Tile, Tile)))
            {
                Blit(canvas, overlay, Tile, top);
            }

            canvas.DrawText(string.Create(CultureInfo.InvariantCulture, $"pCovid {ensembleP:F2}"), Tile + 4, top + Tile + 12, SKTextAlign.Left, font, ink);
            for (var m = 0; m < members.Count; m++)
            {
                using var overlay = HeatmapRenderer.Render(scan, members[m].Map);
                Blit(canvas, overlay, (m + 2) * Tile, top);
                canvas.DrawText(string.Create(CultureInfo.InvariantCulture, $"pCovid {members[m].PCovid:F2}"), ((m + 2) * Tile) + 4, top + Tile + 12, SKTextAlign.Left, font, ink);
            }
        }

        using var data = figure.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static bool MayBeShown(string licence) =>
        licence is "CC BY" or "CC BY 3.0" or "CC BY 4.0" || licence.StartsWith("NIH Clinical Center", StringComparison.Ordinal);
}
