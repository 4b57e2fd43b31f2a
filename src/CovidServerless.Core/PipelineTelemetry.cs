using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace CovidServerless.Core;

/// <summary>The pipeline's own metrics and traces (meter and activity source "CovidServerless.Pipeline").</summary>
public static class PipelineTelemetry
{
    public const string Name = "CovidServerless.Pipeline";

    public static readonly ActivitySource Source = new(Name);

    private static readonly Meter Meter = new(Name);

    /// <summary>Scans that ended with a result, by modality and status (scored, rejected, failed).</summary>
    public static readonly Counter<long> Scans = Meter.CreateCounter<long>("covidscan.scans", unit: "{scan}", description: "Scans that ended with a result.");

    /// <summary>Time to score one scan (decode, preprocess, every model, vote).</summary>
    public static readonly Histogram<double> ScoringDuration = Meter.CreateHistogram<double>("covidscan.scoring.duration", unit: "s", description: "Time to score one scan.");
}
