using System.Buffers;
using CovidServerless.Core.Heatmaps;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Scoring;

/// <summary>
/// The one place a scan is decoded, prepared and run through its modality's ensemble. Every in-process scorer
/// (one scan at a time, batched) goes through it, so they share one cap on concurrent model runs: at most
/// <see cref="ModelOptions.MaxConcurrentScans"/> at once over the whole process, so that with each session's
/// intra-op threads the CPU is used fully but not oversubscribed. With heatmaps enabled, the same runs also fetch each
/// member's class-activation map (<see cref="EnsembleScore.Heatmaps"/>); without <paramref name="heatmaps"/>, none.
/// </summary>
public sealed class EnsembleRunner(
    ModelCatalog catalog, ScanDecoder decoder, IOptions<ModelOptions> options, IOptions<HeatmapOptions>? heatmaps = null) : IDisposable
{
    private readonly bool withMaps = heatmaps?.Value.Enabled ?? false;

    private readonly SemaphoreSlim modelRuns = new(options.Value.MaxConcurrentScans, options.Value.MaxConcurrentScans);

    /// <summary>Whether the models run on CUDA.</summary>
    public bool OnCuda => catalog.OnCuda;

    /// <summary>The ensemble of <paramref name="modality"/> (loads the models on first use).</summary>
    public ModalityModels For(Modality modality) => catalog.For(modality);

    /// <summary>Decodes an encoded scan and prepares it for its ensemble; throws <see cref="ScanRejectedException"/> for bad input.</summary>
    public PreparedScan Prepare(Modality modality, ReadOnlySpan<byte> image)
    {
        var ensemble = catalog.For(modality);
        using var scan = decoder.Decode(image, modality);
        return PreparedScan.For(ensemble, scan);
    }

    /// <summary>
    /// As <see cref="Prepare"/>, waiting asynchronously for room in the decoded-pixel budget (servers); throws
    /// <see cref="ScoringUnavailableException"/> when none comes in time.
    /// </summary>
    public async Task<PreparedScan> PrepareAsync(Modality modality, ReadOnlyMemory<byte> image, CancellationToken cancellationToken)
    {
        var ensemble = catalog.For(modality);
        using var scan = await decoder.DecodeAsync(image, modality, cancellationToken).ConfigureAwait(false);
        return PreparedScan.For(ensemble, scan);
    }

    /// <summary>
    /// Scores prepared scans of one modality as one ONNX run per model. On the CPU each model run holds one slot, so a
    /// scan or batch scored alone has its models run side by side; on CUDA a batch holds one slot and runs its models
    /// one after another. Cancellation stops the waits for slots; a run that has started ends.
    /// </summary>
    public Task<IReadOnlyList<EnsembleScore>> ScoreAsync(IReadOnlyList<PreparedScan> scans, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scans);
        return scans.Count == 0
            ? Task.FromResult<IReadOnlyList<EnsembleScore>>([])
            : ScoreAsync(catalog.For(scans[0].Modality), scans, cancellationToken);
    }

    /// <summary>As <see cref="ScoreAsync(IReadOnlyList{PreparedScan}, CancellationToken)"/>, with a given set of loaded models.</summary>
    public async Task<IReadOnlyList<EnsembleScore>> ScoreAsync(
        ModalityModels ensemble, IReadOnlyList<PreparedScan> scans, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ensemble);
        ArgumentNullException.ThrowIfNull(scans);
        if (scans.Any(s => s.Modality != ensemble.Modality))
        {
            throw new ArgumentException("Every scan of a batch must be prepared for the same ensemble.", nameof(scans));
        }

        if (scans.Count == 0)
        {
            return [];
        }

        // A batch of one runs on the scan's own tensor: no copy.
        var pooledBatches = scans.Count > 1;
        var batches = ensemble.Inputs.Select((_, input) => pooledBatches ? Batch(scans, input) : scans[0].TensorArray(input)).ToArray();
        var withMaps = this.withMaps && ensemble.Models.Any(m => m.HasHeatmap);
        (float[] PCovid, CamMap[]? Maps) Run(int m) => ensemble.Models[m].Predict(batches[ensemble.InputOfModel[m]], scans.Count, withMaps);
        (float[] PCovid, CamMap[]? Maps)[] perModel;
        try
        {
            if (catalog.OnCuda)
            {
                await modelRuns.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    perModel = [.. Enumerable.Range(0, ensemble.Models.Count).Select(Run)];
                }
                finally
                {
                    modelRuns.Release();
                }
            }
            else
            {
                // WhenAll returns once every run has ended, so no run still reads a batch when it goes back to the pool.
                perModel = await Task.WhenAll(Enumerable.Range(0, ensemble.Models.Count).Select(async m =>
                {
                    await modelRuns.WaitAsync(cancellationToken).ConfigureAwait(false);
                    try
                    {
                        return await Task.Run(() => Run(m), CancellationToken.None).ConfigureAwait(false);
                    }
                    finally
                    {
                        modelRuns.Release();
                    }
                })).ConfigureAwait(false);
            }
        }
        finally
        {
            if (pooledBatches)
            {
                Array.ForEach(batches, batch => ArrayPool<float>.Shared.Return(batch, clearArray: true));
            }
        }

        var rule = ensemble.Rule;
        ModelScore Member(int m, int i)
        {
            var model = ensemble.Models[m];
            var pCovid = model.Entry.Calibration?.Apply(perModel[m].PCovid[i]) ?? perModel[m].PCovid[i];
            return new ModelScore(model.Name, model.Entry.Version, pCovid, Verdicts.For(pCovid, rule.MemberThreshold));
        }

        IReadOnlyList<MemberHeatmap>? Heatmaps(IReadOnlyList<ModelScore> members, int i) => withMaps
            ? [.. Enumerable.Range(0, members.Count).Where(m => perModel[m].Maps is not null)
                .Select(m => new MemberHeatmap(members[m].Name, (float)members[m].PCovid, perModel[m].Maps![i]))]
            : null;

        return [.. Enumerable.Range(0, scans.Count).Select(i =>
        {
            ModelScore[] members = [.. Enumerable.Range(0, ensemble.Models.Count).Select(m => Member(m, i))];
            return EnsembleScore.SoftVote(ensemble.Modality, members, rule) with { Gate = scans[i].Gate, Heatmaps = Heatmaps(members, i) };
        })];
    }

    /// <summary>The scans' tensors for one input laid out back to back, as ONNX Runtime needs them, in a pooled array.</summary>
    private static float[] Batch(IReadOnlyList<PreparedScan> scans, int input)
    {
        var size = scans[0].Tensor(input).Length;
        var batch = ArrayPool<float>.Shared.Rent(scans.Count * size);
        for (var i = 0; i < scans.Count; i++)
        {
            scans[i].Tensor(input).CopyTo(batch.AsSpan(i * size, size));
        }

        return batch;
    }

    public void Dispose() => modelRuns.Dispose();
}
