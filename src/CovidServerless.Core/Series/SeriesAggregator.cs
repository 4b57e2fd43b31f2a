using Azure.Data.Tables;
using CovidServerless.Core.Models;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using CovidServerless.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Series;

/// <summary>
/// Writes a series result for every CT series that has gone quiet (no new slice for
/// <see cref="SeriesOptions.QuietPeriodSeconds"/>): the result row, then its queue message, then the pending mark is
/// cleared. Called by the function app's timer and the local host's loop; a second caller at the same time writes the
/// same result again (upserts, same message content), never a different one. The rule is the one the model
/// manifest states for CT (<see cref="ModalityManifest.Series"/>), read once; without one, no series is completed
/// (the pending marks stay) and each round says why.
/// </summary>
public sealed class SeriesAggregator(
    SeriesStore store, ResultNotifier notifier, IOptions<SeriesOptions> options, IOptions<ModelOptions> models, TimeProvider time, ILogger<SeriesAggregator> logger)
{
    private readonly Lazy<SeriesRuleEntry> rule = new(() => ReadRule(models.Value.ManifestPath));

    /// <summary>Aggregates every quiet series once; returns the results written.</summary>
    public async Task<IReadOnlyList<SeriesResult>> CompleteQuietSeriesAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var topFraction = rule.Value.TopFraction;
        var now = time.GetUtcNow();
        var due = await store.QuietSinceAsync(now - TimeSpan.FromSeconds(settings.QuietPeriodSeconds), cancellationToken).ConfigureAwait(false);
        var written = new List<SeriesResult>();
        foreach (var (uid, _, etag) in due)
        {
            using var activity = PipelineTelemetry.Source.StartActivity("AggregateSeries");
            var seriesId = SeriesStore.SeriesId(uid);
            activity?.SetTag("covidscan.series_id", seriesId);
            var slices = await store.SlicesAsync(uid, cancellationToken).ConfigureAwait(false);
            var result = Aggregate(uid, slices, topFraction, now);
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
    public Task RunAsync(CancellationToken stoppingToken)
    {
        string? reported = null;

        // Stopped mid-round, pending series stay pending for the next start; storage unreachable, the pending rows stay
        // and the next round catches up.
        return StorageRounds.RunAsync(
            async cancellationToken =>
            {
                try
                {
                    await CompleteQuietSeriesAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (InvalidDataException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    // No usable rule in the manifest: the pending rows stay until a host starts with one. Said once
                    // per problem, not every poll.
                    if (ex.Message != reported)
                    {
                        logger.LogError("Series aggregation is off: {Problem}", ex.Message);
                        reported = ex.Message;
                    }
                }
            },
            TimeSpan.FromSeconds(options.Value.PollSeconds),
            time,
            ex => logger.LogWarning("Series aggregation failed this round ({Error}); it is tried again.", ex.GetType().Name),
            stoppingToken);
    }

    /// <summary>The CT series rule the manifest at <paramref name="manifestPath"/> states; throws InvalidDataException where it has none or a bad one.</summary>
    public static SeriesRuleEntry ReadRule(string manifestPath)
    {
        ModelManifest manifest;
        try
        {
            manifest = ModelManifest.Load(manifestPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            throw new InvalidDataException($"the model manifest {Path.GetFullPath(manifestPath)} cannot be read ({ex.GetType().Name}).", ex);
        }

        var entry = manifest.Modalities.GetValueOrDefault(Modality.Ct.ToName())?.Series
            ?? throw new InvalidDataException($"the model manifest {Path.GetFullPath(manifestPath)} states no series rule for ct (modalities.ct.series).");
        if (entry.Problems().ToList() is { Count: > 0 } problems)
        {
            throw new InvalidDataException($"the model manifest's ct series rule: {string.Join("; ", problems)}.");
        }

        return entry;
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
