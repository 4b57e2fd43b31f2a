using System.Text.Json;

namespace CovidServerless.Core.Series;

/// <summary>One slice the series rule used.</summary>
public sealed record SeriesSlice(string ScanId, string? SopInstanceUid, double PCovid);

/// <summary>
/// The verdict for one CT series (all slices recorded with its SeriesInstanceUID), written once the series has gone
/// quiet: the HTTP body of GET /api/series/{seriesInstanceUid} and a results-queue message with <c>kind: "series"</c>.
/// </summary>
public sealed record SeriesResult
{
    public const string KindName = "series";

    /// <summary>Always "series", so queue consumers tell series results from scan results ("scan").</summary>
    public string Kind { get; init; } = KindName;

    /// <summary>A hash of the series UID: what logs and traces name (a UID may embed a date).</summary>
    public required string SeriesId { get; init; }

    public required string SeriesInstanceUid { get; init; }

    public string? StudyInstanceUid { get; init; }

    public required string Modality { get; init; }

    /// <summary>"scored" when at least one slice was scored, else "rejected" (<see cref="Reason"/> says why).</summary>
    public required string Status { get; init; }

    public string? Reason { get; init; }

    public string? Verdict { get; init; }

    public double? PCovid { get; init; }

    public double? Threshold { get; init; }

    /// <summary>The rule that made <see cref="PCovid"/> from the slices' pCovid: "mean-of-top-k".</summary>
    public required string Rule { get; init; }

    public double TopFraction { get; init; }

    /// <summary>The slices the rule averaged (its k), highest pCovid first.</summary>
    public IReadOnlyList<SeriesSlice> SlicesUsed { get; init; } = [];

    public int SlicesScored { get; init; }

    /// <summary>Slices recorded as rejected (not a lung CT, unreadable): no score, no part in the verdict.</summary>
    public int SlicesRejected { get; init; }

    /// <summary>When the last slice taken into account was recorded; the quiet period runs from here.</summary>
    public DateTimeOffset LastSliceAt { get; init; }

    public DateTimeOffset ProcessedAt { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, Results.ScanResult.JsonOptions);

    public static SeriesResult FromJson(string json) =>
        JsonSerializer.Deserialize<SeriesResult>(json, Results.ScanResult.JsonOptions) ?? throw new JsonException("Empty series result.");
}
