using CovidServerless.Core.Models;
using CovidServerless.Training.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace CovidServerless.Training.Training;

/// <summary>
/// The ImageNet-pretrained ResNet18 from NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18, used as a
/// teacher: its 512 pooled features per image. Input handling follows the package's own preprocessing model
/// (ResNetPreprocess.onnx: NCHW RGB in 0..255, reordered to BGR, minus a per-pixel mean image), which is run as is.
/// </summary>
internal sealed class ImageNetTeacher : IDisposable
{
    public const int FeatureCount = 512;
    public const string Description = "ImageNet ResNet18 (Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1), feature distillation";

    // The package's preprocessing model takes raw 0..255 RGB in NCHW.
    private static readonly ModelInputSpec TeacherInput = new() { Layout = TensorLayout.NCHW, Scale = 1f };

    private readonly InferenceSession preprocess;
    private readonly InferenceSession resnet;

    public ImageNetTeacher(string modelsDirectory)
    {
        var options = new SessionOptions { IntraOpNumThreads = 2 };
        preprocess = new InferenceSession(Path.Combine(modelsDirectory, "ResNetPrepOnnx", "ResNetPreprocess.onnx"), options);
        resnet = new InferenceSession(Path.Combine(modelsDirectory, "ResNet18Onnx", "ResNet18.onnx"), options);
    }

    /// <summary>The package's models are copied beside the trainer's binaries by the package's build props.</summary>
    public static string DefaultModelsDirectory => Path.Combine(AppContext.BaseDirectory, "DnnImageModels");

    public float[] Features(string imagePath)
    {
        var pixels = ScanTensors.Preprocess(imagePath, TeacherInput);
        var input = new DenseTensor<float>(pixels, [1, 3, TeacherInput.Height, TeacherInput.Width]);
        using var prepared = preprocess.Run([NamedOnnxValue.CreateFromTensor(preprocess.InputMetadata.Keys.Single(), input)]);
        var normalised = prepared[0].AsTensor<float>();
        using var output = resnet.Run([NamedOnnxValue.CreateFromTensor(resnet.InputMetadata.Keys.Single(), normalised)]);
        return output[0].AsEnumerable<float>().ToArray();
    }

    /// <summary>
    /// Features for every scan of a folder, cached on disk by the folder's scans in order (the teacher is fixed,
    /// so they never change and are computed once).
    /// </summary>
    public static float[][] FeaturesFor(ScanFolder folder, string cacheDirectory)
    {
        var cacheFile = Path.Combine(cacheDirectory, $"teacher-resnet18-{folder.RowsKey[..16]}.bin");
        return FloatRowsCache.Read(cacheFile, folder.Scans.Count, FeatureCount) ?? FloatRowsCache.Write(cacheFile, Compute());

        float[][] Compute()
        {
            using var teacher = new ImageNetTeacher(DefaultModelsDirectory);
            return [.. folder.Scans.Select(s => teacher.Features(s.Path))];
        }
    }

    public void Dispose()
    {
        preprocess.Dispose();
        resnet.Dispose();
    }
}
