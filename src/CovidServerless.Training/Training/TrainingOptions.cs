namespace CovidServerless.Training.Training;

/// <summary>Everything that determines a trained model (recorded in the manifest so runs can be reproduced).</summary>
internal sealed record TrainingOptions
{
    public required string Modality { get; init; }

    public required string Architecture { get; init; }

    public double WidthMultiplier { get; init; } = 0.25;

    /// <summary>Resolution the backbone sees; the 224 input is average-pooled down to it inside the graph.</summary>
    public int InternalResolution { get; init; } = 112;

    public int MaxEpochs { get; init; } = 40;

    /// <summary>Stop after this many epochs without a better validation AUC.</summary>
    public int Patience { get; init; } = 10;

    public int BatchSize { get; init; } = 32;

    public double LearningRate { get; init; } = 1e-3;

    public int Seed { get; init; } = 42;

    /// <summary>Weight of the feature-distillation loss; 0 (with <see cref="LogitWeight"/> 0) trains from scratch without the teacher.</summary>
    public double TeacherWeight { get; init; } = 1.0;

    /// <summary>The ImageNet ResNet18 as shipped, or fine-tuned on the student's own training scans first.</summary>
    public TeacherKind Teacher { get; init; } = TeacherKind.ImageNet;

    /// <summary>Weight of logit distillation (the fine-tuned teacher's softened verdicts); the ImageNet teacher has none.</summary>
    public double LogitWeight { get; init; }

    public TeacherOptions FineTuning { get; init; } = new();

    public bool UsesTeacher => TeacherWeight > 0 || UsesLogits;

    public bool UsesLogits => Teacher == TeacherKind.FineTuned && LogitWeight > 0;

    /// <summary>Whether a validation set chooses the epoch; otherwise every epoch runs and the last is kept.</summary>
    public bool EarlyStopping { get; init; } = true;

    public string Recipe =>
        $"Adam lr {LearningRate} (cosine decay over {MaxEpochs} epochs), batch {BatchSize}, class-weighted cross-entropy, " +
        $"augmentation {Data.Augmenter.Description}, internal resolution {InternalResolution}, " +
        (EarlyStopping ? $"early stopping on val AUC (patience {Patience})" : $"all {MaxEpochs} epochs, last kept") +
        (!UsesTeacher ? ", from scratch (no teacher)"
            : Teacher == TeacherKind.ImageNet ? $", feature distillation from ImageNet ResNet18 (weight {TeacherWeight})"
            : $", distillation from {FineTuning} (features weight {TeacherWeight}, logits weight {LogitWeight} at temperature {Trainer.DistillTemperature})");

    public string TeacherDescription => !UsesTeacher ? "none (trained from scratch)"
        : Teacher == TeacherKind.ImageNet ? ImageNetTeacher.Description
        : FineTuning.ToString();
}

internal enum TeacherKind
{
    ImageNet,
    FineTuned,
}
