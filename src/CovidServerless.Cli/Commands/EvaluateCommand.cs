using System.CommandLine;
using CovidServerless.Cli.Reports;
using CovidServerless.Core;
using CovidServerless.Core.Evaluation;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;
using Microsoft.Extensions.DependencyInjection;

namespace CovidServerless.Cli.Commands;

/// <summary>
/// <c>covidscan evaluate --modality M --data DIR --out DIR</c>: metrics of every model and the ensemble; where the
/// modality's rule has an abstaining band, also its coverage and the figures of the confident verdicts.
/// </summary>
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
            // Before any scoring: a report folder that cannot be written would otherwise fail only at the very end.
            var outFolder = parse.GetValue(output)!;
            try
            {
                Directory.CreateDirectory(outFolder);
                var probe = Path.Combine(outFolder, $".write-check-{Guid.NewGuid():N}"); // an existing folder may be read-only
                File.WriteAllBytes(probe, []);
                File.Delete(probe);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync($"Cannot write the report to {outFolder}: {ex.Message}");
                return 2;
            }

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
            EvaluationRun run;
            try
            {
                run = await evaluator.RunAsync(ModalityNames.Parse(parse.GetValue(modality)!), folder, progress, cancellationToken);
            }
            catch (DirectoryNotFoundException ex)
            {
                await Console.Error.WriteLineAsync(ex.Message);
                return 2;
            }

            run = run with { Abstain = services.GetRequiredService<ModelCatalog>().RuleFor(run.Modality)?.Abstain };

            // AUC, sensitivity and specificity need both classes; without them metrics.json would hold NaNs.
            var (covid, noncovid) = (run.Labels.Count(l => l), run.Labels.Count(l => !l));
            if (covid == 0 || noncovid == 0)
            {
                await Console.Error.WriteLineAsync(
                    $"Nothing to evaluate: {covid} covid and {noncovid} noncovid images were scored ({run.Rejected.Count} rejected); both classes are needed.");
                return 2;
            }

            var files = EvaluationReport.Write(run, folder, outFolder);
            foreach (var (name, m) in run.Metrics().OrderBy(kv => kv.Key == EvaluationRun.Ensemble))
            {
                Console.WriteLine($"{name,-12} AUC {m.Auc:F3}  accuracy {m.Accuracy:F3}  sensitivity {m.Sensitivity:F3}  specificity {m.Specificity:F3}  ECE {m.Ece:F3}");
            }

            Console.WriteLine($"ensemble ECE {run.Metrics()[EvaluationRun.Ensemble].Ece:F3} (expected calibration error of its pCovid, 10 bins)");
            if (run.Triage() is { } triage)
            {
                Console.WriteLine(
                    $"abstaining band (margin {run.Abstain!.Margin:F3}, max spread {run.Abstain.MaxSpread:F3}): coverage {triage.Coverage:F3} " +
                    $"({triage.Confident} of {triage.Scans} scans confident, {triage.Scans - triage.Confident} indeterminate); on the confident: " +
                    $"accuracy {triage.Accuracy:F3}  sensitivity {triage.Sensitivity:F3}  specificity {triage.Specificity:F3}");
            }

            Console.WriteLine($"input gate rejected {run.GateRejections} of {run.Scans.Count + run.Rejected.Count} images");
            Console.Error.WriteLine("Wrote " + string.Join(", ", files));
            return 0;
        });
        return command;
    }
}
