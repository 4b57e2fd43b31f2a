namespace CovidServerless.Core.Scoring;

/// <summary>Scores each scan on its own, in this process, as soon as it arrives.</summary>
public sealed class InProcessScanScorer(EnsembleRunner runner) : IScanScorer
{
    public async Task<EnsembleScore> ScoreAsync(Modality modality, ReadOnlyMemory<byte> image, CancellationToken cancellationToken)
    {
        using var prepared = await runner.PrepareAsync(modality, image, cancellationToken).ConfigureAwait(false);
        return (await runner.ScoreAsync([prepared], cancellationToken).ConfigureAwait(false))[0];
    }
}
