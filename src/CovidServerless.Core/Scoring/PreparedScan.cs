using System.Buffers;
using CovidServerless.Core.Gate;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;

namespace CovidServerless.Core.Scoring;

/// <summary>
/// A scan preprocessed for one modality's ensemble: one tensor per distinct model input. Preparing is the CPU work
/// between decoding and the model runs, so callers can do it on their own threads while a batch is being scored.
/// The tensors (about 600 KB each at 224x224x3) come from a shared pool, so that scans in a steady stream do not
/// each land on the large object heap and set off a full collection every few scans; dispose to give them back
/// (cleared, so that no patient's pixels linger in the pool).
/// </summary>
public sealed class PreparedScan : IDisposable
{
    private readonly IReadOnlyList<ModelInputSpec> inputs;
    private float[][]? rented;

    private PreparedScan(Modality modality, IReadOnlyList<ModelInputSpec> inputs, float[][] tensors, GateResult? gate)
    {
        Modality = modality;
        this.inputs = inputs;
        rented = tensors;
        Gate = gate;
    }

    public Modality Modality { get; }

    /// <summary>What the ensemble's input gate made of the scan (it passed); null where the ensemble has no gate.</summary>
    public GateResult? Gate { get; }

    /// <summary>
    /// Runs the ensemble's input gate, then preprocesses. Every scorer turns decoded scans into prepared ones here, so
    /// a scan the gate refuses never reaches a model: <see cref="GateRejectedException"/> carries the reason and score.
    /// </summary>
    public static PreparedScan For(ModalityModels ensemble, DecodedScan scan)
    {
        ArgumentNullException.ThrowIfNull(ensemble);
        var gate = ensemble.Gate?.Check(scan, ensemble.Modality);
        if (gate is { Passed: false })
        {
            throw new GateRejectedException(ensemble.Gate!.Reason(gate, ensemble.Modality), gate);
        }

        var inputs = ensemble.Inputs;
        var tensors = new float[inputs.Count][];
        var prepared = new PreparedScan(ensemble.Modality, inputs, tensors, gate);
        try
        {
            for (var i = 0; i < inputs.Count; i++)
            {
                tensors[i] = ArrayPool<float>.Shared.Rent(inputs[i].ElementsPerImage);
                ImagePreprocessor.Fill(scan, inputs[i], prepared.Writable(i));
            }

            return prepared;
        }
        catch
        {
            prepared.Dispose();
            throw;
        }
    }

    /// <summary>The tensor for entry <paramref name="input"/> of <see cref="ModalityModels.Inputs"/> (a pooled array may be longer).</summary>
    internal ReadOnlySpan<float> Tensor(int input) => Writable(input);

    /// <summary>The pooled array behind <see cref="Tensor"/>, for a batch of one (no copy).</summary>
    internal float[] TensorArray(int input) => (rented ?? throw new ObjectDisposedException(nameof(PreparedScan)))[input];

    private Span<float> Writable(int input) =>
        (rented ?? throw new ObjectDisposedException(nameof(PreparedScan)))[input].AsSpan(0, inputs[input].ElementsPerImage);

    public void Dispose()
    {
        var tensors = Interlocked.Exchange(ref rented, null);
        foreach (var tensor in tensors ?? [])
        {
            if (tensor is not null)
            {
                ArrayPool<float>.Shared.Return(tensor, clearArray: true); // a scan's pixels do not outlive it in the pool
            }
        }
    }
}
