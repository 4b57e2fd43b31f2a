using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Scoring;

/// <summary>
/// Runs the ensemble in this process. At most <see cref="ModelOptions.MaxConcurrentScans"/> scans are decoded and
/// scored at once, so that with each session's intra-op threads the CPU is used fully but not oversubscribed.
/// </summary>
public sealed class InProcessScanScorer(ModelCatalog catalog, ScanDecoder decoder, IOptions<ModelOptions> options)
    : IScanScorer, IDisposable
{
    private readonly SemaphoreSlim gate = new(options.Value.MaxConcurrentScans, options.Value.MaxConcurrentScans);

    public async Task<EnsembleScore> ScoreAsync(Modality modality, ReadOnlyMemory<byte> image, CancellationToken cancellationToken)
    {
        var ensemble = catalog.For(modality);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var scan = decoder.Decode(image.Span);
            return ScoreDecoded(ensemble, [scan])[0];
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Scores decoded scans as one batch per model; each distinct input spec is preprocessed once.</summary>
    public static IReadOnlyList<EnsembleScore> ScoreDecoded(ModalityModels ensemble, IReadOnlyList<DecodedScan> scans)
    {
        ArgumentNullException.ThrowIfNull(ensemble);
        ArgumentNullException.ThrowIfNull(scans);
        var perModel = new float[ensemble.Models.Count][];
        var tensors = new List<(ModelInputSpec Spec, float[] Batch)>();
        for (var m = 0; m < ensemble.Models.Count; m++)
        {
            var model = ensemble.Models[m];
            var batch = tensors.FirstOrDefault(t => t.Spec.ProducesSameTensorAs(model.Input)).Batch;
            if (batch is null)
            {
                batch = Preprocess(scans, model.Input);
                tensors.Add((model.Input, batch));
            }

            perModel[m] = model.PredictCovid(batch, scans.Count);
        }

        var threshold = ensemble.Rule.Threshold;
        return [.. Enumerable.Range(0, scans.Count).Select(i => EnsembleScore.SoftVote(
            ensemble.Modality,
            [.. ensemble.Models.Select((model, m) => new ModelScore(
                model.Name, model.Entry.Version, perModel[m][i], Verdicts.For(perModel[m][i], threshold)))],
            threshold))];
    }

    private static float[] Preprocess(IReadOnlyList<DecodedScan> scans, ModelInputSpec spec)
    {
        var size = spec.ElementsPerImage;
        var batch = new float[scans.Count * size];
        for (var i = 0; i < scans.Count; i++)
        {
            ImagePreprocessor.Fill(scans[i], spec, batch.AsSpan(i * size, size));
        }

        return batch;
    }

    public void Dispose() => gate.Dispose();
}
