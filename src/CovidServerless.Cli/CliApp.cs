using System.CommandLine;
using CovidServerless.Cli.Commands;

namespace CovidServerless.Cli;

public static class CliApp
{
    public static RootCommand Build() =>
        new("covidscan: screen chest X-rays and CT slices for COVID-19 with the CovidServerless ensembles. "
            + "The ./covidscan script also runs the benchmarks: ./covidscan bench --help (benchmarks/README.md).")
        {
            ScoreCommand.Create(),
            UploadCommand.Create(),
            ResultsCommand.Create(),
            EvaluateCommand.Create(),
            BacklogCommand.Create(),
            ReplayPoisonCommand.Create(),
        };

    public static Task<int> RunAsync(string[] args) => Build().Parse(args).InvokeAsync();
}
