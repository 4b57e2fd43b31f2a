using System.CommandLine;
using CovidServerless.Cli.Reports;
using CovidServerless.Core;
using CovidServerless.Core.Evaluation;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;
using Microsoft.Extensions.DependencyInjection;

namespace CovidServerless.Cli.Commands;

/// <summary><c>covidscan evaluate --modality M --data DIR --out DIR</c>: metrics of every model and the ensemble.</summary>
internal static class EvaluateCommand
{
    public static Command Create()
    {
        var modality = CommonOptions.Modality();
        var data = new Option<string>("--data") { Description = "Folder with covid/ and noncovid/ subfolders of images.", Required = true };
        var output = new Option<string>("--out") { Description = "Folder for metrics.json, report.md and PNG plots.", Required = true };
        var models = CommonOptions.Models();
        var command = new Command("evaluate", "Evaluate the ensemble and each model on a labelled folder, through the serving scorer.")
        {
            modality, data, output, models,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var services = CliServices.Create(parse.GetValue(models));
            if (!await CliServices.ModelsReadyAsync(services, ModalityNames.Parse(parse.GetValue(modality)!)))
            {
                return 2;
            }

            var folder = parse.GetValue(data)!;
            var evaluator = new Evaluator(services.GetRequiredService<IScanScorer>());
            var progress = new Progress<int>(n =>
            {
                if (n % 25 == 0)
                {
                    Console.Error.WriteLine($"  scored {n} images");
                }
            });
            var run = await evaluator.RunAsync(ModalityNames.Parse(parse.GetValue(modality)!), folder, progress, cancellationToken);
            var files = EvaluationReport.Write(run, folder, parse.GetValue(output)!);
            foreach (var (name, m) in run.Metrics().OrderBy(kv => kv.Key == EvaluationRun.Ensemble))
            {
                Console.WriteLine($"{name,-12} AUC {m.Auc:F3}  accuracy {m.Accuracy:F3}  sensitivity {m.Sensitivity:F3}  specificity {m.Specificity:F3}  ECE {m.Ece:F3}");
            }

            Console.Error.WriteLine("Wrote " + string.Join(", ", files));
            return 0;
        });
        return command;
    }
}
