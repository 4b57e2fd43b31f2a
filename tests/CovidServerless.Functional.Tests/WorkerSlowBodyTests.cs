using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using CovidServerless.TestSupport;
using CovidServerless.Worker;

namespace CovidServerless.Functional.Tests;

/// <summary>A client that trickles its body cannot hold a worker connection (and a GPU replica) open.</summary>
public sealed class WorkerSlowBodyTests
{
    [Fact]
    public async Task A_body_sent_at_one_byte_a_second_is_cut_off_by_the_minimum_data_rate()
    {
        using var models = ModelFolder.WithStandardEnsembles();
        await using var worker = WorkerApp.Build([], new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["WorkerAuth:DisabledForLocalDevelopment"] = "true",
            ["Models:ManifestPath"] = models.ManifestPath,
            ["Logging:LogLevel:Default"] = "Warning",
            // Kestrel's own setting: under 100 bytes/s after a 2 s grace period ends the request.
            ["Kestrel:Limits:MinRequestBodyDataRate:BytesPerSecond"] = "100",
            ["Kestrel:Limits:MinRequestBodyDataRate:GracePeriod"] = "00:00:02",
        });
        await worker.StartAsync();
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", new Uri(worker.Urls.Single()).Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("POST /score/chest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n"));
        var clock = Stopwatch.StartNew();

        // One byte a second until the worker answers or drops the connection; 60 s would be a minute-long hold.
        var reply = new byte[4096];
        var read = stream.ReadAsync(reply).AsTask();
        var sent = 0;
        while (!read.IsCompleted && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            try
            {
                await stream.WriteAsync(new byte[] { 0x89 });
                sent++;
            }
            catch (IOException)
            {
                break;
            }

            await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(1)));
        }

        var answer = read.IsCompleted ? Encoding.ASCII.GetString(reply, 0, await read) : "";
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"still connected after {clock.Elapsed.TotalSeconds:F0} s and {sent} bytes");
        Assert.True(answer.Length == 0 || answer.StartsWith("HTTP/1.1 408", StringComparison.Ordinal), answer);
        await worker.StopAsync();
    }
}
