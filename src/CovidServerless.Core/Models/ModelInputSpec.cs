using System.Text.Json.Serialization;

namespace CovidServerless.Core.Models;

public enum TensorLayout
{
    /// <summary>[batch, height, width, channels]: Keras' default and the seed's models.</summary>
    NHWC,

    /// <summary>[batch, channels, height, width]: PyTorch's default.</summary>
    NCHW,
}

/// <summary>
/// What a model expects as input, read from its manifest entry. A pixel value p in 0..255 becomes
/// <c>(p * Scale - Mean[c]) / Std[c]</c>; the seed's Keras models use Scale = 1/255, Mean = 0, Std = 1.
/// </summary>
public sealed record ModelInputSpec
{
    public string Name { get; init; } = "input";

    [JsonConverter(typeof(JsonStringEnumConverter<TensorLayout>))]
    public TensorLayout Layout { get; init; } = TensorLayout.NHWC;

    public int Width { get; init; } = 224;

    public int Height { get; init; } = 224;

    /// <summary>"RGB", "BGR" or "L" (one grey channel).</summary>
    public string ChannelOrder { get; init; } = "RGB";

    public float Scale { get; init; } = 1f / 255f;

    public IReadOnlyList<float> Mean { get; init; } = [0f, 0f, 0f];

    public IReadOnlyList<float> Std { get; init; } = [1f, 1f, 1f];

    [JsonIgnore]
    public int Channels => ChannelOrder.Length;

    /// <summary>Floats in one image's tensor.</summary>
    [JsonIgnore]
    public int ElementsPerImage => Width * Height * Channels;

    /// <summary>Two specs that would produce the same tensor, so scoring can share it between models.</summary>
    public bool ProducesSameTensorAs(ModelInputSpec other) =>
        Layout == other.Layout && Width == other.Width && Height == other.Height
        && string.Equals(ChannelOrder, other.ChannelOrder, StringComparison.OrdinalIgnoreCase)
        && Scale.Equals(other.Scale) && Mean.SequenceEqual(other.Mean) && Std.SequenceEqual(other.Std);

    /// <summary>Throws with a specific message when the spec cannot be honoured.</summary>
    public void Validate(string modelName)
    {
        if (Width <= 0 || Height <= 0)
        {
            throw new InvalidOperationException($"Model '{modelName}': input width and height must be positive.");
        }

        if (ChannelOrder.ToUpperInvariant() is not ("RGB" or "BGR" or "L"))
        {
            throw new InvalidOperationException($"Model '{modelName}': channelOrder must be RGB, BGR or L, not '{ChannelOrder}'.");
        }

        if (Mean.Count != Channels || Std.Count != Channels || Std.Any(s => s == 0f))
        {
            throw new InvalidOperationException(
                $"Model '{modelName}': mean and std need one non-zero value per channel ({Channels}).");
        }
    }
}
