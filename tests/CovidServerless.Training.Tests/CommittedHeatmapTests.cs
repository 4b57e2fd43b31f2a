using CovidServerless.Core.Models;
using CovidServerless.Training.Cli;
using CovidServerless.Training.Data;
using CovidServerless.Training.Evaluation;
using CovidServerless.Training.Onnx;
using Google.Protobuf;
using Onnx;
using Xunit.Abstractions;
using static Onnx.TensorProto.Types;

namespace CovidServerless.Training.Tests;

/// <summary>The committed models' heatmap output is an exact split of their verdict and depends on what they learned.</summary>
public sealed class CommittedHeatmapTests(ITestOutputHelper output)
{
    private static readonly string ModelsDirectory = Path.Combine(RepositoryPaths.Root, "models");

    [SkippableTheory]
    [InlineData("vgg16")]
    [InlineData("resnet50")]
    [InlineData("inceptionv3")]
    [InlineData("xception")]
    public void Map_summed_plus_bias_difference_equals_the_logit_difference_on_every_val_image(string architecture)
    {
        foreach (var modality in new[] { "chest", "ct" })
        {
            var (entry, images) = Load(modality, architecture, take: int.MaxValue);
            using var scorer = new CamScorer(File.ReadAllBytes(Path.Combine(ModelsDirectory, entry.File)), entry.Input, entry.Output.Name);
            var outputs = scorer.Run(images);

            var worst = outputs.Max(o => Math.Abs(o.Map.Sum(v => (double)v) + scorer.BiasDifference - o.LogitDifference(entry.Output.CovidIndex)));
            output.WriteLine($"{modality}/{architecture}: {outputs.Count} val images, map {outputs[0].MapHeight}x{outputs[0].MapWidth}, max error {worst:E2}");
            Assert.True(worst <= 1e-4, $"{modality}/{architecture}: max |sum + bias - logit difference| {worst:E2}");
            Assert.Contains(outputs, o => Math.Abs(o.LogitDifference(entry.Output.CovidIndex)) > 1); // not a vacuous near-zero case
        }
    }

    /// <summary>
    /// Adebayo et al.'s model-randomisation check: with every convolution's weights shuffled (same values, learned
    /// structure gone), the maps must change clearly; a map that barely changed would show the image, not the model.
    /// </summary>
    [SkippableTheory]
    [InlineData("chest", "vgg16")]
    [InlineData("chest", "resnet50")]
    [InlineData("chest", "inceptionv3")]
    [InlineData("chest", "xception")]
    [InlineData("ct", "vgg16")]
    [InlineData("ct", "resnet50")]
    [InlineData("ct", "inceptionv3")]
    [InlineData("ct", "xception")]
    public void Maps_from_randomised_weights_have_low_rank_correlation_with_the_trained_maps(string modality, string architecture)
    {
        var (entry, images) = Load(modality, architecture, take: 24);
        var trainedBytes = File.ReadAllBytes(Path.Combine(ModelsDirectory, entry.File));
        using var trained = new CamScorer(trainedBytes, entry.Input, entry.Output.Name);
        using var randomised = new CamScorer(ShuffleConvolutionWeights(trainedBytes, seed: 5), entry.Input, entry.Output.Name);

        var a = trained.Run(images);
        var b = randomised.Run(images);
        var correlations = a.Zip(b, (x, y) => Spearman(x.Map, y.Map)).Where(double.IsFinite).ToList();
        var mean = correlations.Average();
        output.WriteLine($"{modality}/{architecture}: mean Spearman rank correlation trained vs randomised {mean:F3} over {correlations.Count} val images");
        Assert.True(correlations.Count >= images.Count / 2, $"{modality}/{architecture}: too many constant maps");
        Assert.True(Math.Abs(mean) < 0.5, $"{modality}/{architecture}: maps barely depend on the weights (mean rank correlation {mean:F3})");
    }

    /// <summary>The cost measurement's baseline (heatmap-report) is the committed graph with the map taken out again.</summary>
    [SkippableFact]
    public void Removing_the_map_gives_the_graph_with_only_probabilities_and_the_same_probabilities()
    {
        var (entry, images) = Load("chest", "resnet50", take: 4);
        var withMap = File.ReadAllBytes(Path.Combine(ModelsDirectory, entry.File));
        using var without = new Microsoft.ML.OnnxRuntime.InferenceSession(CamHead.Remove(withMap));
        Assert.Equal(["probabilities"], without.OutputMetadata.Keys);
        Assert.DoesNotContain(CamHead.BiasMetadataKey, without.ModelMetadata.CustomMetadataMap.Keys);

        using var scorer = new CamScorer(withMap, entry.Input, entry.Output.Name, batchSize: 1);
        var expected = scorer.Run(images);
        for (var i = 0; i < images.Count; i++)
        {
            var tensor = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(images[i], [1, 224, 224, 3]);
            using var results = without.Run([Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor(entry.Input.Name, tensor)]);
            Assert.Equal(expected[i].Probabilities, results[0].AsEnumerable<float>().ToArray());
        }
    }

    private static (ModelEntry Entry, List<float[]> Images) Load(string modality, string architecture, int take)
    {
        var manifestPath = Path.Combine(ModelsDirectory, "manifest.json");
        Skip.IfNot(File.Exists(manifestPath), $"no committed models at {manifestPath}");
        var valDirectory = Path.Combine(RepositoryPaths.Data(null), modality, "val");
        Skip.IfNot(Directory.Exists(valDirectory), $"shared data not found at {valDirectory} (set COVIDSERVERLESS_DATA to run this test)");
        var entry = ModelManifest.Load(manifestPath).Modalities[modality].Models.Single(m => m.Name == architecture);
        Assert.Equal(CamHead.OutputName, entry.Output.Heatmap);

        // Both classes, interleaved, so a subset still holds each.
        var scans = ScanFolder.Open(valDirectory).Scans;
        var ordered = scans.Where(s => s.Label == LabelledScan.Covid).Select((s, i) => (s, i))
            .Concat(scans.Where(s => s.Label != LabelledScan.Covid).Select((s, i) => (s, i)))
            .OrderBy(p => p.i).Select(p => p.s).Take(take);
        return (entry, [.. ordered.Select(s => ScanTensors.Preprocess(s.Path, entry.Input))]);
    }

    /// <summary>Every 4-D float initializer (convolution kernels, the map's own 1x1 weight included) with its values permuted.</summary>
    private static byte[] ShuffleConvolutionWeights(byte[] model, int seed)
    {
        var proto = ModelProto.Parser.ParseFrom(model);
        var random = new Random(seed);
        foreach (var tensor in proto.Graph.Initializer.Where(t => t.DataType == (int)DataType.Float && t.Dims.Count == 4 && t.RawData.Length > 0))
        {
            var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray();
            random.Shuffle(values);
            tensor.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        }

        return proto.ToByteArray();
    }

    private static double Spearman(float[] x, float[] y)
    {
        var rx = Ranks(x);
        var ry = Ranks(y);
        double mx = rx.Average(), my = ry.Average(), sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < rx.Length; i++)
        {
            sxy += (rx[i] - mx) * (ry[i] - my);
            sxx += (rx[i] - mx) * (rx[i] - mx);
            syy += (ry[i] - my) * (ry[i] - my);
        }

        return sxy / Math.Sqrt(sxx * syy);
    }

    /// <summary>Ranks with ties given their average rank.</summary>
    private static double[] Ranks(float[] values)
    {
        var order = Enumerable.Range(0, values.Length).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Length];
        for (var start = 0; start < order.Length;)
        {
            var end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]])
            {
                end++;
            }

            for (var k = start; k <= end; k++)
            {
                ranks[order[k]] = (start + end) / 2.0;
            }

            start = end + 1;
        }

        return ranks;
    }
}
