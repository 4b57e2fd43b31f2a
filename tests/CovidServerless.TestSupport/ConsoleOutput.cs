namespace CovidServerless.TestSupport;

/// <summary>
/// Captures what a run in this process prints. Captures run one at a time, and every test class that prints to the
/// console joins <see cref="Collection"/>, so nothing else writes into a capture.
/// </summary>
public static class ConsoleOutput
{
    public const string Collection = "console";

    private static readonly SemaphoreSlim OneAtATime = new(1, 1);

    /// <summary>Runs <paramref name="run"/> and returns what it returned (an exit code, or a section's figures) and printed.</summary>
    public static async Task<(T Result, string Out, string Error)> CaptureAsync<T>(Func<Task<T>> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        await OneAtATime.WaitAsync();
        var (stdout, stderr) = (Console.Out, Console.Error);
        try
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            Console.SetOut(output);
            Console.SetError(error);
            var result = await run();
            return (result, output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(stdout);
            Console.SetError(stderr);
            OneAtATime.Release();
        }
    }
}
