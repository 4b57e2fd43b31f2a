using System.Diagnostics;
using OpenTelemetry;

namespace CovidServerless.ServiceDefaults;

/// <summary>
/// Keeps blob names, which may hold patients' names, out of exported traces. HTTP spans carry their request's URL,
/// and blob URLs, table keys and the results API's paths all contain blob names: client spans keep only the URL's
/// scheme and host, server spans their route's template, and neither keeps the query.
/// </summary>
public sealed class UrlRedaction : BaseProcessor<Activity>
{
    public const string Redacted = "/(redacted)";

    public override void OnEnd(Activity data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.GetTagItem("url.full") is string full)
        {
            data.SetTag("url.full", Uri.TryCreate(full, UriKind.Absolute, out var uri) ? uri.GetLeftPart(UriPartial.Authority) + Redacted : Redacted);
        }

        if (data.GetTagItem("url.path") is string)
        {
            data.SetTag("url.path", data.GetTagItem("http.route") as string ?? Redacted);
        }

        if (data.GetTagItem("url.query") is string)
        {
            data.SetTag("url.query", null);
        }
    }
}
