using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace CovidServerless.Core.Models;

/// <summary>models/manifest.json: per modality, the ensemble rule and its member models.</summary>
public sealed record ModelManifest
{
    public int SchemaVersion { get; init; } = 1;

    public Dictionary<string, ModalityManifest> Modalities { get; init; } = [];

    /// <summary>The input gate that runs before every ensemble; none in a manifest without it.</summary>
    public GateManifest? Gate { get; init; }

    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.Web)
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        WriteIndented = true,
    };

    public static ModelManifest Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Model manifest not found: {Path.GetFullPath(path)}", path);
        }

        using var stream = File.OpenRead(path);
        return JsonSerializer.Deserialize<ModelManifest>(stream, JsonOptions)
            ?? throw new InvalidDataException($"Model manifest {path} is empty.");
    }
}

public sealed record ModalityManifest
{
    public EnsembleRule Ensemble { get; init; } = new();

    public List<ModelEntry> Models { get; init; } = [];

    /// <summary>How a CT series' slices are aggregated into a series result (<see cref="Series.SeriesRule"/>); CT only.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public SeriesRuleEntry? Series { get; init; }
}

/// <summary>A series rule as the manifest states it: <see cref="Rule"/> "mean-of-top-k" over the top <see cref="TopFraction"/> of slices.</summary>
public sealed record SeriesRuleEntry
{
    public string Rule { get; init; } = Series.SeriesRule.Name;

    [System.ComponentModel.DataAnnotations.Range(0.01, 1.0)]
    public double TopFraction { get; init; }

    /// <summary>Why this rule, in words.</summary>
    public string? Rationale { get; init; }

    /// <summary>What is wrong with the rule, if anything.</summary>
    public IEnumerable<string> Problems()
    {
        if (Rule != Series.SeriesRule.Name)
        {
            yield return $"unknown series rule '{Rule}' (only {Series.SeriesRule.Name})";
        }

        if (TopFraction is not (>= 0.01 and <= 1.0))
        {
            yield return $"series topFraction {TopFraction} is outside [0.01, 1]";
        }
    }
}

/// <summary>
/// The input gate: a classifier of what an image is (<see cref="Classes"/>, e.g. chest / ct / other) and, per
/// modality, the least probability of that modality's class a scan needs to be scored. Images flatter than
/// <see cref="MinLumaStd"/> are refused as empty whatever the classifier says.
/// </summary>
public sealed record GateManifest
{
    /// <summary>The classifier: input as for the ensemble members; output "probabilities" over <see cref="Classes"/>.</summary>
    public required ModelEntry Model { get; init; }

    /// <summary>What each output index means; every modality's name must be one of them.</summary>
    public List<string> Classes { get; init; } = [];

    /// <summary>Per modality: scans whose probability of that class is below this are rejected.</summary>
    public Dictionary<string, double> Thresholds { get; init; } = [];

    /// <summary>Standard deviation of the luma (0..1) over the gate's thumbnail below which an image has no content.</summary>
    public double MinLumaStd { get; init; }

    /// <summary>How the thresholds were chosen, with the figures.</summary>
    public string? Rationale { get; init; }
}

public sealed record EnsembleRule
{
    /// <summary>Only "soft-vote" (mean of the members' calibrated pCovid, then <see cref="Calibration"/>) is defined.</summary>
    public string Rule { get; init; } = "soft-vote";

    public double Threshold { get; init; } = 0.5;

    public string? ThresholdRationale { get; init; }

    /// <summary>Applied to the mean of the members' pCovid; the threshold and the band apply to the result. None when absent.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ModelCalibration? Calibration { get; init; }

    /// <summary>
    /// The threshold on a member's calibrated pCovid that corresponds to <see cref="Threshold"/>: the threshold taken
    /// back through the vote's own <see cref="Calibration"/>, so members that all give the same pCovid each get the
    /// ensemble's binary verdict. Members' verdicts use it; the ensemble's threshold is on the calibrated vote's scale.
    /// </summary>
    [JsonIgnore]
    public double MemberThreshold => Calibration?.Invert(Threshold) ?? Threshold;

    /// <summary>The sensitivity the threshold was chosen for (out of fold), when it was chosen that way.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? TargetSensitivity { get; init; }

    /// <summary>When the ensemble abstains ("indeterminate"); never, when absent.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public AbstainRule? Abstain { get; init; }

    /// <summary>Problems with the rule's numbers; empty when it can be used.</summary>
    public IEnumerable<string> Problems()
    {
        if (Threshold is not (> 0 and < 1))
        {
            yield return $"threshold {Threshold} is not inside (0, 1)";
        }

        if (Calibration is { Temperature: not (> 0 and < 100) })
        {
            yield return $"ensemble temperature {Calibration.Temperature} is outside (0, 100)";
        }

        if (Abstain is { } abstain && (abstain.Margin is < 0 or >= 0.5 || abstain.MaxSpread is <= 0 or > 1))
        {
            yield return $"abstain rule needs margin in [0, 0.5) and maxSpread in (0, 1], got {abstain.Margin} and {abstain.MaxSpread}";
        }
    }
}

/// <summary>
/// The abstaining band of triage: the verdict is "indeterminate" (needs a radiologist) when the ensemble's probability
/// is within <see cref="Margin"/> of the threshold, or when its members' probabilities span more than <see cref="MaxSpread"/>.
/// </summary>
public sealed record AbstainRule
{
    public double Margin { get; init; }

    /// <summary>Largest allowed max - min of the members' calibrated pCovid; 1 never abstains for disagreement.</summary>
    public double MaxSpread { get; init; } = 1;

    public string? Rationale { get; init; }
}

/// <summary>
/// Platt scaling of a member: its pCovid becomes sigmoid(logit(pCovid) / T + B), so that members' probabilities are
/// comparable and match observed rates. T undoes over- or under-confidence; B undoes the prior a class-balanced loss
/// builds in (it trains as if half the scans were COVID).
/// </summary>
public sealed record ModelCalibration
{
    // A float32 softmax saturates at 1; this bounds the logit it stands for.
    private const double Epsilon = 1e-7;

    public double Temperature { get; init; } = 1;

    public double Bias { get; init; }

    public string? Rationale { get; init; }

    public double Apply(double pCovid)
    {
        var p = Math.Clamp(pCovid, Epsilon, 1 - Epsilon);
        return 1 / (1 + Math.Exp(-((Math.Log(p / (1 - p)) / Temperature) + Bias)));
    }

    /// <summary>The pCovid that <see cref="Apply"/> maps to <paramref name="calibrated"/>.</summary>
    public double Invert(double calibrated)
    {
        var c = Math.Clamp(calibrated, Epsilon, 1 - Epsilon);
        return 1 / (1 + Math.Exp(-((Math.Log(c / (1 - c)) - Bias) * Temperature)));
    }
}

public sealed record ModelEntry
{
    public required string Name { get; init; }

    public string? Architecture { get; init; }

    public string Version { get; init; } = "0";

    /// <summary>Path of the ONNX file, relative to the manifest's folder.</summary>
    public required string File { get; init; }

    /// <summary>Lowercase hex SHA-256 of the file; the model is refused when it differs.</summary>
    public string? Sha256 { get; init; }

    public ModelInputSpec Input { get; init; } = new();

    public ModelOutputSpec Output { get; init; } = new();

    /// <summary>Applied to the member's pCovid before the vote; none (temperature 1) when absent.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ModelCalibration? Calibration { get; init; }

    /// <summary>Free-form provenance: data fingerprint, recipe, seed.</summary>
    public JsonObject? Training { get; init; }

    /// <summary>Free-form validation figures recorded when the model was made.</summary>
    public JsonObject? Validation { get; init; }
}

public enum OutputKind
{
    /// <summary>The output already holds class probabilities (softmax applied inside the model).</summary>
    Probabilities,

    /// <summary>The output holds logits; the scorer applies softmax.</summary>
    Logits,
}

public sealed record ModelOutputSpec
{
    public string Name { get; init; } = "probabilities";

    /// <summary>Which output index means COVID (0 in the seed's alphabetically-labelled models).</summary>
    public int CovidIndex { get; init; }

    [JsonConverter(typeof(OutputKindConverter))]
    public OutputKind Kind { get; init; } = OutputKind.Probabilities;

    /// <summary>
    /// Optional second output with the class-activation map [N, h, w]: per location, its contribution to the COVID logit
    /// minus the non-COVID logit (positive = toward COVID). Null when the model has none; scoring never reads it.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Heatmap { get; init; }
}

/// <summary>Writes output kinds as the manifest contract spells them ("probabilities", "logits"); reads any case.</summary>
public sealed class OutputKindConverter() : JsonStringEnumConverter<OutputKind>(JsonNamingPolicy.CamelCase);
