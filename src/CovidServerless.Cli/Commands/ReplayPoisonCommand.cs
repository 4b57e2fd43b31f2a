using System.CommandLine;
using System.Text.Json;
using Azure;
using CovidServerless.Core.Ingestion;
using CovidServerless.Core.Results;
using Microsoft.Extensions.DependencyInjection;

namespace CovidServerless.Cli.Commands;

/// <summary>
/// <c>covidscan replay-poison [--move] [--max N] [--dead-letter-container C]</c>: the deliveries nothing retries (the
/// third poison queue and Event Grid dead-letters), listed; with --move handed to RecordFailedScan again, and those
/// moved listed.
/// </summary>
internal static class ReplayPoisonCommand
{
    public static Command Create()
    {
        var move = new Option<bool>("--move")
        {
            Description = $"Move the messages back to {PoisonScanHandler.QueueName} and write the dead-lettered events there as poison messages; lists what it moved.",
        };
        var max = new Option<int>("--max")
        {
            Description = "Move at most this many queue messages.",
            DefaultValueFactory = _ => int.MaxValue,
            Validators = { r => { if (r.GetValueOrDefault<int>() < 1) { r.AddError("--max must be 1 or more."); } } },
        };
        var container = new Option<string>("--dead-letter-container")
        {
            Description = "The blob container Event Grid dead-letters to (infra: eventgrid-deadletter).",
            DefaultValueFactory = _ => StoppedScans.DefaultDeadLetterContainer,
        };
        var command = new Command(
            "replay-poison",
            $"List the deliveries that stopped (queue {StoppedScans.StoppedQueueName} and Event Grid dead-letters) in storage "
            + "(AzureWebJobsStorage; default: local Azurite), one JSON line each; --move replays them, so each scan ends with a final result.")
        {
            move, max, container,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var services = CliServices.Create(storage: true);
            var stopped = services.GetRequiredService<StoppedScans>();
            var deadLetters = parse.GetValue(container)!;
            try
            {
                if (!parse.GetValue(move))
                {
                    var waiting = await stopped.CountStoppedMessagesAsync(cancellationToken);
                    var listed = await stopped.ListAsync(deadLetters, cancellationToken);
                    Print(listed);
                    var events = listed.Count(s => s.Source == StoppedScan.DeadLetter);
                    await Console.Error.WriteLineAsync(
                        $"{waiting} message(s) in {StoppedScans.StoppedQueueName} (at most the first 32 listed), {events} dead-lettered event(s)"
                        + (waiting + events > 0 ? "; --move replays them." : "."));
                    return 0;
                }

                var replayed = await stopped.ReplayAsync(deadLetters, parse.GetValue(max), cancellationToken);
                Print(replayed.Moved);
                await Console.Error.WriteLineAsync(
                    $"{replayed.Messages} message(s) moved to {PoisonScanHandler.QueueName}; {replayed.Events} dead-lettered event(s) from "
                    + $"{replayed.DeadLetterBlobs} blob(s) written there as poison messages"
                    + (replayed.DeadLetterBlobsLeft > 0 ? $"; {replayed.DeadLetterBlobsLeft} dead-letter blob(s) left: too large, not events, or not of a scan container." : "."));
                return 0;
            }
            catch (Exception ex) when (ex is RequestFailedException or AggregateException && !cancellationToken.IsCancellationRequested)
            {
                await Console.Error.WriteLineAsync($"Cannot reach the scan storage ({ex.Message.Split('\n')[0]}): is ./run.sh running?");
                return 3;
            }
        });
        return command;
    }

    /// <summary>One JSON line per delivery: ids, counts and reasons only (blob names are patient data).</summary>
    private static void Print(IEnumerable<StoppedScan> scans)
    {
        foreach (var scan in scans)
        {
            Console.WriteLine(JsonSerializer.Serialize(scan, ScanResult.JsonOptions));
        }
    }
}
