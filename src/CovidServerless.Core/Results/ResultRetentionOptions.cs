using System.ComponentModel.DataAnnotations;

namespace CovidServerless.Core.Results;

/// <summary>How long result rows are kept. Bound from configuration section "Results".</summary>
public sealed class ResultRetentionOptions
{
    public const string SectionName = "Results";

    /// <summary>
    /// Days a result row is kept after it was last written; 0 keeps rows forever. The default matches the storage
    /// lifecycle rule that deletes scans after 30 days (infra's <c>retentionDays</c> sets both).
    /// </summary>
    [Range(0, 36_500)]
    public int RetentionDays { get; set; } = 30;

    /// <summary>How often the local host sweeps (the function app's timer runs daily).</summary>
    [Range(1, 168)]
    public int SweepIntervalHours { get; set; } = 24;

    /// <summary>The time before which a row is expired at <paramref name="now"/>, or null when rows are kept forever.</summary>
    public DateTimeOffset? CutOff(DateTimeOffset now) => RetentionDays == 0 ? null : now - TimeSpan.FromDays(RetentionDays);
}
