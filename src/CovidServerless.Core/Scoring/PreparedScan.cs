using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;

namespace CovidServerless.Core.Scoring;

/// <summary>
/// A scan preprocessed for one modality's ensemble: one tensor per distinct model input. Preparing is the CPU work
/// between decoding and the model runs, so callers can do it on their own threads while a batch is being scored.
/// </summary>
public sealed class PreparedScan
{
    private PreparedScan(Modality modality, float[][] tensors)
    {
        Modality = modality;
        Tensors = tensors;
    }

    public Modality Modality { get; }

    /// <summary>One tensor per entry of <see cref="ModalityModels.Inputs"/>, in that order.</summary>
    internal float[][] Tensors { get; }

    public static PreparedScan For(ModalityModels ensemble, DecodedScan scan)
    {
        ArgumentNullException.ThrowIfNull(ensemble);
        return new PreparedScan(ensemble.Modality, [.. ensemble.Inputs.Select(spec => ImagePreprocessor.ToTensor(scan, spec))]);
    }
}
