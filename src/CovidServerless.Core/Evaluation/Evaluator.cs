using CovidServerless.Core.Gate;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;

namespace CovidServerless.Core.Evaluation;

/// <summary>Every model's and the ensemble's pCovid for each labelled scan, through the serving scorer.</summary>
public sealed record EvaluationRun(
    Modality Modality, double Threshold, IReadOnlyList<string> ModelNames, IReadOnlyList<LabelledScan> Scans,
    IReadOnlyDictionary<string, double[]> Scores, IReadOnlyList<(LabelledScan Scan, string Reason)> Rejected)
{
    /// <summary>For each entry of <see cref="Rejected"/> the input gate refused, its figures (same order; null where the decoder refused it).</summary>
    public IReadOnlyList<GateResult?> RejectedByGate { get; init; } = [];

    /// <summary>How many scans the input gate refused.</summary>
    public int GateRejections => RejectedByGate.Count(g => g is not null);

    public const string Ensemble = "ensemble";

    public IReadOnlyList<bool> Labels => [.. Scans.Select(s => s.IsCovid)];

    /// <summary>The ensemble's verdict of each scan (same order as <see cref="Scans"/>), indeterminate inside the abstaining band.</summary>
    public IReadOnlyList<string> Verdicts { get; init; } = [];

    /// <summary>The modality's abstaining band; null when its rule has none (then no scan is indeterminate).</summary>
    public AbstainRule? Abstain { get; init; }

    public IReadOnlyDictionary<string, BinaryMetrics> Metrics() =>
        Scores.ToDictionary(kv => kv.Key, kv => BinaryMetrics.Compute(Labels, kv.Value, Threshold));

    /// <summary>Coverage and the figures of the confident verdicts; null when the rule has no abstaining band.</summary>
    public TriageMetrics? Triage() => Abstain is null ? null : TriageMetrics.Compute(Labels, Verdicts);
}

/// <summary>Scores a labelled folder with the same <see cref="IScanScorer"/> that serves scans.</summary>
public sealed class Evaluator(IScanScorer scorer)
{
    public async Task<EvaluationRun> RunAsync(Modality modality, string folder, IProgress<int>? progress, CancellationToken cancellationToken)
    {
        var all = LabelledFolder.Read(folder);
        var scored = new List<LabelledScan>();
        var rejected = new List<(LabelledScan, string)>();
        var gates = new List<GateResult?>();
        var perModel = new Dictionary<string, List<double>>();
        var verdicts = new List<string>();
        double threshold = 0.5;
        var names = new List<string>();
        foreach (var scan in all)
        {
            EnsembleScore score;
            try
            {
                score = await scorer.ScoreAsync(modality, await File.ReadAllBytesAsync(scan.Path, cancellationToken), cancellationToken);
            }
            catch (ScanRejectedException ex)
            {
                rejected.Add((scan, ex.Message));
                gates.Add((ex as GateRejectedException)?.Gate);
                continue;
            }

            if (names.Count == 0)
            {
                names.AddRange(score.Models.Select(m => m.Name));
                threshold = score.Threshold;
            }

            scored.Add(scan);
            foreach (var model in score.Models)
            {
                Add(perModel, model.Name, model.PCovid);
            }

            Add(perModel, EvaluationRun.Ensemble, score.PCovid);
            verdicts.Add(score.Verdict);
            progress?.Report(scored.Count + rejected.Count);
        }

        return new EvaluationRun(modality, threshold, names, scored, perModel.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()), rejected)
        {
            RejectedByGate = gates,
            Verdicts = verdicts,
        };
    }

    private static void Add(Dictionary<string, List<double>> scores, string name, double value)
    {
        if (!scores.TryGetValue(name, out var list))
        {
            scores[name] = list = [];
        }

        list.Add(value);
    }
}
