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

    public static float[] Preprocess(string path, ModelInputSpec spec)
    {
        using var scan = Decoder.Decode(File.ReadAllBytes(path));
        return ImagePreprocessor.ToTensor(scan, spec);
    }

    /// <summary>All scans of a folder as one [N,224,224,3] tensor plus labels [N] (int64).</summary>
    public static (Tensor Pixels, Tensor Labels) Load(ScanFolder folder)
    {
        var perImage = SeedInput.ElementsPerImage;
        var pixels = new float[folder.Scans.Count * perImage];
        Parallel.For(0, folder.Scans.Count, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
            Preprocess(folder.Scans[i].Path, SeedInput).CopyTo(pixels.AsSpan(i * perImage, perImage)));
        var labels = folder.Scans.Select(s => (long)s.Label).ToArray();
        return (
            tensor(pixels, [folder.Scans.Count, SeedInput.Height, SeedInput.Width, SeedInput.Channels]),
            tensor(labels));
    }
}
