using System.Net;
using Microsoft.Extensions.Configuration;

namespace CovidServerless.ServiceDefaults;

/// <summary>
/// The addresses an ASP.NET Core host will listen on, read from its configuration before it binds (urls,
/// http_ports/https_ports, Kestrel:Endpoints), so that a host can refuse an unsafe combination before any socket opens.
/// </summary>
public static class ListenAddresses
{
    /// <summary>Kestrel's address when nothing is configured.</summary>
    public const string KestrelDefault = "http://localhost:5000";

    public static IReadOnlyList<string> From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var addresses = new List<string>();
        addresses.AddRange(Split(configuration["urls"]));
        addresses.AddRange(Split(configuration["http_ports"]).Select(port => $"http://*:{port}"));
        addresses.AddRange(Split(configuration["https_ports"]).Select(port => $"https://*:{port}"));
        addresses.AddRange(configuration.GetSection("Kestrel:Endpoints").GetChildren()
            .Select(endpoint => endpoint["Url"]).OfType<string>());
        return addresses.Count > 0 ? addresses : [KestrelDefault];
    }

    /// <summary>
    /// True for localhost and loopback IP addresses; false for wildcards (*, +, 0.0.0.0, [::]), names and other
    /// addresses, and for anything that does not parse.
    /// </summary>
    public static bool IsLoopback(string address)
    {
        ArgumentNullException.ThrowIfNull(address);

        // Uri refuses the wildcard hosts Kestrel accepts (http://*:80, http://+:80).
        var withoutScheme = address.Contains("://", StringComparison.Ordinal) ? address[(address.IndexOf("://", StringComparison.Ordinal) + 3)..] : address;
        if (withoutScheme.StartsWith('*') || withoutScheme.StartsWith('+'))
        {
            return false;
        }

        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri))
        {
            return false;
        }

        return uri.IsLoopback && (string.Equals(uri.Host, "localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip)));
    }

    /// <summary>The configured addresses that are not loopback.</summary>
    public static IReadOnlyList<string> NotLoopback(IConfiguration configuration) => From(configuration).Where(a => !IsLoopback(a)).ToList();

    private static string[] Split(string? value) =>
        (value ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
