namespace CovidServerless.Core.Storage;

/// <summary>Runs an idempotent async set-up step once per process; a failed attempt is retried on the next call.</summary>
internal sealed class OnceAsync
{
    private readonly Lock sync = new();
    private Task? running;

    public Task RunAsync(Func<Task> step)
    {
        lock (sync)
        {
            if (running is null || running.IsFaulted || running.IsCanceled)
            {
                running = step();
            }

            return running;
        }
    }
}
