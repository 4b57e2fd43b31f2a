using System.Text.Encodings.Web;
using System.Text.Json;
using CovidServerless.Core.Results;

namespace CovidServerless.Cli;

internal static class CliJson
{
    /// <summary>
    /// The result contract's camelCase JSON, indented for people, on a terminal rather than in HTML, so that '+' in
    /// timestamps and quotes in messages print as themselves instead of \u002B and \u0027.
    /// </summary>
    public static JsonSerializerOptions Indented { get; } = new(ScanResult.JsonOptions) { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The body indented when it is JSON; as it came otherwise (an empty 401, a proxy's error page).</summary>
    public static string Pretty(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return JsonSerializer.Serialize(document, Indented);
        }
        catch (JsonException)
        {
            return body;
        }
    }
}
