using System.Text.RegularExpressions;
using CovidServerless.Core;
using CovidServerless.Core.Storage;

namespace CovidServerless.Benchmarks;

/// <summary>Storage requests per scan during a burst, by who made them, from Azurite's access log.</summary>
public sealed partial record RequestCensus(double PerScan, IReadOnlyDictionary<string, double> ByKindPerScan)
{
    /// <summary>The pipeline's default table and queue names, as the benchmark's host runs with them.</summary>
    private static readonly StorageOptions Names = new();

    public static RequestCensus Count(IReadOnlyCollection<string> accessLog, int scans)
    {
        var kinds = accessLog.Select(line => Request().Match(line)).Where(m => m.Success).Select(m => Kind(m.Groups[1].Value, m.Groups[2].Value))
            .GroupBy(kind => kind).OrderByDescending(g => g.Count())
            .ToDictionary(g => g.Key, g => (double)g.Count() / scans);
        return new RequestCensus(kinds.Values.Sum(), kinds);
    }

    /// <summary>Who made a request, from its method and path (/account/container-or-table/...).</summary>
    private static string Kind(string method, string url)
    {
        var path = url.Split('?')[0];
        var query = url.Contains('?', StringComparison.Ordinal) ? url[(url.IndexOf('?', StringComparison.Ordinal) + 1)..] : "";
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var target = segments.Length > 1 ? segments[1] : "";
        var isScanContainer = ScanContainers.TryGetModality(target, out _);
        var isScanBlob = isScanContainer && segments.Length > 2;
        return (method, target) switch
        {
            ("PUT", _) when isScanBlob => "upload (the client)",
            ("GET", _) when isScanBlob => "pipeline: download",
            ("GET", _) when query.Contains("comp=list", StringComparison.Ordinal) && isScanContainer => "pipeline: container listings (the scan watcher)",
            ("POST", "$batch") => "pipeline: results transaction",
            (_, _) when target.StartsWith(Names.TimelineTable, StringComparison.Ordinal) => "pipeline: timeline row",
            ("POST", _) when target == Names.ResultsQueue => "pipeline: results message",
            ("GET", _) when target == Names.ResultsQueue => "benchmark: reading result messages",
            _ => $"other ({method} {target})",
        };
    }

    public override string ToString() =>
        $"{PerScan:F1} requests per scan: " + string.Join("; ", ByKindPerScan.Select(k => $"{k.Key} {k.Value:F1}"));

    [GeneratedRegex("\"([A-Z]+) (\\S+) HTTP/")]
    private static partial Regex Request();
}
