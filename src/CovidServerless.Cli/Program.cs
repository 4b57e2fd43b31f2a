using System.CommandLine;
using CovidServerless.Cli.Commands;

var root = new RootCommand("covidscan: screen chest X-rays and CT slices for COVID-19 with the CovidServerless ensembles.")
{
    ScoreCommand.Create(),
    UploadCommand.Create(),
    ResultsCommand.Create(),
    EvaluateCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
