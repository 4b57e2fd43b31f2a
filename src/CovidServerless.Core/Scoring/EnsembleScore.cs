using CovidServerless.Core.Gate;

namespace CovidServerless.Core.Scoring;

public static class Verdicts
{
    public const string Covid = "covid";
    public const string NonCovid = "noncovid";

    public static string For(double pCovid, double threshold) => pCovid >= threshold ? Covid : NonCovid;
}

/// <summary>One model's opinion of one scan.</summary>
public sealed record ModelScore(string Name, string Version, double PCovid, string Verdict);

/// <summary>The ensemble's answer for one scan: the soft vote (mean pCovid) of its members against the threshold.</summary>
public sealed record EnsembleScore(Modality Modality, IReadOnlyList<ModelScore> Models, double PCovid, double Threshold, string Verdict)
{
    /// <summary>What the input gate made of the scan before the ensemble ran; null where no gate ran.</summary>
    public GateResult? Gate { get; init; }

    public static EnsembleScore SoftVote(Modality modality, IReadOnlyList<ModelScore> members, double threshold)
    {
        if (members.Count == 0)
        {
            throw new ArgumentException("An ensemble needs at least one member.", nameof(members));
        }

        var mean = members.Average(m => m.PCovid);
        return new EnsembleScore(modality, members, mean, threshold, Verdicts.For(mean, threshold));
    }
}
