using CovidServerless.Benchmarks;

namespace CovidServerless.Benchmarks.Tests;

/// <summary>The benchmark's census of storage requests, read from Azurite's access log.</summary>
public sealed class RequestCensusTests
{
    private static string Line(string method, string url) =>
        $"127.0.0.1 - - [26/Nov/2026:04:20:00 +0000] \"{method} /devstoreaccount1/{url} HTTP/1.1\" 201 -";

    [Fact]
    public void Requests_are_counted_per_scan_by_who_made_them()
    {
        string[] log =
        [
            Line("PUT", "chest/a.png"),
            Line("PUT", "ct-scans/b.png"),
            Line("GET", "ct-scans/b.png"),
            Line("GET", "chest?restype=container&comp=list"),
            Line("POST", "scan-results/messages"),
            Line("HEAD", "chest/a.png"),
            "Azurite Blob service is starting on 127.0.0.1:10000",
        ];

        var census = RequestCensus.Count(log, scans: 2);

        Assert.Equal(3.0, census.PerScan);
        Assert.Equal(1.0, census.ByKindPerScan["upload (the client)"]);
        Assert.Equal(0.5, census.ByKindPerScan["pipeline: download"]);
        Assert.Equal(0.5, census.ByKindPerScan["pipeline: container listings (the scan watcher)"]);
        Assert.Equal(0.5, census.ByKindPerScan["pipeline: results message"]);
        Assert.Equal(0.5, census.ByKindPerScan["other (HEAD chest)"]);
    }
}
