using System.Threading.Channels;
using Azure;
using CovidServerless.Core.Models;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using CovidServerless.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Ingestion;

/// <summary>
/// The local host's blob trigger: lists the scan containers every poll (a large one less often:
/// <see cref="ScanWatchOptions.MaxBlobsListedPerSecond"/>) and hands each blob version it has not seen to the
/// ingestor, once, with retries, ending in a <c>failed</c> result when every attempt failed. It stands in for the
/// Event Grid trigger of the deployed app, which Azurite cannot raise. Comparing whole listings with the versions
/// already seen cannot skip a blob written during a listing (the WebJobs polling trigger can, and on Azurite nothing
/// catches it), and it needs no receipts, leases or internal queue: one download and the result's writes per scan.
/// </summary>
public sealed class ScanWatcher(
    StorageClients clients,
    ResultStore store,
    BlobScanIngestor ingestor,
    ScanProcessor processor,
    IOptions<ScanWatchOptions> options,
    IOptions<ScoringOptions> scoring,
    IOptions<ModelOptions> models,
    TimeProvider time,
    ILogger<ScanWatcher> logger)
{
    private int Concurrency => options.Value.ScansIngestedAtOnce(scoring.Value, models.Value);

    /// <summary>Watches until <paramref name="stoppingToken"/> fires. Scans not finished by then are found again at the next start.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var pending = Channel.CreateUnbounded<PendingScan>();
        var ingesting = Enumerable.Range(0, Concurrency).Select(_ => IngestAsync(pending, stoppingToken)).ToList();
        logger.LogInformation(
            "Watching {Chest} and {Ct} every {PollMilliseconds} ms (at most {MaxBlobsListedPerSecond} blobs listed a second each), {Concurrency} scans at once.",
            ScanContainers.Chest, ScanContainers.Ct, options.Value.PollMilliseconds, options.Value.MaxBlobsListedPerSecond, Concurrency);

        // Each container on a loop of its own: one that cannot be listed (Azurite fails on some blob names, after
        // its client's retries) must not hold up the other's scans.
        await Task.WhenAll(ModalityNames.All.Select(modality => WatchAsync(modality, pending.Writer, stoppingToken))).ConfigureAwait(false);
        pending.Writer.TryComplete();
        await Task.WhenAll(ingesting).ConfigureAwait(false);
    }

    private async Task WatchAsync(Modality modality, ChannelWriter<PendingScan> pending, CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var seen = new Dictionary<string, string>();

        // Until the first complete listing, scans uploaded while the host was down, or whose recording it did not
        // finish, are processed; older ones, and those recorded to the end, are left alone.
        var since = time.GetUtcNow() - TimeSpan.FromHours(settings.LookbackHours);
        var checkingAtStart = true;
        RecordedVersions? recorded = null;
        try
        {
            while (true)
            {
                var began = time.GetTimestamp();

                // A listing that failed is tried again after the poll interval.
                var wait = TimeSpan.FromMilliseconds(settings.PollMilliseconds);
                try
                {
                    // Read once, and kept while listings fail: a scan a partial listing queued is in seen already.
                    if (checkingAtStart)
                    {
                        recorded ??= await store.RecordedSinceAsync(modality, since, stoppingToken).ConfigureAwait(false);
                    }

                    var listed = await ListNewScansAsync(modality, seen, recorded, pending, stoppingToken).ConfigureAwait(false);
                    (checkingAtStart, recorded) = (false, null);
                    wait = settings.WaitAfterListing(listed, time.GetElapsedTime(began));
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested && ex is not OutOfMemoryException)
                {
                    logger.LogWarning(ex, "Listing the {Container} container failed; retrying at the next poll.", ScanContainers.For(modality));
                }

                await Task.Delay(wait, time, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <returns>The blobs listed.</returns>
    private async Task<int> ListNewScansAsync(
        Modality modality,
        Dictionary<string, string> seen,
        RecordedVersions? recorded,
        ChannelWriter<PendingScan> pending,
        CancellationToken cancellationToken)
    {
        var container = clients.Blobs.GetBlobContainerClient(ScanContainers.For(modality));
        var listed = new HashSet<string>();
        var (queued, beforeWindow) = (0, 0);
        try
        {
            await foreach (var blob in container.GetBlobsAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                listed.Add(blob.Name);
                if (blob.Properties.ETag?.ToString() is not { } version
                    || blob.Properties.LastModified is not { } modified
                    || (seen.TryGetValue(blob.Name, out var seenVersion) && seenVersion == version))
                {
                    continue;
                }

                var identity = new ScanIdentity(modality, blob.Name, version, modified);
                var alreadyHandled = recorded?.LeaveAlone(identity) ?? false;
                beforeWindow += recorded is not null && identity.UploadedAt < recorded.Since ? 1 : 0;
                seen[blob.Name] = version;
                if (!alreadyHandled)
                {
                    pending.TryWrite(new PendingScan(identity, Attempt: 1));
                    queued++;
                }
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No container yet: nothing was uploaded to it.
        }

        if (recorded is not null)
        {
            PipelineTelemetry.UncheckedAtStart.Add(beforeWindow, new KeyValuePair<string, object?>("modality", modality.ToName()));
            logger.LogInformation(
                "Start-up check of {Container}: {Queued} scans to process (uploaded while the host was down, or recorded only in part); {Recorded} of the last {Hours} h recorded; {BeforeWindow} uploaded earlier not checked (`covidscan backlog` lists any without a result).",
                ScanContainers.For(modality), queued, recorded.Count, options.Value.LookbackHours, beforeWindow);
        }

        // Deleted blobs (this listing was complete): forget them, so the set holds what the container holds.
        foreach (var gone in seen.Keys.Where(name => !listed.Contains(name)).ToList())
        {
            seen.Remove(gone);
        }

        return listed.Count;
    }

    private async Task IngestAsync(Channel<PendingScan> pending, CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var scan in pending.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                await IngestOnceAsync(scan, pending.Writer, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task IngestOnceAsync(PendingScan scan, ChannelWriter<PendingScan> pending, CancellationToken stoppingToken)
    {
        var identity = scan.Identity;
        var maxAttempts = options.Value.MaxAttempts;
        var attempt = scan.Attempt;
        try
        {
            // Counted in storage before the attempt starts: a scan that kills the host (a native crash, out of memory)
            // is counted too, so it ends as failed after MaxAttempts starts instead of crashing every restart.
            attempt = Math.Max(attempt, await store.CountAttemptAsync(identity, stoppingToken).ConfigureAwait(false));
            if (attempt > maxAttempts)
            {
                logger.LogWarning(
                    "Scan {ScanId} was attempted {Attempts} times without an answer (earlier attempts ended with their host); recording it as failed.",
                    identity.ScanId, attempt - 1);
                await processor.RecordFailedAsync(identity, stoppingToken, DidNotFinish(attempt - 1)).ConfigureAwait(false);
                return;
            }

            var blob = clients.Blobs.GetBlobContainerClient(ScanContainers.For(identity.Modality)).GetBlobClient(identity.BlobName);
            await ingestor.IngestAsync(identity.Modality, blob, stoppingToken).ConfigureAwait(false);
        }
        catch (ScoringUnavailableException ex) when (!stoppingToken.IsCancellationRequested)
        {
            // The scorer cannot take the scan now (the worker is down, hangs or is busy, with no fallback; or the pixel
            // budget stayed full): not the scan's doing, so the attempt is given back and the scan waits for the
            // scorer instead of ending as failed once a long outage has used up its attempts.
            var wait = options.Value.ScorerWaitBefore(scan.ScorerWaits + 1);
            logger.LogWarning(
                "Scan {ScanId} could not be scored now ({Reason}); trying again in {Wait} without counting an attempt.",
                identity.ScanId, ex.Message, wait);
            await GiveBackAttemptAsync(identity, stoppingToken).ConfigureAwait(false);
            _ = RetryLaterAsync(scan with { Attempt = attempt, ScorerWaits = scan.ScorerWaits + 1 }, wait, pending, stoppingToken);
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested && ex is not OutOfMemoryException)
        {
            logger.LogWarning(ex, "Ingesting scan {ScanId} failed (attempt {Attempt} of {MaxAttempts}).", identity.ScanId, attempt, maxAttempts);
            if (attempt < maxAttempts)
            {
                _ = RetryLaterAsync(scan with { Attempt = attempt + 1 }, options.Value.RetryDelayBefore(attempt + 1), pending, stoppingToken);
                return;
            }

            try
            {
                await processor.RecordFailedAsync(identity, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception recordEx) when (!stoppingToken.IsCancellationRequested && recordEx is not OutOfMemoryException)
            {
                // Storage is down: the scan stays without a result until the host restarts and finds it again.
                logger.LogError(recordEx, "Recording scan {ScanId} as failed did not succeed either.", identity.ScanId);
            }
        }
        catch (Exception ex) when (stoppingToken.IsCancellationRequested && ex is not OperationCanceledException and not OutOfMemoryException)
        {
            // A storage error while stopping: the scan has no result, so the next start finds it again.
            logger.LogWarning(ex, "Stopping: scan {ScanId} is left for the next start.", identity.ScanId);
        }
    }

    /// <summary>The reason of a scan whose attempts all ended with their host (or without a failure recorded).</summary>
    public static string DidNotFinish(int attempts) =>
        $"Processing did not finish in {attempts} attempts: the host stopped or crashed during each (this scan may be what crashes it); upload it again to retry.";

    private async Task GiveBackAttemptAsync(ScanIdentity identity, CancellationToken stoppingToken)
    {
        try
        {
            await store.GiveBackAttemptAsync(identity, stoppingToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested && ex is not OutOfMemoryException)
        {
            // Storage is down too: the attempt stays counted, which only brings the scan's end as failed one attempt closer.
            logger.LogWarning(ex, "Giving back an attempt of scan {ScanId} did not succeed.", identity.ScanId);
        }
    }

    private async Task RetryLaterAsync(PendingScan scan, TimeSpan delay, ChannelWriter<PendingScan> pending, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(delay, time, stoppingToken).ConfigureAwait(false);
            pending.TryWrite(scan);
        }
        catch (OperationCanceledException)
        {
            // Stopping: the scan has no result, so the next start finds it again.
        }
    }

    /// <param name="ScorerWaits">Times the scan was put back because the scorer could not take it (not counted as attempts).</param>
    private sealed record PendingScan(ScanIdentity Identity, int Attempt, int ScorerWaits = 0);
}
