using CovidServerless.Core.Gate;
using CovidServerless.Core.Heatmaps;
using CovidServerless.Core.Models;

namespace CovidServerless.Core.Scoring;

public static class Verdicts
{
    public const string Covid = "covid";
    public const string NonCovid = "noncovid";

    /// <summary>The ensemble abstains: too close to the threshold, or its members disagree too much. Needs a radiologist.</summary>
    public const string Indeterminate = "indeterminate";

    public static bool IsKnown(string? verdict) => verdict is Covid or NonCovid or Indeterminate;

    public static string For(double pCovid, double threshold) => pCovid >= threshold ? Covid : NonCovid;
}

/// <summary>One model's opinion of one scan.</summary>
public sealed record ModelScore(string Name, string Version, double PCovid, string Verdict)
{
    /// <summary>Where this model's own heatmap overlay is served (Heatmaps:PerModel); null where none was stored.</summary>
    public string? HeatmapUrl { get; init; }
}

/// <summary>
/// The ensemble's answer for one scan: the soft vote (mean calibrated pCovid) of its members against the threshold, or
/// indeterminate inside the rule's abstaining band.
/// </summary>
public sealed record EnsembleScore(Modality Modality, IReadOnlyList<ModelScore> Models, double PCovid, double Threshold, string Verdict)
{
    /// <summary>What the input gate made of the scan before the ensemble ran; null where no gate ran.</summary>
    public GateResult? Gate { get; init; }

    /// <summary>Each member's class-activation map from the scoring run (calibrated pCovid beside it); null where heatmaps are off.</summary>
    public IReadOnlyList<MemberHeatmap>? Heatmaps { get; init; }

    public static EnsembleScore SoftVote(Modality modality, IReadOnlyList<ModelScore> members, double threshold) =>
        SoftVote(modality, members, new EnsembleRule { Threshold = threshold });

    public static EnsembleScore SoftVote(Modality modality, IReadOnlyList<ModelScore> members, EnsembleRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        if (members.Count == 0)
        {
            throw new ArgumentException("An ensemble needs at least one member.", nameof(members));
        }

        var mean = members.Average(m => m.PCovid);
        mean = rule.Calibration?.Apply(mean) ?? mean;
        var spread = members.Max(m => m.PCovid) - members.Min(m => m.PCovid);
        var abstains = rule.Abstain is { } band && (Math.Abs(mean - rule.Threshold) < band.Margin || spread > band.MaxSpread);
        return new EnsembleScore(modality, members, mean, rule.Threshold, abstains ? Verdicts.Indeterminate : Verdicts.For(mean, rule.Threshold));
    }
}
