namespace CovidServerless.Core.Scoring;

/// <summary>
/// Scores one encoded scan with its modality's ensemble. The one scoring interface used by the pipeline, the CLI,
/// evaluation and the GPU worker; in-process and remote implementations give the same answers.
/// </summary>
/// <remarks>
/// Throws <see cref="Imaging.ScanRejectedException"/> when the scan itself is unusable and
/// <see cref="Models.ModelsUnavailableException"/> when the models are not ready.
/// </remarks>
public interface IScanScorer
{
    Task<EnsembleScore> ScoreAsync(Modality modality, ReadOnlyMemory<byte> image, CancellationToken cancellationToken);
}
