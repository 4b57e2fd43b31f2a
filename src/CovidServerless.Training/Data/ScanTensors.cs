using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using static TorchSharp.torch;

namespace CovidServerless.Training.Data;

/// <summary>
/// Turns scan files into tensors through the core library's one decoder and one preprocessing path, so the
/// trainer sees exactly what serving sees: NHWC 224x224 RGB scaled by 1/255.
/// </summary>
internal static class ScanTensors
{
    /// <summary>The seed's input contract, shared by every model this tool trains.</summary>
    public static readonly ModelInputSpec SeedInput = new();

    private static readonly ScanDecoder Decoder = new();

    public static float[] Preprocess(string path, ModelInputSpec spec) => PreprocessBytes(File.ReadAllBytes(path), spec);

    public static float[] PreprocessBytes(byte[] file, ModelInputSpec spec)
    {
        using var scan = Decoder.Decode(file);
        return ImagePreprocessor.ToTensor(scan, spec);
    }

    /// <summary>The file decoded, re-encoded at its own size in another format (PNG, or JPEG at a quality), then preprocessed.</summary>
    public static float[] PreprocessReencoded(string path, SkiaSharp.SKEncodedImageFormat format, int quality, ModelInputSpec spec)
    {
        using var scan = Decoder.Decode(File.ReadAllBytes(path));
        return PreprocessBytes(Reencoding.Encode(scan.Bitmap, format, quality), spec);
    }

    /// <summary>All scans of a folder as one [N,224,224,3] tensor plus labels [N] (int64).</summary>
    public static (Tensor Pixels, Tensor Labels) Load(ScanFolder folder) => Load(folder.Scans, p => Preprocess(p, SeedInput));

    /// <summary>Scans as one [N,224,224,3] tensor (each file through <paramref name="preprocess"/>) plus labels [N] (int64).</summary>
    public static (Tensor Pixels, Tensor Labels) Load(IReadOnlyList<LabelledScan> scans, Func<string, float[]> preprocess)
    {
        var perImage = SeedInput.ElementsPerImage;
        var pixels = new float[scans.Count * perImage];
        Parallel.For(0, scans.Count, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
            preprocess(scans[i].Path).CopyTo(pixels.AsSpan(i * perImage, perImage)));
        var labels = scans.Select(s => (long)s.Label).ToArray();
        return (
            tensor(pixels, [scans.Count, SeedInput.Height, SeedInput.Width, SeedInput.Channels]),
            tensor(labels));
    }
}
