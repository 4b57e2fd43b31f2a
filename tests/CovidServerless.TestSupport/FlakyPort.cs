using System.Net;
using System.Net.Sockets;

namespace CovidServerless.TestSupport;

/// <summary>
/// A loopback port in front of another one that drops every connection until <see cref="Forward"/> is called and
/// relays them after: a storage endpoint that is unreachable for a while, for the code that must survive it.
/// </summary>
public sealed class FlakyPort : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource stop = new();
    private readonly int target;
    private readonly Task accepting;
    private volatile bool forwarding;
    private int dropped;

    public FlakyPort(int targetPort)
    {
        target = targetPort;
        listener.Start();
        accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    /// <summary>Connections dropped so far (each is one failed request attempt of the client).</summary>
    public int Dropped => Volatile.Read(ref dropped);

    public void Forward() => forwarding = true;

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listener.Stop();
        await accepting;
        stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await listener.AcceptTcpClientAsync(stop.Token);
                if (forwarding)
                {
                    _ = RelayAsync(client);
                    continue;
                }

                Interlocked.Increment(ref dropped);
                client.Client.LingerState = new LingerOption(true, 0); // a reset, as from a port nobody serves
                client.Dispose();
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using (client)
        using (var upstream = new TcpClient())
        {
            try
            {
                await upstream.ConnectAsync(IPAddress.Loopback, target, stop.Token);
                var downstream = client.GetStream();
                var toTarget = upstream.GetStream();
                await Task.WhenAny(downstream.CopyToAsync(toTarget, stop.Token), toTarget.CopyToAsync(downstream, stop.Token));
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
            {
            }
        }
    }
}
