using System.CommandLine;
using CovidServerless.Core;

namespace CovidServerless.Cli;

internal static class CommonOptions
{
    public static Option<string> Modality() => new("--modality", "-m")
    {
        Description = "chest or ct",
        Required = true,
        Validators =
        {
            result =>
            {
                if (!ModalityNames.TryParse(result.GetValueOrDefault<string>(), out _))
                {
                    result.AddError("--modality must be chest or ct.");
                }
            },
        },
    };

    public static Option<string?> Models() => new("--models")
    {
        Description = "Path of the model manifest (default: models/manifest.json, or Models__ManifestPath).",
    };

    public static Option<string> Api() => new("--api")
    {
        Description = "Base URL of the running pipeline's HTTP API (COVIDSCAN_API sets the default).",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("COVIDSCAN_API") ?? "http://127.0.0.1:7071",
        Validators =
        {
            result =>
            {
                var value = result.GetValueOrDefault<string>();
                if (!Uri.TryCreate(value, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
                {
                    result.AddError($"--api must be an http:// or https:// URL, e.g. http://127.0.0.1:7071 (got '{value}').");
                }
            },
        },
    };
}
