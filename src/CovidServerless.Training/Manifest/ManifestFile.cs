using System.Text.Json;
using CovidServerless.Core.Models;

namespace CovidServerless.Training.Manifest;

/// <summary>
/// Reads and updates models/manifest.json through the core library's own manifest types (the ones serving reads),
/// so the trainer cannot drift from the contract.
/// </summary>
internal static class ManifestFile
{
    private static readonly JsonSerializerOptions Provenance = new(JsonSerializerDefaults.Web);

    public static ModelManifest LoadOrCreate(string path) => File.Exists(path) ? ModelManifest.Load(path) : new ModelManifest();

    public static void Save(ModelManifest manifest, string path)
    {
        var json = JsonSerializer.SerializeToNode(manifest, ModelManifest.JsonOptions)!;
        // The contract spells output kinds in lower case ("probabilities" / "logits"); the core's enum converter
        // writes the C# names. It reads either spelling.
        foreach (var modality in json["modalities"]!.AsObject())
        {
            foreach (var model in modality.Value!["models"]!.AsArray())
            {
                var output = model!["output"]!.AsObject();
                output["kind"] = output["kind"]!.GetValue<string>().ToLowerInvariant();
            }
        }

        if (json["gate"]?["model"]?["output"] is System.Text.Json.Nodes.JsonObject gateOutput)
        {
            gateOutput["kind"] = gateOutput["kind"]!.GetValue<string>().ToLowerInvariant();
        }

        File.WriteAllText(path, json.ToJsonString(ModelManifest.JsonOptions) + "\n");
    }

    /// <summary>Adds or replaces a model (by name), keeping the architectures in their canonical order.</summary>
    public static void PutModel(ModelManifest manifest, string modality, ModelEntry entry)
    {
        var current = manifest.Modalities.GetValueOrDefault(modality) ?? new ModalityManifest();
        var models = current.Models.Where(m => m.Name != entry.Name).Append(entry)
            .OrderBy(m => Rank(m.Name)).ToList();
        manifest.Modalities[modality] = current with { Models = models };
    }

    public static void PutEnsemble(ModelManifest manifest, string modality, EnsembleRule ensemble) =>
        manifest.Modalities[modality] = manifest.Modalities[modality] with { Ensemble = ensemble };

    /// <summary>Typed provenance, stored in the manifest's free-form "training" / "validation" objects.</summary>
    public static System.Text.Json.Nodes.JsonObject ToJson<T>(T value) =>
        JsonSerializer.SerializeToNode(value, Provenance)!.AsObject();

    private static int Rank(string name)
    {
        var index = Architectures.Architecture.Names.ToList().IndexOf(name);
        return index < 0 ? int.MaxValue : index;
    }
}

/// <summary>How a model was made (manifest "training").</summary>
internal sealed record TrainingRecord(string Data, string Recipe, int Seed, int Epochs, double WidthMultiplier, string Teacher, string TrainedAt);

/// <summary>What it scored on validation data, measured through ONNX Runtime (manifest "validation").</summary>
internal sealed record ValidationRecord(string Data, double Auc, double Accuracy, int N);
