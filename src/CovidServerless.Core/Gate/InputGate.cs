using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace CovidServerless.Core.Gate;

/// <summary>
/// Runs before the ensemble: refuses images that are not a scan of the declared modality (blank frames, noise,
/// documents, a CT slice in the chest container and the reverse), so that no verdict is shown for them. A small
/// ONNX classifier from the manifest (chest / ct / other on a thumbnail) plus a flatness check; the thresholds
/// and the figures that chose them are in the manifest's "gate" section.
/// </summary>
public sealed class InputGate : IDisposable
{
    private readonly InferenceSession session;

    internal InputGate(GateManifest manifest, string sha256, InferenceSession session)
    {
        Manifest = manifest;
        Sha256 = sha256;
        this.session = session;
    }

    public GateManifest Manifest { get; }

    /// <summary>SHA-256 of the classifier file actually loaded.</summary>
    public string Sha256 { get; }

    public string Name => Manifest.Model.Name;

    /// <summary>Problems that make a manifest's gate section unusable; empty when it is fine.</summary>
    public static IEnumerable<string> Problems(GateManifest gate)
    {
        ArgumentNullException.ThrowIfNull(gate);
        foreach (var modality in ModalityNames.All.Select(m => m.ToName()))
        {
            if (!gate.Classes.Contains(modality, StringComparer.Ordinal))
            {
                yield return $"The gate's classes ({string.Join(", ", gate.Classes)}) do not include '{modality}'.";
            }

            if (!gate.Thresholds.TryGetValue(modality, out var threshold) || threshold is < 0 or > 1 || double.IsNaN(threshold))
            {
                yield return $"The gate needs a threshold between 0 and 1 for '{modality}'.";
            }
        }

        if (gate.MinLumaStd is < 0 or > 1 || double.IsNaN(gate.MinLumaStd))
        {
            yield return "The gate's minLumaStd must be between 0 and 1.";
        }
    }

    /// <summary>The gate's opinion of <paramref name="scan"/> uploaded as <paramref name="modality"/>.</summary>
    public GateResult Check(DecodedScan scan, Modality modality)
    {
        var spec = Manifest.Model.Input;
        var pixels = ImagePreprocessor.ToTensor(scan, spec);
        int[] shape = spec.Layout == TensorLayout.NHWC ? [1, spec.Height, spec.Width, spec.Channels] : [1, spec.Channels, spec.Height, spec.Width];
        using var outputs = session.Run(
            [NamedOnnxValue.CreateFromTensor(spec.Name, new DenseTensor<float>(pixels, shape))], [Manifest.Model.Output.Name]);
        var probabilities = outputs[0].AsTensor<float>().ToArray();
        if (probabilities.Length != Manifest.Classes.Count)
        {
            throw new InvalidOperationException($"The gate returned {probabilities.Length} values for {Manifest.Classes.Count} classes.");
        }

        var name = modality.ToName();
        double score = probabilities[Manifest.Classes.IndexOf(name)];
        var threshold = Manifest.Thresholds[name];
        var looksLike = Manifest.Classes[Array.IndexOf(probabilities, probabilities.Max())];
        var lumaStd = LumaStd(pixels, spec);
        var passed = lumaStd >= Manifest.MinLumaStd && score >= threshold;
        return new GateResult(passed, Math.Round(score, 4), threshold, looksLike, Math.Round(lumaStd, 4), Name, Manifest.Model.Version);
    }

    /// <summary>The plain-words reason for a rejection (fixed texts: nothing from the file).</summary>
    public string Reason(GateResult result, Modality modality)
    {
        ArgumentNullException.ThrowIfNull(result);
        var expected = Describe(modality.ToName());
        if (result.LumaStd < Manifest.MinLumaStd)
        {
            return $"The image has no content (it is nearly uniform), so it cannot be {expected}.";
        }

        if (ModalityNames.TryParse(result.LooksLike, out var other) && other != modality)
        {
            return $"The image looks like {Describe(result.LooksLike)}, not {expected}; upload it to the {other.ToName()} container.";
        }

        return $"The image does not look like {expected}.";
    }

    /// <summary>
    /// The spread (standard deviation) of the thumbnail's grey level on 0..1, read back from the model's tensor, so
    /// the flatness check sees exactly the pixels the classifier sees. The trainer measures it the same way.
    /// </summary>
    public static double LumaStd(ReadOnlySpan<float> tensor, ModelInputSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int pixels = spec.Width * spec.Height, channels = spec.Channels;
        double sum = 0, sumSquares = 0;
        for (var i = 0; i < pixels; i++)
        {
            double grey = 0;
            for (var c = 0; c < channels; c++)
            {
                var value = tensor[spec.Layout == TensorLayout.NHWC ? (i * channels) + c : (c * pixels) + i];
                grey += ((value * spec.Std[c]) + spec.Mean[c]) / (spec.Scale * 255.0);
            }

            grey /= channels;
            sum += grey;
            sumSquares += grey * grey;
        }

        var mean = sum / pixels;
        return Math.Sqrt(Math.Max(0, (sumSquares / pixels) - (mean * mean)));
    }

    private static string Describe(string modality) => modality switch
    {
        "chest" => "a chest X-ray",
        "ct" => "a chest CT slice",
        _ => $"a {modality} image",
    };

    public void Dispose() => session.Dispose();
}
