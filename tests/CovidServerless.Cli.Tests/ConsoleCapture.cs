using CovidServerless.TestSupport;

namespace CovidServerless.Cli.Tests;

/// <summary>Runs the CLI in-process and captures what it prints (<see cref="ConsoleOutput"/>).</summary>
internal static class ConsoleCapture
{
    public const string Collection = ConsoleOutput.Collection;

    public static Task<(int Exit, string Out, string Error)> RunAsync(params string[] args) => ConsoleOutput.CaptureAsync(() => CliApp.RunAsync(args));
}
