using System.CommandLine;
using System.Text.Json;
using Azure;
using CovidServerless.Core;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Ingestion;
using CovidServerless.Core.Results;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CovidServerless.Cli.Commands;

/// <summary>
/// <c>covidscan backlog [--modality M] [--older-than-hours H] [--requeue]</c>: the uploaded scans that have no result
/// (after an outage longer than the watcher's look-back window, or a lost event), and re-queues them.
/// </summary>
internal static class BacklogCommand
{
    public static Command Create()
    {
        var modality = CommonOptions.Modality();
        modality.Required = false;
        var olderThan = new Option<double>("--older-than-hours")
        {
            Description = "Only scans uploaded at least this long ago (younger ones may still be in processing).",
            DefaultValueFactory = _ => 1,
            Validators = { r => { if (r.GetValueOrDefault<double>() < 0) { r.AddError("--older-than-hours must be 0 or more."); } } },
        };
        var requeue = new Option<bool>("--requeue") { Description = "Write each one's bytes again (a new version), so the pipeline processes it." };
        var command = new Command(
            "backlog",
            "List the scans in storage (AzureWebJobsStorage; default: local Azurite) that have no result, one JSON line each; --requeue processes them again.")
        {
            modality, olderThan, requeue,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var modalities = parse.GetValue(modality) is { } one ? [ModalityNames.Parse(one)] : new[] { Modality.Chest, Modality.Ct };
            using var services = CliServices.Create(storage: true);
            var backlog = services.GetRequiredService<ScanBacklog>();
            var maxBytes = services.GetRequiredService<IOptions<ImageLimitsOptions>>().Value.MaxBytes;
            var (found, requeued) = (0, 0);
            try
            {
                foreach (var m in modalities)
                {
                    foreach (var scan in await backlog.UnansweredAsync(m, TimeSpan.FromHours(parse.GetValue(olderThan)), cancellationToken))
                    {
                        found++;
                        var line = new Dictionary<string, object?>
                        {
                            ["scanId"] = scan.ScanId,
                            ["modality"] = m.ToName(),
                            ["blobName"] = scan.BlobName,
                            ["blobVersion"] = scan.BlobVersion,
                            ["uploadedAt"] = scan.UploadedAt,
                        };
                        if (parse.GetValue(requeue))
                        {
                            var again = await backlog.RequeueAsync(scan, maxBytes, cancellationToken);
                            line["requeuedAs"] = again?.ScanId;
                            requeued += again is null ? 0 : 1;
                        }

                        Console.WriteLine(JsonSerializer.Serialize(line, ScanResult.JsonOptions));
                    }
                }
            }
            catch (Exception ex) when (ex is RequestFailedException or AggregateException && !cancellationToken.IsCancellationRequested)
            {
                await Console.Error.WriteLineAsync($"Cannot reach the scan storage ({ex.Message.Split('\n')[0]}): is ./run.sh running?");
                return 3;
            }

            await Console.Error.WriteLineAsync(parse.GetValue(requeue)
                ? $"{found} scan(s) without a result; {requeued} re-queued as new versions (the others changed or went away since listed)."
                : $"{found} scan(s) without a result{(found > 0 ? "; --requeue processes them again" : string.Empty)}.");
            return 0;
        });
        return command;
    }
}
