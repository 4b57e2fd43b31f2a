using CovidServerless.Core.Models;
using CovidServerless.Training.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace CovidServerless.Training.Evaluation;

/// <summary>
/// Scores image files with an exported ONNX file through ONNX Runtime, the way serving does: the core's decoder
/// and preprocessor with the model's declared input, output "probabilities", index 0 = COVID.
/// </summary>
internal sealed class OnnxScorer(string onnxPath, ModelInputSpec input, string outputName = "probabilities", int covidIndex = 0) : IDisposable
{
    private const int BatchSize = 16;
    private readonly InferenceSession session = new(onnxPath, new SessionOptions { IntraOpNumThreads = 2 });

    public double[] ScoreCovid(IReadOnlyList<string> paths)
    {
        var scores = new List<double>(paths.Count);
        foreach (var batch in paths.Chunk(BatchSize))
        {
            var data = batch.SelectMany(p => ScanTensors.Preprocess(p, input)).ToArray();
            int[] shape = input.Layout == TensorLayout.NHWC
                ? [batch.Length, input.Height, input.Width, input.Channels]
                : [batch.Length, input.Channels, input.Height, input.Width];
            using var results = session.Run([NamedOnnxValue.CreateFromTensor(input.Name, new DenseTensor<float>(data, shape))], [outputName]);
            var probabilities = results[0].AsTensor<float>();
            for (var i = 0; i < batch.Length; i++)
            {
                scores.Add(probabilities[i, covidIndex]);
            }
        }

        return [.. scores];
    }

    public void Dispose() => session.Dispose();
}
