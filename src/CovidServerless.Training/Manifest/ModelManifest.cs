using System.Text.Json;
using System.Text.Json.Serialization;

namespace CovidServerless.Training.Manifest;

// The shape of models/manifest.json, which the core library's model catalogue reads. Field names are a contract.

internal sealed record ModelManifest
{
    public int SchemaVersion { get; init; } = 1;

    public SortedDictionary<string, ModalityEntry> Modalities { get; init; } = new(StringComparer.Ordinal);

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static ModelManifest LoadOrCreate(string path) =>
        File.Exists(path) ? JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(path), Json)! : new ModelManifest();

    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Json) + "\n");
}

internal sealed record ModalityEntry
{
    public EnsembleEntry Ensemble { get; set; } = new();

    public List<ModelEntry> Models { get; init; } = [];
}

internal sealed record EnsembleEntry
{
    public string Rule { get; init; } = "soft-vote";

    public double Threshold { get; init; } = 0.5;

    public string ThresholdRationale { get; init; } = "Default 0.5 (the seed's rule); not yet chosen on validation data.";
}

internal sealed record ModelEntry
{
    public required string Name { get; init; }

    public required string Architecture { get; init; }

    public string Version { get; init; } = "1.0.0";

    public required string File { get; init; }

    public required string Sha256 { get; init; }

    public InputEntry Input { get; init; } = new();

    public OutputEntry Output { get; init; } = new();

    public required TrainingEntry Training { get; init; }

    public required ValidationEntry Validation { get; init; }
}

internal sealed record InputEntry
{
    public string Name { get; init; } = "input";

    public string Layout { get; init; } = "NHWC";

    public int Width { get; init; } = 224;

    public int Height { get; init; } = 224;

    public string ChannelOrder { get; init; } = "RGB";

    public double Scale { get; init; } = 1.0 / 255.0;

    public double[] Mean { get; init; } = [0, 0, 0];

    public double[] Std { get; init; } = [1, 1, 1];
}

internal sealed record OutputEntry
{
    public string Name { get; init; } = "probabilities";

    public int CovidIndex { get; init; }

    public string Kind { get; init; } = "probabilities";
}

internal sealed record TrainingEntry
{
    public required string Data { get; init; }

    public required string Recipe { get; init; }

    public int Seed { get; init; }

    public int Epochs { get; init; }

    public double WidthMultiplier { get; init; }

    public required string Teacher { get; init; }

    public required string TrainedAt { get; init; }
}

internal sealed record ValidationEntry
{
    public required string Data { get; init; }

    public double Auc { get; init; }

    public double Accuracy { get; init; }

    public int N { get; init; }
}
