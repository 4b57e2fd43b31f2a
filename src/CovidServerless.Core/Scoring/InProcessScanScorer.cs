using System.Buffers;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Scoring;

/// <summary>
/// Runs the ensemble in this process. At most <see cref="ModelOptions.MaxConcurrentScans"/> model runs go at once
/// (on CUDA, scans), so that with each session's intra-op threads the CPU is used fully but not oversubscribed; a
/// scan that arrives alone has its models run side by side, rather than one after another on one core's worth of
/// threads.
/// </summary>
public sealed class InProcessScanScorer(ModelCatalog catalog, ScanDecoder decoder, IOptions<ModelOptions> options)
    : IScanScorer, IDisposable
{
    private readonly SemaphoreSlim gate = new(options.Value.MaxConcurrentScans, options.Value.MaxConcurrentScans);

    public async Task<EnsembleScore> ScoreAsync(Modality modality, ReadOnlyMemory<byte> image, CancellationToken cancellationToken)
    {
        var ensemble = catalog.For(modality);
        PreparedScan prepared;
        using (var scan = decoder.Decode(image.Span))
        {
            prepared = PreparedScan.For(ensemble, scan);
        }

        using (prepared)
        {
            return (await ScoreUnderGateAsync(ensemble, [prepared], gate, catalog.OnCuda, cancellationToken).ConfigureAwait(false))[0];
        }
    }

    /// <summary>
    /// Scores prepared scans while holding slots of <paramref name="gate"/>: on the CPU one per model run, so that a
    /// scan or batch scored alone has its models run side by side; with <paramref name="oneSlotPerBatch"/> (on CUDA)
    /// one for all of them, the models one after another, as the GPU figures were measured (side by side is not
    /// measured there). <paramref name="cancellationToken"/> stops the waits for slots; a run that has started ends.
    /// </summary>
    public static async Task<IReadOnlyList<EnsembleScore>> ScoreUnderGateAsync(
        ModalityModels ensemble, IReadOnlyList<PreparedScan> scans, SemaphoreSlim gate, bool oneSlotPerBatch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(gate);
        if (!oneSlotPerBatch)
        {
            return await ScorePreparedAsync(ensemble, scans, gate, cancellationToken).ConfigureAwait(false);
        }

        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return ScorePrepared(ensemble, scans);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Scores decoded scans as one batch per model. Several scans are preprocessed in parallel: that work is
    /// single-threaded per scan and would otherwise leave the other cores idle before the model runs.
    /// </summary>
    public static IReadOnlyList<EnsembleScore> ScoreDecoded(ModalityModels ensemble, IReadOnlyList<DecodedScan> scans)
    {
        ArgumentNullException.ThrowIfNull(ensemble);
        ArgumentNullException.ThrowIfNull(scans);
        var prepared = new PreparedScan[scans.Count];
        try
        {
            if (scans.Count == 1)
            {
                prepared[0] = PreparedScan.For(ensemble, scans[0]);
            }
            else
            {
                Parallel.For(0, scans.Count, i => prepared[i] = PreparedScan.For(ensemble, scans[i]));
            }

            return ScorePrepared(ensemble, prepared);
        }
        finally
        {
            foreach (var scan in prepared)
            {
                scan?.Dispose();
            }
        }
    }

    /// <summary>Scores prepared scans of one modality as one ONNX run per model, the models one after another.</summary>
    public static IReadOnlyList<EnsembleScore> ScorePrepared(ModalityModels ensemble, IReadOnlyList<PreparedScan> scans) =>
        ScorePreparedAsync(ensemble, scans, modelRuns: null).GetAwaiter().GetResult(); // completes synchronously without a gate

    /// <summary>
    /// One ONNX run per model. Without <paramref name="modelRuns"/>, the models run one after another on the caller's
    /// thread; with it, all at once, each run holding one of its slots.
    /// </summary>
    private static async Task<IReadOnlyList<EnsembleScore>> ScorePreparedAsync(
        ModalityModels ensemble, IReadOnlyList<PreparedScan> scans, SemaphoreSlim? modelRuns, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ensemble);
        ArgumentNullException.ThrowIfNull(scans);
        if (scans.Any(s => s.Modality != ensemble.Modality))
        {
            throw new ArgumentException($"Every scan must be prepared for the {ensemble.Modality.ToName()} ensemble.", nameof(scans));
        }

        // A batch of one runs on the scan's own tensor: copying it too measured about 2% slower in process.
        var pooledBatches = scans.Count > 1;
        var batches = ensemble.Inputs.Select((_, input) => pooledBatches ? Batch(scans, input) : scans[0].TensorArray(input)).ToArray();
        float[] Run(int m) => ensemble.Models[m].PredictCovid(batches[ensemble.InputOfModel[m]], scans.Count);
        float[][] perModel;
        try
        {
            // WhenAll returns once every run has ended, so no run still reads a batch when it goes back to the pool.
            perModel = modelRuns is null
                ? [.. Enumerable.Range(0, ensemble.Models.Count).Select(Run)]
                : await Task.WhenAll(Enumerable.Range(0, ensemble.Models.Count).Select(async m =>
                {
                    await modelRuns.WaitAsync(cancellationToken).ConfigureAwait(false);
                    try
                    {
                        return await Task.Run(() => Run(m)).ConfigureAwait(false);
                    }
                    finally
                    {
                        modelRuns.Release();
                    }
                })).ConfigureAwait(false);
        }
        finally
        {
            if (pooledBatches)
            {
                Array.ForEach(batches, batch => ArrayPool<float>.Shared.Return(batch));
            }
        }

        var threshold = ensemble.Rule.Threshold;
        return [.. Enumerable.Range(0, scans.Count).Select(i => EnsembleScore.SoftVote(
            ensemble.Modality,
            [.. ensemble.Models.Select((model, m) => new ModelScore(
                model.Name, model.Entry.Version, perModel[m][i], Verdicts.For(perModel[m][i], threshold)))],
            threshold) with { Gate = scans[i].Gate })];
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

    public void Dispose() => gate.Dispose();
}
