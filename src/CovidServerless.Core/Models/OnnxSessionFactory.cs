using Microsoft.ML.OnnxRuntime;

namespace CovidServerless.Core.Models;

/// <summary>ONNX Runtime session options shared by every model, sized so parallel scans do not oversubscribe the CPU.</summary>
public static class OnnxSessionFactory
{
    /// <param name="onCuda">Put the CUDA provider first (the catalog decides once whether it loads).</param>
    public static SessionOptions CreateOptions(ModelOptions settings, bool onCuda)
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = settings.EffectiveIntraOpThreads,
            InterOpNumThreads = 1,
        };

        options.AddSessionConfigEntry("session.intra_op.allow_spinning", settings.AllowSpinning ? "1" : "0");

        if (onCuda)
        {
            AppendCuda(options);
        }

        return options;
    }

    /// <summary>Why the CUDA provider cannot run here, or null where it loads: the build must carry it and its libraries must load.</summary>
    public static string? CudaUnavailableReason()
    {
        if (!OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider"))
        {
            return "this build of ONNX Runtime has no CUDA provider";
        }

        try
        {
            using var probe = new SessionOptions();
            AppendCuda(probe);
            return null;
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
        {
            return $"the CUDA provider does not load ({ex.Message.Trim()})";
        }
    }

    /// <summary>Puts the CUDA provider first; throws where its libraries or a GPU are missing (no fall-back here).</summary>
    public static void AppendCuda(SessionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);

        // A session can see batches of every size from 1 up (one scan in process; the batching scorer with
        // Scoring:BatchPadding=None). cuDNN's default, an exhaustive search for each new input shape, makes such a
        // burst far too slow.
        using var cuda = new OrtCUDAProviderOptions();
        cuda.UpdateOptions(new Dictionary<string, string> { ["device_id"] = "0", ["cudnn_conv_algo_search"] = "HEURISTIC" });
        options.AppendExecutionProvider_CUDA(cuda);
    }
}
