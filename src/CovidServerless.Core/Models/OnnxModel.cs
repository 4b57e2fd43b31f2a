using System.Security.Cryptography;
using CovidServerless.Core.Heatmaps;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace CovidServerless.Core.Models;

/// <summary>One loaded ONNX model: its manifest entry and its session, created once per process.</summary>
/// <param name="fixedBatch">The batch size the model was exported with, if fixed (a PyTorch export's default is 1); null when dynamic.</param>
public sealed class OnnxModel(Modality modality, ModelEntry entry, string sha256, InferenceSession session, int? fixedBatch = null) : IDisposable
{
    /// <summary>
    /// Opens a model the way the catalog does (and the trainer, to measure what it exported): the file checked against
    /// the entry's sha256 where it states one, the session opened, the graph checked against the entry's contract.
    /// </summary>
    public static OnnxModel Open(Modality modality, ModelEntry entry, string folder, SessionOptions options)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var (session, sha256) = OpenSession(entry, folder, options);
        try
        {
            return new OnnxModel(modality, entry, sha256, session, fixedBatch: ModelContract.Check(entry, session));
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Reads a model file (<see cref="ModelEntry.File"/> under <paramref name="folder"/>), checks its sha256 and opens its session.</summary>
    public static (InferenceSession Session, string Sha256) OpenSession(ModelEntry entry, string folder, SessionOptions options)
    {
        ArgumentNullException.ThrowIfNull(entry);
        entry.Input.Validate(entry.Name);
        var path = Path.GetFullPath(Path.Combine(folder, entry.File));
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"model file is missing: {path}");
        }

        var bytes = File.ReadAllBytes(path);
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (entry.Sha256 is { Length: > 0 } expected && !string.Equals(expected, sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"{path} has sha256 {sha256}, but the manifest expects {expected}.");
        }

        return (new InferenceSession(bytes, options), sha256);
    }

    public Modality Modality { get; } = modality;

    public ModelEntry Entry { get; } = entry;

    public string Name => Entry.Name;

    /// <summary>SHA-256 of the file actually loaded.</summary>
    public string Sha256 { get; } = sha256;

    public ModelInputSpec Input => Entry.Input;

    /// <summary>The batch size the model was exported with, if fixed; null when its batch dimension is dynamic.</summary>
    public int? FixedBatch => fixedBatch;

    /// <summary>
    /// pCovid for each image of a batch laid out back to back in <paramref name="batch"/>. A model with a fixed batch
    /// size runs in runs of that size, the last one padded with zeros whose outputs are dropped.
    /// </summary>
    public float[] PredictCovid(float[] batch, int count) => Predict(batch, count, withMaps: false).PCovid;

    /// <summary>
    /// As <see cref="PredictCovid"/>, and with <paramref name="withMaps"/> (where the model has a heatmap output) each
    /// image's class-activation map from the same run: the map is a small extra output of a graph that runs anyway.
    /// </summary>
    public (float[] PCovid, CamMap[]? Maps) Predict(float[] batch, int count, bool withMaps)
    {
        ArgumentNullException.ThrowIfNull(batch);
        withMaps &= HasHeatmap;
        var perImage = Entry.Input.ElementsPerImage;
        if (fixedBatch is not { } size || size == count)
        {
            return Run(batch.AsMemory(0, count * perImage), count, withMaps);
        }

        var result = new float[count];
        var maps = withMaps ? new CamMap[count] : null;
        for (var start = 0; start < count; start += size)
        {
            var images = Math.Min(size, count - start);
            var run = batch.AsMemory(start * perImage, images * perImage);
            if (images < size)
            {
                var padded = new float[size * perImage];
                run.CopyTo(padded);
                run = padded;
            }

            var (pCovid, runMaps) = Run(run, size, withMaps);
            pCovid.AsSpan(0, images).CopyTo(result.AsSpan(start));
            if (maps is not null)
            {
                Array.Copy(runMaps!, 0, maps, start, images);
            }
        }

        return (result, maps);
    }

    /// <summary>True when the manifest names a heatmap output for this model (see <see cref="ModelOutputSpec.Heatmap"/>).</summary>
    public bool HasHeatmap => Entry.Output.Heatmap is not null;

    /// <summary>pCovid and the class-activation map of one image (<paramref name="image"/>: one image's elements).</summary>
    public (float PCovid, CamMap Map) PredictWithHeatmap(ReadOnlyMemory<float> image)
    {
        if (!HasHeatmap)
        {
            throw new InvalidOperationException($"Model {Name} has no heatmap output in the manifest.");
        }

        var perImage = Entry.Input.ElementsPerImage;
        var data = new float[perImage];
        image.Span[..perImage].CopyTo(data);
        var (pCovid, maps) = Predict(data, 1, withMaps: true);
        return (pCovid[0], maps![0]);
    }

    private (float[] PCovid, CamMap[]? Maps) Run(Memory<float> images, int count, bool withMaps)
    {
        var input = Entry.Input;
        int[] shape = input.Layout == TensorLayout.NHWC
            ? [count, input.Height, input.Width, input.Channels]
            : [count, input.Channels, input.Height, input.Width];
        var tensor = new DenseTensor<float>(images, shape);
        string[] names = withMaps ? [Entry.Output.Name, Entry.Output.Heatmap!] : [Entry.Output.Name];
        using var outputs = session.Run([NamedOnnxValue.CreateFromTensor(input.Name, tensor)], names);
        var pCovid = ReadCovidProbabilities(outputs[0].AsTensor<float>(), count);
        return (pCovid, withMaps ? ReadMaps(outputs[1].AsTensor<float>(), count) : null);
    }

    /// <summary>Each image's [h, w] map of a [N, h, w] output.</summary>
    private static CamMap[] ReadMaps(Tensor<float> output, int count)
    {
        int h = output.Dimensions[1], w = output.Dimensions[2];
        var maps = new CamMap[count];
        for (var i = 0; i < count; i++)
        {
            var values = new float[h * w];
            for (var k = 0; k < values.Length; k++)
            {
                values[k] = output.GetValue((i * values.Length) + k);
            }

            maps[i] = new CamMap(w, h, values);
        }

        return maps;
    }

    private float[] ReadCovidProbabilities(Tensor<float> output, int count)
    {
        var classes = (int)(output.Length / count);
        var covidIndex = Entry.Output.CovidIndex;
        var result = new float[count];
        for (var i = 0; i < count; i++)
        {
            var row = new float[classes];
            for (var k = 0; k < classes; k++)
            {
                row[k] = output.GetValue((i * classes) + k);
            }

            result[i] = Entry.Output.Kind == OutputKind.Logits ? Softmax(row, covidIndex) : row[covidIndex];
        }

        return result;
    }

    private static float Softmax(float[] logits, int index)
    {
        var max = logits.Max();
        var sum = logits.Sum(l => MathF.Exp(l - max));
        return MathF.Exp(logits[index] - max) / sum;
    }

    public void Dispose() => session.Dispose();
}
