using System.ComponentModel.DataAnnotations;

namespace CovidServerless.Core.Heatmaps;

/// <summary>Heatmap overlays written by the pipeline. Bound from configuration section "Heatmaps".</summary>
public sealed class HeatmapOptions
{
    public const string SectionName = "Heatmaps";

    /// <summary>
    /// Scoring fetches each model's class-activation map in the same run, and the pipeline stores an overlay of the
    /// ensemble's map per scored scan. Off: neither happens, and results carry no heatmap link.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Longest side of a stored overlay in pixels: the scan is scaled down to it (never up), so a huge scan costs no more to draw.</summary>
    [Range(32, 2048)]
    public int MaxSide { get; set; } = 512;

    /// <summary>Also store each model's own overlay (about one more PNG per model and scan).</summary>
    public bool PerModel { get; set; }

    /// <summary>The blob container the overlays go to, one folder per scan id.</summary>
    [Required]
    [RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$", ErrorMessage = "Heatmaps:Container must be a valid blob container name (3-63 lower-case letters, digits and single hyphens).")]
    public string Container { get; set; } = "heatmaps";
}
