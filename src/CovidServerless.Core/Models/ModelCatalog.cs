using System.Collections.Concurrent;
using System.Diagnostics;
using CovidServerless.Core.Gate;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;

namespace CovidServerless.Core.Models;

/// <summary>
/// Every model the manifest lists, each verified against its sha256 and loaded into an ONNX Runtime session
/// exactly once per process (register as a singleton). A model that cannot be loaded is reported by name in
/// <see cref="Problems"/> and keeps the catalog from being ready; the others still load.
/// </summary>
public sealed class ModelCatalog : IDisposable
{
    private readonly Dictionary<Modality, ModalityModels> byModality = [];
    private readonly List<string> problems = [];

    public ModelCatalog(IOptions<ModelOptions> options, ILogger<ModelCatalog> logger)
    {
        var settings = options.Value;
        ManifestPath = Path.GetFullPath(settings.ManifestPath);
        var clock = Stopwatch.StartNew();
        var manifestHasGate = false;
        if (settings.Provider == ExecutionProvider.Cuda)
        {
            var reason = OnnxSessionFactory.CudaUnavailableReason();
            OnCuda = reason is null;
            if (reason is not null)
            {
                logger.LogWarning("CUDA execution provider unavailable ({Reason}); scoring on CPU.", reason);
            }
        }

        try
        {
            var manifest = ModelManifest.Load(ManifestPath);
            manifestHasGate = manifest.Gate is not null;
            Load(manifest, Path.GetDirectoryName(ManifestPath)!, settings);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or System.Text.Json.JsonException or UnauthorizedAccessException)
        {
            problems.Add($"Cannot read the model manifest {ManifestPath}: {ex.Message}");
        }

        LoadTime = clock.Elapsed;
        foreach (var problem in problems)
        {
            logger.LogError("Model catalog problem: {Problem}", problem);
        }

        // Turned off on purpose is worth a warning; a manifest without a gate (a test or custom ensemble) is not.
        if (Gate is null)
        {
            logger.Log(
                manifestHasGate ? LogLevel.Warning : LogLevel.Information,
                "Input gate {GateState}: every decodable image is scored, whatever it shows.",
                GateState);
        }

        logger.LogInformation(
            "Model catalog loaded {Count} models in {Milliseconds:F0} ms on {Provider}; ready: {Ready}",
            byModality.Values.Sum(m => m.Models.Count), LoadTime.TotalMilliseconds, OnCuda ? "CUDA" : "the CPU", IsReady);
    }

    public string ManifestPath { get; }

    public TimeSpan LoadTime { get; }

    /// <summary>Whether the input gate runs ("on"), or why not, for the start-up log and GET /api/models.</summary>
    public string GateState { get; private set; } = "not loaded";

    /// <summary>True when the models run on the CUDA provider: asked for, and its libraries and a GPU found.</summary>
    public bool OnCuda { get; }

    /// <summary>Why the catalog is not ready; empty when every listed model loaded.</summary>
    public IReadOnlyList<string> Problems => problems;

    /// <summary>True only when every model of the manifest loaded and each modality has at least one.</summary>
    public bool IsReady => problems.Count == 0 && ModalityNames.All.All(m => byModality.ContainsKey(m));

    public IEnumerable<OnnxModel> AllModels => byModality.Values.SelectMany(m => m.Models);

    /// <summary>A modality's ensemble rule as the manifest gives it, or null when it has no loaded models.</summary>
    public EnsembleRule? RuleFor(Modality modality) => byModality.TryGetValue(modality, out var models) ? models.Rule : null;

    /// <summary>The input gate every ensemble runs first; null when the manifest has none or it is turned off.</summary>
    public InputGate? Gate { get; private set; }

    /// <summary>The ensemble of a modality, or an exception naming why it cannot score.</summary>
    public ModalityModels For(Modality modality)
    {
        if (!byModality.TryGetValue(modality, out var models) || problems.Count > 0)
        {
            throw new ModelsUnavailableException(
                $"The {modality.ToName()} models are not ready: " +
                (problems.Count > 0 ? string.Join("; ", problems) : $"the manifest lists no {modality.ToName()} models."));
        }

        return models;
    }

    private void Load(ModelManifest manifest, string folder, ModelOptions settings)
    {
        var loaded = new ConcurrentDictionary<(Modality, int), OnnxModel>();
        var work = new List<(Modality Modality, int Index, ModelEntry Entry)>();
        foreach (var (name, modalityManifest) in manifest.Modalities)
        {
            if (!ModalityNames.TryParse(name, out var modality))
            {
                problems.Add($"The manifest names an unknown modality '{name}'.");
                continue;
            }

            if (modalityManifest.Ensemble.Rule != "soft-vote")
            {
                problems.Add($"Modality {name}: unknown ensemble rule '{modalityManifest.Ensemble.Rule}' (only soft-vote).");
            }

            problems.AddRange(modalityManifest.Ensemble.Problems().Select(p => $"Modality {name}: {p}."));
            problems.AddRange((modalityManifest.Series?.Problems() ?? []).Select(p => $"Modality {name}: {p}."));
            problems.AddRange(modalityManifest.Models
                .Where(m => m.Calibration is { Temperature: not (> 0 and < 100) })
                .Select(m => $"Modality {name}: model {m.Name} has temperature {m.Calibration!.Temperature}, outside (0, 100)."));
            problems.AddRange(ModelContract.NameProblems(name, modalityManifest.Models));

            work.AddRange(modalityManifest.Models.Select((entry, index) => (modality, index, entry)));
        }

        var failures = new ConcurrentBag<string>();
        Parallel.ForEach(work, new ParallelOptions { MaxDegreeOfParallelism = 2 }, item =>
        {
            try
            {
                loaded[(item.Modality, item.Index)] = LoadModel(item.Modality, item.Entry, folder, settings);
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException or OnnxRuntimeException or UnauthorizedAccessException)
            {
                failures.Add($"{item.Modality.ToName()}/{item.Entry.Name}: {ex.Message}");
            }
        });
        problems.AddRange(failures.Order(StringComparer.Ordinal));

        Gate = LoadGate(manifest.Gate, folder, settings);
        foreach (var (name, modalityManifest) in manifest.Modalities)
        {
            if (!ModalityNames.TryParse(name, out var modality) || modalityManifest.Models.Count == 0)
            {
                continue;
            }

            var models = Enumerable.Range(0, modalityManifest.Models.Count)
                .Where(i => loaded.ContainsKey((modality, i)))
                .Select(i => loaded[(modality, i)])
                .ToList();
            byModality[modality] = new ModalityModels(modality, modalityManifest.Ensemble, models) { Gate = Gate };
        }
    }

    private InputGate? LoadGate(GateManifest? gate, string folder, ModelOptions settings)
    {
        if (gate is null || !settings.InputGate)
        {
            GateState = gate is null ? "none in the manifest" : "turned off (Models:InputGate = false)";
            return null;
        }

        var gateProblems = InputGate.Problems(gate).ToList();
        if (gateProblems.Count > 0)
        {
            problems.AddRange(gateProblems);
            return null;
        }

        try
        {
            var (session, sha256) = LoadSession(gate.Model, folder, settings);
            try
            {
                var classes = ModelContract.ClassCount(gate.Model, session);
                if (classes > 0 && classes != gate.Classes.Count)
                {
                    throw new InvalidOperationException($"output '{gate.Model.Output.Name}' has {classes} classes, but the manifest names {gate.Classes.Count}.");
                }

                GateState = "on";
                return new InputGate(gate, sha256, session);
            }
            catch
            {
                session.Dispose();
                throw;
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or OnnxRuntimeException or UnauthorizedAccessException)
        {
            problems.Add($"gate/{gate.Model.Name}: {ex.Message}");
            return null;
        }
    }

    private OnnxModel LoadModel(Modality modality, ModelEntry entry, string folder, ModelOptions settings) =>
        OnnxModel.Open(modality, entry, folder, OnnxSessionFactory.CreateOptions(settings, OnCuda));

    private (InferenceSession Session, string Sha256) LoadSession(ModelEntry entry, string folder, ModelOptions settings) =>
        OnnxModel.OpenSession(entry, folder, OnnxSessionFactory.CreateOptions(settings, OnCuda));

    public void Dispose()
    {
        foreach (var model in AllModels)
        {
            model.Dispose();
        }

        Gate?.Dispose();
    }
}

/// <summary>One modality's ensemble: its members and decision rule.</summary>
public sealed record ModalityModels(Modality Modality, EnsembleRule Rule, IReadOnlyList<OnnxModel> Models)
{
    /// <summary>The input gate that scans of this modality pass before the members run; null for none.</summary>
    public InputGate? Gate { get; init; }

    private readonly (List<ModelInputSpec> Inputs, int[] InputOfModel) tensors = ShareTensors(Models);

    /// <summary>The distinct tensors the members need: members whose inputs produce the same tensor share one.</summary>
    public IReadOnlyList<ModelInputSpec> Inputs => tensors.Inputs;

    /// <summary>For each member (same order as <see cref="Models"/>), its index in <see cref="Inputs"/>.</summary>
    public IReadOnlyList<int> InputOfModel => tensors.InputOfModel;

    private static (List<ModelInputSpec>, int[]) ShareTensors(IReadOnlyList<OnnxModel> models)
    {
        var inputs = new List<ModelInputSpec>();
        var inputOfModel = new int[models.Count];
        for (var m = 0; m < models.Count; m++)
        {
            var shared = inputs.FindIndex(spec => spec.ProducesSameTensorAs(models[m].Input));
            if (shared < 0)
            {
                shared = inputs.Count;
                inputs.Add(models[m].Input);
            }

            inputOfModel[m] = shared;
        }

        return (inputs, inputOfModel);
    }
}

/// <summary>Scoring was asked of models that did not load; a host problem, not a problem with the scan.</summary>
public sealed class ModelsUnavailableException : Exception
{
    public ModelsUnavailableException(string message)
        : base(message)
    {
    }

    public ModelsUnavailableException()
    {
    }

    public ModelsUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
