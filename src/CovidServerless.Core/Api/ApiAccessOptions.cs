using System.ComponentModel.DataAnnotations;

namespace CovidServerless.Core.Api;

/// <summary>
/// Who may call the function app's API, checked on every call behind App Service authentication (Easy Auth), which
/// signs callers in and passes them on (<see cref="ApiCaller"/>). Bound from configuration section "ApiAccess".
/// </summary>
public sealed class ApiAccessOptions
{
    public const string SectionName = "ApiAccess";

    /// <summary>The app role a caller needs to read results, scans' images and heatmaps, series, models and health.</summary>
    [Required]
    [MinLength(1)]
    public string ReadRole { get; set; } = "Results.Read";

    /// <summary>The app role a caller needs to upload scans.</summary>
    [Required]
    [MinLength(1)]
    public string UploadRole { get; set; } = "Scans.Upload";

    /// <summary>
    /// Skips the checks and the access log for an app run without Easy Auth in front (Functions Core Tools on a
    /// developer's machine, function keys only). Never set in a deployment: there, callers would not be identified.
    /// </summary>
    public bool DisabledForLocalDevelopment { get; set; }
}
