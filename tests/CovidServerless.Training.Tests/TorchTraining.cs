namespace CovidServerless.Training.Tests;

/// <summary>
/// Tests that train with TorchSharp run one at a time: torch's seed, thread pool and native state are process-wide,
/// and two trainings interleaved in one process failed inside libtorch (a scalar conversion in the augmenter).
/// </summary>
[CollectionDefinition(Name)]
public sealed class TorchTraining
{
    public const string Name = "torch training";
}
