using System.Net;
using System.Net.Sockets;
using CovidServerless.DevTools;

namespace CovidServerless.TestSupport;

/// <summary>
/// A loopback port that accepts connections and never answers: a storage endpoint that hangs, so a caller is certain
/// to be inside a request (once <see cref="FirstConnection"/> completes) when the test cancels it.
/// </summary>
public sealed class SilentPort : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly TaskCompletionSource connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<TcpClient> held = [];
    private readonly Task accepting;

    public SilentPort()
    {
        listener.Start();
        accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    /// <summary>Completes when the first client has connected.</summary>
    public Task FirstConnection => connected.Task;

    /// <summary>A storage connection string whose blob, queue and table endpoints are this port.</summary>
    public string StorageConnectionString => Azurite.ConnectionStringFor(Port, Port, Port);

    public async ValueTask DisposeAsync()
    {
        listener.Stop();
        await accepting;
        lock (held)
        {
            held.ForEach(c => c.Dispose());
        }
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await listener.AcceptTcpClientAsync();
                lock (held)
                {
                    held.Add(client);
                }

                connected.TrySetResult();
            }
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
        {
        }
    }
}
