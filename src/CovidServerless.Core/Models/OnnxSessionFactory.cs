using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace CovidServerless.Core.Models;

/// <summary>ONNX Runtime session options shared by every model, sized so parallel scans do not oversubscribe the CPU.</summary>
public static class OnnxSessionFactory
{
    public static SessionOptions CreateOptions(ModelOptions settings, ILogger logger)
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = settings.EffectiveIntraOpThreads,
            InterOpNumThreads = 1,
        };

        options.AddSessionConfigEntry("session.intra_op.allow_spinning", settings.AllowSpinning ? "1" : "0");

        if (string.Equals(settings.Provider, "Cuda", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                AppendCuda(options);
            }
            catch (Exception ex) when (ex is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
            {
                logger.LogWarning("CUDA execution provider unavailable ({Message}); scoring on CPU.", ex.Message);
            }
        }

        return options;
    }

    /// <summary>Puts the CUDA provider first; throws where its libraries or a GPU are missing (no fall-back here).</summary>
    public static void AppendCuda(SessionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);

        // The batching scorer sends batches of every size from 1 up. With cuDNN's default, an exhaustive search for
        // each new input shape, a burst on an H200 did not finish within the run's time limit (covidscan bench --gpu;
        // benchmarks/README.md).
        using var cuda = new OrtCUDAProviderOptions();
        cuda.UpdateOptions(new Dictionary<string, string> { ["device_id"] = "0", ["cudnn_conv_algo_search"] = "HEURISTIC" });
        options.AppendExecutionProvider_CUDA(cuda);
    }
}
