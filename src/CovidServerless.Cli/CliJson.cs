using System.Text.Json;
using CovidServerless.Core.Results;

namespace CovidServerless.Cli;

internal static class CliJson
{
    /// <summary>The result contract's camelCase JSON, indented for people.</summary>
    public static JsonSerializerOptions Indented { get; } = new(ScanResult.JsonOptions) { WriteIndented = true };

    public static string Pretty(string json) => JsonSerializer.Serialize(JsonDocument.Parse(json), Indented);
}
