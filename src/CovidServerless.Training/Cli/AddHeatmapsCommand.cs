using System.Security.Cryptography;
using CovidServerless.Training.Data;
using CovidServerless.Training.Evaluation;
using CovidServerless.Training.Manifest;
using CovidServerless.Training.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace CovidServerless.Training.Cli;

/// <summary>
/// Rewrites the manifest's models in place so that each also outputs its class-activation map (<see cref="CamHead"/>):
/// checks on every val image that "probabilities" is unchanged and that the map is an exact split of the logit
/// difference, then writes the file and records its new sha256 and the heatmap output in the manifest.
/// Models that already have the output are left alone.
/// </summary>
internal static class AddHeatmapsCommand
{
    /// <summary>Largest change allowed in any probability (the graph's existing nodes are untouched, so 0 is expected; both runs use batches of one).</summary>
    private const double ProbabilityTolerance = 1e-6;

    /// <summary>Largest allowed |sum(map) + bias difference - log(p_covid / p_other)|.</summary>
    private const double ExactnessTolerance = 1e-4;

    public static void Run(string dataRoot, string outDirectory, Action<string> log)
    {
        var manifestPath = Path.Combine(outDirectory, "manifest.json");
        var manifest = ManifestFile.LoadOrCreate(manifestPath);
        foreach (var (modality, entry) in manifest.Modalities.ToList())
        {
            var val = ScanFolder.Open(Path.Combine(dataRoot, modality, "val"));
            foreach (var model in entry.Models.ToList())
            {
                var path = Path.Combine(outDirectory, model.File);
                var original = File.ReadAllBytes(path);
                using (var probe = new InferenceSession(original))
                {
                    if (probe.OutputMetadata.ContainsKey(CamHead.OutputName))
                    {
                        log($"{modality}/{model.Name}: already has '{CamHead.OutputName}'; left as is.");
                        continue;
                    }
                }

                var rewritten = CamHead.Rewrite(original, model.Output.CovidIndex);
                var images = val.Scans.Select(s => ScanTensors.Preprocess(s.Path, model.Input)).ToList();
                var before = Probabilities(original, model.Input, model.Output.Name, images);
                using var scorer = new CamScorer(rewritten, model.Input, model.Output.Name, batchSize: 1);
                var after = scorer.Run(images);
                var probabilityChange = before.Zip(after, (b, a) => b.Zip(a.Probabilities, (x, y) => Math.Abs(x - y)).Max()).Max();
                var exactness = after.Max(o => Math.Abs(o.Map.Sum(v => (double)v) + scorer.BiasDifference - o.LogitDifference(model.Output.CovidIndex)));
                log($"{modality}/{model.Name}: map {after[0].MapHeight}x{after[0].MapWidth}; over {images.Count} val images max |probability change| {probabilityChange:E2}, " +
                    $"max |sum(map) + bias - logit difference| {exactness:E2}");
                if (probabilityChange > ProbabilityTolerance || exactness > ExactnessTolerance)
                {
                    throw new InvalidOperationException($"{modality}/{model.Name}: the rewritten model fails its checks; nothing written for it.");
                }

                File.WriteAllBytes(path, rewritten);
                ManifestFile.PutModel(manifest, modality, model with
                {
                    Sha256 = Convert.ToHexStringLower(SHA256.HashData(rewritten)),
                    Output = model.Output with { Heatmap = CamHead.OutputName },
                });
            }
        }

        ManifestFile.Save(manifest, manifestPath);
    }

    private static List<float[]> Probabilities(byte[] model, Core.Models.ModelInputSpec input, string outputName, List<float[]> images)
    {
        using var session = new InferenceSession(model, new SessionOptions { IntraOpNumThreads = 2 });
        var result = new List<float[]>();
        foreach (var image in images)
        {
            int[] shape = input.Layout == Core.Models.TensorLayout.NHWC
                ? [1, input.Height, input.Width, input.Channels]
                : [1, input.Channels, input.Height, input.Width];
            var tensor = new DenseTensor<float>(image, shape);
            using var outputs = session.Run([NamedOnnxValue.CreateFromTensor(input.Name, tensor)], [outputName]);
            result.Add([.. outputs[0].AsTensor<float>()]);
        }

        return result;
    }
}
