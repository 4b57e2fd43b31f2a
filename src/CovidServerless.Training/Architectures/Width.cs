namespace CovidServerless.Training.Architectures;

/// <summary>Scales an architecture's channel counts by its width multiplier.</summary>
internal readonly record struct Width(double Multiplier)
{
    /// <summary>Channels for a layer that has <paramref name="channels"/> at full width: a multiple of 4, at least 4.</summary>
    public long Of(int channels) => Math.Max(4, (long)Math.Round(channels * Multiplier / 4.0) * 4);
}
