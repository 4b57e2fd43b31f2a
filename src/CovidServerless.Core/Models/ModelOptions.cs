using System.ComponentModel.DataAnnotations;

namespace CovidServerless.Core.Models;

/// <summary>Where ONNX Runtime runs the models. Bound case-insensitively; any other value fails the host's start.</summary>
public enum ExecutionProvider
{
    Cpu,

    /// <summary>Needs the GPU runtime package and a GPU; falls back to the CPU with a warning where either is missing.</summary>
    Cuda,
}

/// <summary>Where the models are and how ONNX Runtime runs them. Bound from configuration section "Models".</summary>
public sealed class ModelOptions
{
    public const string SectionName = "Models";

    /// <summary>Path of models/manifest.json; relative paths resolve against the current directory.</summary>
    [Required]
    public string ManifestPath { get; set; } = "models/manifest.json";

    /// <summary>Threads ONNX Runtime uses inside one model run. 0 = cores / MaxConcurrentScans.</summary>
    [Range(0, 256)]
    public int IntraOpThreads { get; set; }

    /// <summary>
    /// ONNX Runtime model runs at the same time in this process (on CUDA: scans or batches); with IntraOpThreads this
    /// caps CPU use. Two at once with half the cores each beat one at a time with all of them: these small models
    /// leave intra-op threads waiting on each other, and a lone scan's four models run side by side.
    /// </summary>
    [Range(1, 256)]
    public int MaxConcurrentScans { get; set; } = 2;

    public ExecutionProvider Provider { get; set; } = ExecutionProvider.Cpu;

    /// <summary>
    /// Let ONNX Runtime's pool threads spin between runs. Off by default: spinning threads take the cores that
    /// parallel scans, storage I/O and the other sessions need.
    /// </summary>
    public bool AllowSpinning { get; set; }

    /// <summary>
    /// Run the manifest's input gate before the ensembles (on by default): images that are not a scan of the declared
    /// modality are rejected instead of scored. Turn it off only for research, e.g. to see what the models say anyway.
    /// </summary>
    public bool InputGate { get; set; } = true;

    public int EffectiveIntraOpThreads =>
        IntraOpThreads > 0 ? IntraOpThreads : Math.Max(1, Environment.ProcessorCount / MaxConcurrentScans);
}
