using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using CovidServerless.Training.Data;
using SkiaSharp;

namespace CovidServerless.Training.Gate;

/// <summary>One gate training image as the gate sees it: its thumbnail, class, patient group (for grouped folds) and kind.</summary>
internal sealed record GateSample(float[] Pixels, int Class, string Group, string Kind, bool Val = false);

/// <summary>
/// The gate's data: every shared chest X-ray and CT slice (train and val; the gate's own folds are by patient group)
/// and generated negatives. Fragments cut from a real scan keep that scan's patient group, so a fold never trains
/// on a patient whose scans it tests.
/// </summary>
internal static class GateData
{
    public const int Chest = 0;
    public const int Ct = 1;
    public const int Other = 2;

    public static readonly string[] Classes = ["chest", "ct", "other"];

    /// <summary>32x32 grey, NCHW: enough to tell a radiograph from a CT slice from a page of text, and cheap to run.</summary>
    public static readonly ModelInputSpec Input = new()
    {
        Name = "input",
        Layout = TensorLayout.NCHW,
        Width = 32,
        Height = 32,
        ChannelOrder = "L",
        Scale = 1f / 255f,
        Mean = [0.5f],
        Std = [0.25f],
    };

    private static readonly ScanDecoder Decoder = new();

    public static List<GateSample> Load(string dataRoot, int negativesPerKind, int fragments, int seed, Action<string> log)
    {
        var rows = DataManifest.Read(dataRoot);
        var samples = new GateSample[rows.Count];
        Parallel.For(0, rows.Count, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
        {
            var (file, modality, split, group, _) = rows[i];
            using var scan = Decoder.Decode(File.ReadAllBytes(Path.Combine(dataRoot, file)));
            samples[i] = new GateSample(ImagePreprocessor.ToTensor(scan, Input), modality == "chest" ? Chest : Ct, group, modality, split == "val");
        });
        var result = samples.ToList();
        log($"gate: {result.Count(s => s.Class == Chest)} chest X-rays, {result.Count(s => s.Class == Ct)} CT slices");

        // Each image has its own seeded generator, so they can be drawn in parallel and still come out the same.
        var jobs = GateNegatives.Kinds.SelectMany(kind => Enumerable.Range(0, negativesPerKind).Select(i => (Kind: kind, Index: i)))
            .Concat(Enumerable.Range(0, fragments).Select(i => (Kind: "fragment", Index: i))).ToArray();
        var generated = new GateSample[jobs.Length];
        Parallel.For(0, jobs.Length, new ParallelOptions { MaxDegreeOfParallelism = 2 }, j =>
        {
            var (kind, index) = jobs[j];
            var random = new Random((seed * 7919) + j);
            var group = $"generated:{kind}:{index}";
            byte[] file;
            if (kind == "fragment")
            {
                var source = rows[random.Next(rows.Count)];
                using var bitmap = SKBitmap.Decode(Path.Combine(dataRoot, source.File));
                file = GateNegatives.Fragment(bitmap, random);
                group = source.Group;
            }
            else
            {
                file = GateNegatives.Draw(kind, random);
            }

            using var scan = Decoder.Decode(file);
            generated[j] = new GateSample(ImagePreprocessor.ToTensor(scan, Input), Other, group, kind);
        });
        result.AddRange(generated);

        log($"gate: {generated.Length} generated negatives ({string.Join(", ", generated.GroupBy(g => g.Kind).Select(g => $"{g.Key} {g.Count()}"))})");
        return result;
    }
}
