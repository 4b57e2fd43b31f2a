using System.ComponentModel.DataAnnotations;

namespace CovidServerless.Core.Heatmaps;

/// <summary>Heatmaps: maps stored by the pipeline, overlays drawn on first request. Bound from configuration section "Heatmaps".</summary>
public sealed class HeatmapOptions
{
    public const string SectionName = "Heatmaps";

    /// <summary>
    /// Scoring fetches each model's class-activation map in the same run, and the pipeline stores the maps with the
    /// result and links its overlay. Off: neither happens, and results carry no heatmap link.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Longest side of an overlay in pixels: the scan is scaled down to it (never up), so a huge scan costs no more to draw.</summary>
    [Range(32, 2048)]
    public int MaxSide { get; set; } = 512;

    /// <summary>Also link each model's own overlay (drawn, like the ensemble's, on its first request).</summary>
    public bool PerModel { get; set; }

    /// <summary>The blob container the drawn overlays are kept in, one folder per scan id.</summary>
    [Required]
    [RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$", ErrorMessage = "Heatmaps:Container must be a valid blob container name (3-63 lower-case letters, digits and single hyphens).")]
    public string Container { get; set; } = "heatmaps";
}
