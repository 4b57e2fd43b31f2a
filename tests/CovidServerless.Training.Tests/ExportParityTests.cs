using CovidServerless.Training.Architectures;
using CovidServerless.Training.Evaluation;
using CovidServerless.Training.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;
using static TorchSharp.torch;
using TorchTensor = TorchSharp.torch.Tensor;

namespace CovidServerless.Training.Tests;

/// <summary>The exported ONNX graph computes what the TorchSharp module computes in eval mode.</summary>
[Collection(TorchTraining.Name)]
public sealed class ExportParityTests
{
    private const double Tolerance = 1e-4;
    private static readonly float[] BrightDark = [1f, 1f, 0.3f, 0.3f];
    private static readonly long[] BrightDarkLabels = [0, 0, 1, 1];
    private static readonly float[] Contrast = [1f, 0.6f, 0.3f];

    [Theory]
    [InlineData("vgg16", 56)]
    [InlineData("resnet50", 56)]
    [InlineData("inceptionv3", 112)] // Inception's valid-padded stem and reductions need at least ~75 px
    [InlineData("xception", 56)]
    public void Onnx_runtime_matches_torch_eval_output(string architecture, int resolution)
    {
        torch.set_num_threads(2);
        torch.manual_seed(7);
        using var model = new CovidClassifier(architecture, 0.125, resolution);
        TrainBriefly(model);
        using var input = StructuredImages(3) * tensor(Contrast).reshape(3, 1, 1, 1);

        float[] expected;
        using (no_grad())
        {
            model.eval();
            using var probabilities = nn.functional.softmax(model.forward(input), 1);
            expected = probabilities.data<float>().ToArray();
        }

        var actual = RunOnnx(OnnxExporter.Export(model, "parity test"), input);

        Assert.Equal(expected.Length, actual.Length);
        var maxDiff = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(maxDiff <= Tolerance, $"{architecture}: max abs difference {maxDiff:E2} > {Tolerance:E0}");
        // Guard against a vacuous pass: the compared probabilities must actually differ between images.
        var covid = Enumerable.Range(0, 3).Select(i => expected[i * 2]).ToArray();
        Assert.True(covid.Max() - covid.Min() > 0.05, $"{architecture}: outputs too similar to make the comparison meaningful: {string.Join(", ", expected)}");
    }

    /// <summary>Briefly trained (untrained maps are all but zero); resolutions give feature grids larger than 1x1.</summary>
    [Theory]
    [InlineData("vgg16", 112)]
    [InlineData("resnet50", 112)]
    [InlineData("inceptionv3", 112)]
    [InlineData("xception", 112)]
    public void Exported_heatmap_summed_plus_bias_difference_equals_the_logit_difference(string architecture, int resolution)
    {
        torch.set_num_threads(2);
        torch.manual_seed(11);
        using var model = new CovidClassifier(architecture, 0.125, resolution);
        TrainBriefly(model);
        using var input = StructuredImages(3) * tensor(Contrast).reshape(3, 1, 1, 1);
        var images = Enumerable.Range(0, 3).Select(i => input[i].data<float>().ToArray()).ToList();

        using var scorer = new CamScorer(OnnxExporter.Export(model, "heatmap test"), new Core.Models.ModelInputSpec());
        var outputs = scorer.Run(images);

        foreach (var output in outputs)
        {
            var reconstructed = output.Map.Sum(v => (double)v) + scorer.BiasDifference;
            Assert.True(Math.Abs(reconstructed - output.LogitDifference(0)) <= Tolerance, $"{architecture}: {reconstructed} vs {output.LogitDifference(0)}");
        }

        // Not vacuous: the map carries more of the logit difference than the tolerance, and differs between locations.
        Assert.All(outputs, o => Assert.True(o.Map.Sum(v => Math.Abs((double)v)) > 10 * Tolerance && o.Map.Max() > o.Map.Min(),
            $"{architecture}: map too flat to test ({string.Join(", ", o.Map)})"));
    }

    [Fact]
    public void Exported_model_has_the_seed_contract_and_a_dynamic_batch()
    {
        using var model = new CovidClassifier("vgg16", 0.125, 56);
        using var session = new InferenceSession(OnnxExporter.Export(model, "contract test"));

        var input = Assert.Single(session.InputMetadata);
        Assert.Equal("input", input.Key);
        Assert.Equal([-1, 224, 224, 3], input.Value.Dimensions);
        Assert.Equal(["probabilities", "covid_cam"], session.OutputMetadata.Keys);
        Assert.Equal([-1, 2], session.OutputMetadata["probabilities"].Dimensions);
        Assert.Equal(3, session.OutputMetadata["covid_cam"].Dimensions.Length);

        foreach (var batch in new[] { 1, 5 })
        {
            var data = new DenseTensor<float>(Enumerable.Range(0, batch * 224 * 224 * 3).Select(i => i % 256 / 255f).ToArray(), [batch, 224, 224, 3]);
            using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", data)]);
            var probabilities = results[0].AsTensor<float>();
            Assert.Equal([batch, 2], probabilities.Dimensions.ToArray());
            for (var i = 0; i < batch; i++)
            {
                Assert.Equal(1f, probabilities[i, 0] + probabilities[i, 1], 4);
            }
        }
    }

    /// <summary>
    /// NHWC images in 0..1 made of random 8x8 blocks of 28 px plus fine noise: unlike pure pixel noise, whose pooled
    /// features are nearly the same for every image, these give each image its own features and output.
    /// </summary>
    private static TorchTensor StructuredImages(int count)
    {
        using var scope = NewDisposeScope();
        var blocks = nn.functional.interpolate(rand(count, 3, 8, 8), [224, 224], mode: InterpolationMode.Nearest);
        var images = ((blocks * 0.8) + (rand(count, 3, 224, 224) * 0.2)).permute(0, 2, 3, 1).contiguous();
        return images.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A few Adam steps on a toy task (bright vs dark images): moves batch norm's running statistics away from 0/1
    /// and makes the outputs differ between images, so the eval-mode export is compared on informative values.
    /// </summary>
    private static void TrainBriefly(CovidClassifier model)
    {
        model.train();
        using var optimizer = optim.Adam(model.parameters(), 3e-3);
        for (var step = 0; step < 8; step++)
        {
            using var scope = NewDisposeScope();
            var images = StructuredImages(4) * tensor(BrightDark).reshape(4, 1, 1, 1);
            var loss = nn.functional.cross_entropy(model.forward(images), tensor(BrightDarkLabels));
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
        }

        // Eight steps leave the running statistics mostly at their initial 0/1, which makes eval-mode outputs nearly
        // constant; recompute them as exact averages (momentum null = cumulative) over a few batches.
        foreach (var norm in model.modules().OfType<TorchSharp.Modules.BatchNorm2d>())
        {
            norm.momentum = null;
            norm.reset_running_stats();
        }

        using var noGrad = no_grad();
        for (var pass = 0; pass < 3; pass++)
        {
            using var scope = NewDisposeScope();
            model.forward(StructuredImages(4) * tensor(BrightDark).reshape(4, 1, 1, 1));
        }
    }

    private static float[] RunOnnx(byte[] modelBytes, TorchTensor input)
    {
        using var session = new InferenceSession(modelBytes);
        var shape = input.shape.Select(d => (int)d).ToArray();
        var tensor = new DenseTensor<float>(input.data<float>().ToArray(), shape);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", tensor)]);
        return [.. results[0].AsEnumerable<float>()];
    }
}
