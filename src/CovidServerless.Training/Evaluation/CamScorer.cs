using System.Globalization;
using CovidServerless.Core.Models;
using CovidServerless.Training.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace CovidServerless.Training.Evaluation;

/// <summary>One image's outputs from a model with a class-activation map: its class probabilities and its map [h, w].</summary>
internal sealed record CamOutput(float[] Probabilities, float[] Map, int MapHeight, int MapWidth)
{
    /// <summary>logit_covid - logit_other recovered from the softmax: log(p_covid / p_other).</summary>
    public double LogitDifference(int covidIndex) => Math.Log((double)Probabilities[covidIndex] / Probabilities[1 - covidIndex]);
}

/// <summary>Runs a model's "probabilities" and "covid_cam" outputs on preprocessed images (training-side checks and figures).</summary>
internal sealed class CamScorer : IDisposable
{
    private readonly InferenceSession session;
    private readonly int batchSize;
    private readonly ModelInputSpec input;
    private readonly string probabilitiesName;

    public CamScorer(byte[] model, ModelInputSpec input, string probabilitiesName = OnnxExporter.OutputName, int batchSize = 16)
    {
        this.batchSize = batchSize;
        session = new InferenceSession(model, new SessionOptions { IntraOpNumThreads = 2 });
        this.input = input;
        this.probabilitiesName = probabilitiesName;
        BiasDifference = float.Parse(session.ModelMetadata.CustomMetadataMap[CamHead.BiasMetadataKey], CultureInfo.InvariantCulture);
    }

    /// <summary>b_covid - b_other of the head, recorded in the model's metadata by <see cref="CamHead"/>.</summary>
    public float BiasDifference { get; }

    public List<CamOutput> Run(IReadOnlyList<float[]> images)
    {
        var outputs = new List<CamOutput>(images.Count);
        foreach (var batch in images.Chunk(batchSize))
        {
            var data = batch.SelectMany(t => t).ToArray();
            int[] shape = input.Layout == TensorLayout.NHWC
                ? [batch.Length, input.Height, input.Width, input.Channels]
                : [batch.Length, input.Channels, input.Height, input.Width];
            using var results = session.Run([NamedOnnxValue.CreateFromTensor(input.Name, new DenseTensor<float>(data, shape))], [probabilitiesName, CamHead.OutputName]);
            var probabilities = results[0].AsTensor<float>();
            var maps = results[1].AsTensor<float>();
            int h = maps.Dimensions[1], w = maps.Dimensions[2];
            for (var i = 0; i < batch.Length; i++)
            {
                var map = new float[h * w];
                for (var k = 0; k < map.Length; k++)
                {
                    map[k] = maps[i, k / w, k % w];
                }

                outputs.Add(new CamOutput([probabilities[i, 0], probabilities[i, 1]], map, h, w));
            }
        }

        return outputs;
    }

    public void Dispose() => session.Dispose();
}
