using Azure;

namespace CovidServerless.Core.Storage;

/// <summary>The local host's background loops over storage (series aggregation, result retention): a round, a wait, again.</summary>
internal static class StorageRounds
{
    /// <summary>
    /// Runs <paramref name="round"/> now and again <paramref name="interval"/> after each, until stopped. A round that
    /// fails because storage is unreachable (an AggregateException once the storage client's own retries ran out) goes
    /// to <paramref name="failed"/> and the next round catches up: escaping would stop the whole local host. Stopping
    /// ends the loop quietly, whether it is waiting or in the middle of a round.
    /// </summary>
    public static async Task RunAsync(
        Func<CancellationToken, Task> round, TimeSpan interval, TimeProvider time, Action<Exception> failed, CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                try
                {
                    await round(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested && ex is RequestFailedException or IOException or TimeoutException or AggregateException)
                {
                    failed(ex);
                }

                await Task.Delay(interval, time, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
