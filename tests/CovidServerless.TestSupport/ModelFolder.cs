using System.Security.Cryptography;
using System.Text.Json;
using CovidServerless.Core.Models;

namespace CovidServerless.TestSupport;

/// <summary>A temporary models folder with a manifest and tiny models, deleted on dispose.</summary>
public sealed class ModelFolder : IDisposable
{
    private readonly Dictionary<string, ModalityManifest> modalities = [];
    private GateManifest? gate;

    public ModelFolder()
    {
        Root = Path.Combine(Path.GetTempPath(), "covidserverless-models-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public string ManifestPath => Path.Combine(Root, "manifest.json");

    /// <summary>The committed manifest's CT series rule (mean of the top tenth), which the standard ensembles state too.</summary>
    public static readonly SeriesRuleEntry StandardSeriesRule = new() { TopFraction = 0.1, Rationale = "test" };

    /// <summary>The standard test ensemble: four mean-intensity members per modality with distinct weights, and CT's series rule.</summary>
    public static ModelFolder WithStandardEnsembles()
    {
        var folder = new ModelFolder();
        foreach (var (modality, (weight, bias)) in StandardMembers)
        {
            folder.AddModality(modality, 0.5, weight.Select((w, i) => (ArchitectureNames[i], w, bias[i])).ToArray());
        }

        folder.modalities["ct"] = folder.modalities["ct"] with { Series = StandardSeriesRule };
        return folder.Write();
    }

    /// <summary>The standard test ensembles, each member also with a 4 x 4 heatmap output (<see cref="TinyOnnxModels.MeanIntensity"/>).</summary>
    public static ModelFolder WithStandardEnsemblesAndHeatmaps()
    {
        var folder = new ModelFolder();
        foreach (var (modality, (weight, bias)) in StandardMembers)
        {
            var output = new ModelOutputSpec { Heatmap = HeatmapOutput };
            var entries = weight.Select((w, i) => folder.AddModelFile(
                modality, ArchitectureNames[i], TinyOnnxModels.MeanIntensity(w, bias[i], heatmapName: HeatmapOutput), output: output)).ToList();
            folder.modalities[modality] = new ModalityManifest
            {
                Ensemble = new EnsembleRule { Threshold = 0.5 },
                Models = entries,
                Series = modality == "ct" ? StandardSeriesRule : null,
            };
        }

        return folder.Write();
    }

    public const string HeatmapOutput = "covid_cam";

    public static readonly string[] ArchitectureNames = ["vgg16", "resnet50", "inceptionv3", "xception"];

    /// <summary>Chest and CT members differ, so a result shows which ensemble scored it.</summary>
    public static readonly Dictionary<string, (float[] Weights, float[] Biases)> StandardMembers = new()
    {
        ["chest"] = ([4f, 3f, 2f, 1f], [-2f, -1.5f, -1f, -0.5f]),
        ["ct"] = ([-4f, -3f, -2f, -1f], [2f, 1.5f, 1f, 0.5f]),
    };

    public ModelFolder AddModality(string modality, double threshold, params (string Name, float Weight, float Bias)[] members)
    {
        var entries = new List<ModelEntry>();
        foreach (var (name, weight, bias) in members)
        {
            entries.Add(AddModelFile(modality, name, TinyOnnxModels.MeanIntensity(weight, bias)));
        }

        modalities[modality] = new ModalityManifest { Ensemble = new EnsembleRule { Threshold = threshold }, Models = entries };
        return this;
    }

    public ModelEntry AddModelFile(string modality, string name, byte[] onnx, ModelInputSpec? input = null, ModelOutputSpec? output = null)
    {
        var relative = $"{modality}/{name}.onnx";
        var path = Path.Combine(Root, modality, name + ".onnx");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, onnx);
        return new ModelEntry
        {
            Name = name,
            Architecture = name,
            Version = "test-1",
            File = relative,
            Sha256 = Convert.ToHexStringLower(SHA256.HashData(onnx)),
            Input = input ?? new ModelInputSpec(),
            Output = output ?? new ModelOutputSpec(),
        };
    }

    /// <summary>The committed input gate (models/manifest.json's "gate" section and its ONNX file), copied in.</summary>
    public ModelFolder WithCommittedGate(Func<GateManifest, GateManifest>? change = null)
    {
        var committed = ModelManifest.Load(Path.Combine(RepoPaths.Root, "models", "manifest.json")).Gate
            ?? throw new InvalidOperationException("models/manifest.json has no gate section.");
        var target = Path.Combine(Root, committed.Model.File);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Copy(Path.Combine(RepoPaths.Root, "models", committed.Model.File), target, overwrite: true);
        gate = change is null ? committed : change(committed);
        return this;
    }

    /// <summary>
    /// The standard test ensembles with an abstaining band of <paramref name="margin"/> around chest's threshold (0.5);
    /// CT has none. A mid-grey chest scan (pCovid about 0.5) is then indeterminate.
    /// </summary>
    public static ModelFolder WithAbstainingChest(double margin) => WithStandardEnsembles().Change(
        "chest", m => m with { Ensemble = m.Ensemble with { Abstain = new AbstainRule { Margin = margin, Rationale = "test band" } } });

    /// <summary>Rewrites one modality's section of the manifest (its rule or members) and writes the manifest again.</summary>
    public ModelFolder Change(string modality, Func<ModalityManifest, ModalityManifest> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        modalities[modality] = change(modalities[modality]);
        return Write();
    }

    public ModelFolder SetModality(string modality, ModalityManifest manifest)
    {
        modalities[modality] = manifest;
        return this;
    }

    public ModelFolder Write()
    {
        var manifest = new ModelManifest { Modalities = modalities, Gate = gate };
        File.WriteAllText(ManifestPath, JsonSerializer.Serialize(manifest, ModelManifest.JsonOptions));
        return this;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp folder left behind is harmless.
        }
    }
}
