using System.Buffers;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;

namespace CovidServerless.Core.Scoring;

/// <summary>
/// A scan preprocessed for one modality's ensemble: one tensor per distinct model input. Preparing is the CPU work
/// between decoding and the model runs, so callers can do it on their own threads while a batch is being scored.
/// The tensors (about 600 KB each at 224x224x3) come from a shared pool, so that scans in a steady stream do not
/// each land on the large object heap and set off a full collection every few scans; dispose to give them back.
/// </summary>
public sealed class PreparedScan : IDisposable
{
    /// <summary>Elements of each tensor in use; a pooled array may be longer.</summary>
    private readonly int[] lengths;
    private float[][]? rented;

    private PreparedScan(Modality modality, float[][] tensors, int[] lengths)
    {
        Modality = modality;
        rented = tensors;
        this.lengths = lengths;
    }

    public Modality Modality { get; }

    public static PreparedScan For(ModalityModels ensemble, DecodedScan scan)
    {
        ArgumentNullException.ThrowIfNull(ensemble);
        var inputs = ensemble.Inputs;
        var tensors = new float[inputs.Count][];
        var lengths = new int[inputs.Count];
        var prepared = new PreparedScan(ensemble.Modality, tensors, lengths);
        try
        {
            for (var i = 0; i < inputs.Count; i++)
            {
                lengths[i] = inputs[i].ElementsPerImage;
                tensors[i] = ArrayPool<float>.Shared.Rent(lengths[i]);
                ImagePreprocessor.Fill(scan, inputs[i], tensors[i].AsSpan(0, lengths[i]));
            }

            return prepared;
        }
        catch
        {
            prepared.Dispose();
            throw;
        }
    }

    /// <summary>The tensor for entry <paramref name="input"/> of <see cref="ModalityModels.Inputs"/>.</summary>
    internal ReadOnlySpan<float> Tensor(int input) =>
        (rented ?? throw new ObjectDisposedException(nameof(PreparedScan)))[input].AsSpan(0, lengths[input]);

    /// <summary>The pooled array behind <see cref="Tensor"/>, for a batch of one (no copy).</summary>
    internal float[] TensorArray(int input) => (rented ?? throw new ObjectDisposedException(nameof(PreparedScan)))[input];

    public void Dispose()
    {
        var tensors = Interlocked.Exchange(ref rented, null);
        foreach (var tensor in tensors ?? [])
        {
            if (tensor is not null)
            {
                ArrayPool<float>.Shared.Return(tensor);
            }
        }
    }
}
