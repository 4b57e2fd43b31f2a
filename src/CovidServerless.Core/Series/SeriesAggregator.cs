using Azure.Data.Tables;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Series;

/// <summary>
/// Writes a series result for every CT series that has gone quiet (no new slice for
/// <see cref="SeriesOptions.QuietPeriodSeconds"/>): the result row, then its queue message, then the pending mark is
/// cleared. Called by the function app's timer and the local host's loop; a second caller at the same time writes the
/// same result again (upserts, same message content), never a different one.
/// </summary>
public sealed class SeriesAggregator(
    SeriesStore store, ResultNotifier notifier, IOptions<SeriesOptions> options, TimeProvider time, ILogger<SeriesAggregator> logger)
{
    /// <summary>Aggregates every quiet series once; returns the results written.</summary>
    public async Task<IReadOnlyList<SeriesResult>> CompleteQuietSeriesAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        var due = await store.QuietSinceAsync(now - TimeSpan.FromSeconds(settings.QuietPeriodSeconds), cancellationToken).ConfigureAwait(false);
        var written = new List<SeriesResult>();
        foreach (var (uid, _, etag) in due)
        {
            using var activity = PipelineTelemetry.Source.StartActivity("AggregateSeries");
            var seriesId = SeriesStore.SeriesId(uid);
            activity?.SetTag("covidscan.series_id", seriesId);
            var slices = await store.SlicesAsync(uid, cancellationToken).ConfigureAwait(false);
            var result = Aggregate(uid, slices, settings.TopFraction, now);
            await store.SaveResultAsync(result, CancellationToken.None).ConfigureAwait(false);
            await notifier.PublishAsync(result, CancellationToken.None).ConfigureAwait(false);
            await store.ClearPendingAsync(uid, etag, CancellationToken.None).ConfigureAwait(false);
            written.Add(result);
            logger.LogInformation(
                "Series {SeriesId} ({Modality}) {Status} {Verdict} from {SlicesUsed} of {SlicesScored} scored slices ({SlicesRejected} rejected)",
                seriesId, result.Modality, result.Status, result.Verdict, result.SlicesUsed.Count, result.SlicesScored, result.SlicesRejected);
        }

        return written;
    }

    /// <summary>Looks for quiet series every <see cref="SeriesOptions.PollSeconds"/> until stopped (the local host's loop).</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await CompleteQuietSeriesAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested && ex is Azure.RequestFailedException or IOException or TimeoutException or AggregateException)
            {
                // Storage unreachable (an AggregateException once the storage client's own retries ran out): the
                // pending rows stay, so the next round catches up. Escaping here would stop the whole local host.
                logger.LogWarning("Series aggregation failed this round ({Error}); it is tried again.", ex.GetType().Name);
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(options.Value.PollSeconds), time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>The series result for its slice rows (<see cref="SeriesRule"/>).</summary>
    internal static SeriesResult Aggregate(string seriesInstanceUid, IReadOnlyList<TableEntity> slices, double topFraction, DateTimeOffset now)
    {
        var scored = slices
            .Where(s => s.GetString("Status") == ScanStatus.Scored && s.GetDouble("PCovid") is not null)
            .OrderBy(s => s.GetDateTimeOffset("ProcessedAt"))
            .ToList();
        var rejected = slices.Count(s => s.GetString("Status") == ScanStatus.Rejected);
        var lastSliceAt = slices.Max(s => s.GetDateTimeOffset("ProcessedAt")) ?? now;
        var common = new SeriesResult
        {
            SeriesId = SeriesStore.SeriesId(seriesInstanceUid),
            SeriesInstanceUid = seriesInstanceUid,
            StudyInstanceUid = slices.Select(s => s.GetString("StudyInstanceUid")).FirstOrDefault(u => u is not null),
            Modality = Modality.Ct.ToName(),
            Status = ScanStatus.Rejected,
            Rule = SeriesRule.Name,
            TopFraction = topFraction,
            SlicesScored = scored.Count,
            SlicesRejected = rejected,
            LastSliceAt = lastSliceAt,
            ProcessedAt = now,
        };
        if (scored.Count == 0)
        {
            return common with { Reason = $"None of the series' {rejected} slice(s) could be scored (each slice's own result says why)." };
        }

        var (pCovid, used) = SeriesRule.Apply([.. scored.Select(s => s.GetDouble("PCovid")!.Value)], topFraction);

        // Every slice is scored against the CT ensemble's threshold; should the manifest change mid-series, the newest slice's applies.
        var threshold = scored[^1].GetDouble("Threshold") ?? 0.5;
        return common with
        {
            Status = ScanStatus.Scored,
            PCovid = pCovid,
            Threshold = threshold,
            Verdict = Verdicts.For(pCovid, threshold),
            SlicesUsed = [.. used.Select(i => new SeriesSlice(scored[i].GetString("ScanId"), scored[i].GetString("SopInstanceUid"), scored[i].GetDouble("PCovid")!.Value))],
        };
    }
}
