using System.ComponentModel.DataAnnotations;

namespace CovidServerless.Core.Series;

/// <summary>How CT slices of one series are aggregated into a series result. Bound from configuration section "Series".</summary>
public sealed class SeriesOptions
{
    public const string SectionName = "Series";

    /// <summary>
    /// A series is taken as complete once no new slice of it has been recorded for this long (DICOM gives no reliable
    /// slice count, and PACS exports send a series' slices back to back). A slice arriving later re-opens the series:
    /// its result is written again, over more slices, after another quiet period.
    /// </summary>
    [Range(1, 86_400)]
    public int QuietPeriodSeconds { get; set; } = 120;

    /// <summary>How often the local host looks for series that have gone quiet (the function app's timer runs every minute).</summary>
    [Range(1, 3_600)]
    public int PollSeconds { get; set; } = 15;
}
