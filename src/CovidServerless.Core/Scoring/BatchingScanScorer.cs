using System.Runtime.CompilerServices;
using System.Threading.Channels;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Scoring;

/// <summary>
/// Coalesces concurrent requests into batched ONNX runs: the first waiting scan opens a batch, which runs once it
/// is full or <see cref="ScoringOptions.MaxBatchDelayMilliseconds"/> has passed. That is where GPU throughput comes
/// from, and on CPU it amortises per-run overhead. A scan runs at once, alone, when nothing suggests that others will
/// follow it: no scan of its modality arrived within that window before it, and no batch of either modality is being
/// scored (as a batch's results return, its callers send their next scans together; and while a batch is scored the
/// cores or the GPU are busy anyway). Decoding and preprocessing happen on the callers' threads, so a bad scan is
/// rejected at once and never holds up a batch, and the next batch is prepared while one is scored. A scan whose
/// caller's token is cancelled before its batch runs is dropped from the batch unscored.
/// </summary>
public sealed class BatchingScanScorer : IScanScorer, IAsyncDisposable, IDisposable
{
    private readonly EnsembleRunner runner;
    private readonly ScoringOptions options;
    private readonly Dictionary<Modality, Channel<Pending>> queues = [];
    private readonly Dictionary<Modality, StrongBox<long>> lastArrivals = [];
    private readonly TimeProvider time;
    private int batchesInFlight;
    private int admitted;
    private Exception? fault;
    private readonly List<Task> loops = [];

    public BatchingScanScorer(
        EnsembleRunner runner, IOptions<ScoringOptions> options, IOptions<ModelOptions> models, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(runner);
        // Each modality batches on its own, with up to MaxConcurrentScans batches in flight; the runner caps the model
        // runs of all of them together.
        var concurrent = models.Value.MaxConcurrentScans;
        this.runner = runner;
        this.time = time;
        this.options = options.Value;
        Padding = this.options.BatchPadding != BatchPadding.Auto ? this.options.BatchPadding
            : runner.OnCuda ? BatchPadding.MaxBatchSize : BatchPadding.None;
        foreach (var modality in ModalityNames.All)
        {
            var queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = concurrent == 1 });
            queues[modality] = queue;
            lastArrivals[modality] = new StrongBox<long>(long.MinValue);
            for (var loop = 0; loop < concurrent; loop++)
            {
                loops.Add(Task.Run(() => RunBatchesAsync(modality, queue.Reader)));
            }
        }
    }

    /// <summary>How this scorer pads partial batches (<see cref="BatchPadding.Auto"/> resolved for where its models run).</summary>
    public BatchPadding Padding { get; }

    /// <summary>Why this scorer can no longer be trusted to score (out of memory), or null while it is healthy.</summary>
    public Exception? Fault => Volatile.Read(ref fault);

    /// <summary>
    /// Raised after each batched run with its size, before its callers hear back. A subscriber
    /// must not throw: that would fail the batch's callers.
    /// </summary>
    public event Action<Modality, int>? BatchScored;

    /// <summary>Scans admitted now: being prepared, queued or in a batch being scored.</summary>
    public int Admitted => Volatile.Read(ref admitted);

    /// <exception cref="ScoringUnavailableException">
    /// <see cref="ScoringOptions.MaxQueuedScans"/> scans are already in this scorer, or the decoded-pixel budget stayed
    /// full: the caller retries later (the worker answers 503 with Retry-After).
    /// </exception>
    public async Task<EnsembleScore> ScoreAsync(Modality modality, ReadOnlyMemory<byte> image, CancellationToken cancellationToken)
    {
        // Refused before any decoding: past the bound a burst costs this process nothing but the request.
        if (Interlocked.Increment(ref admitted) > options.MaxQueuedScans)
        {
            Interlocked.Decrement(ref admitted);
            throw new ScoringUnavailableException(
                $"The scorer already holds its limit of {options.MaxQueuedScans} scans (Scoring:MaxQueuedScans); try again later.");
        }

        Pending pending;
        try
        {
            var prepared = await runner.PrepareAsync(modality, image, cancellationToken).ConfigureAwait(false);

            // Once queued, the batch loop owns the prepared scan and disposes of it after scoring, even if this caller
            // stops waiting: its tensors must not go back to the pool while a batch may still read them.
            pending = new Pending(
                prepared,
                new TaskCompletionSource<EnsembleScore>(TaskCreationOptions.RunContinuationsAsynchronously),
                ArrivesAfterQuietSpell(modality),
                cancellationToken);
            if (!queues[modality].Writer.TryWrite(pending))
            {
                prepared.Dispose();
                throw new ObjectDisposedException(nameof(BatchingScanScorer));
            }
        }
        catch
        {
            Interlocked.Decrement(ref admitted);
            throw;
        }

        return await pending.Result.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task RunBatchesAsync(Modality modality, ChannelReader<Pending> reader)
    {
        var batch = new List<Pending>(options.MaxBatchSize);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            using (var window = new CancellationTokenSource(Window, time))
            {
                while (batch.Count < options.MaxBatchSize)
                {
                    if (reader.TryRead(out var next))
                    {
                        batch.Add(next);
                        continue;
                    }

                    if (batch.Count == 0 || RunsAlone(batch) || window.IsCancellationRequested || !await WaitAsync(reader, window.Token).ConfigureAwait(false))
                    {
                        break;
                    }
                }
            }

            // A caller that left before its batch ran (the worker's client gave up or disconnected) is not scored: on a
            // busy worker its share of the run would only delay the callers still waiting.
            DropAbandoned(batch);
            if (batch.Count > 0)
            {
                await ScoreAsync(modality, batch).ConfigureAwait(false);
            }
        }
    }

    private void DropAbandoned(List<Pending> batch)
    {
        var abandoned = batch.RemoveAll(p =>
        {
            if (!p.CallerLeft.IsCancellationRequested)
            {
                return false;
            }

            p.Scan.Dispose();
            p.Result.TrySetCanceled(p.CallerLeft);
            return true;
        });
        Interlocked.Add(ref admitted, -abandoned);
    }

    private TimeSpan Window => TimeSpan.FromMilliseconds(options.MaxBatchDelayMilliseconds);

    private bool RunsAlone(List<Pending> batch) => batch is [{ AfterQuietSpell: true }] && Volatile.Read(ref batchesInFlight) == 0;

    /// <summary>
    /// Records a scan's arrival (<see cref="TimeProvider"/> ticks); true when its modality had been quiet for at least
    /// a batch window.
    /// </summary>
    private bool ArrivesAfterQuietSpell(Modality modality)
    {
        var now = time.GetTimestamp();
        var previous = Interlocked.Exchange(ref lastArrivals[modality].Value, now);
        return previous == long.MinValue || time.GetElapsedTime(previous, now) >= Window;
    }

    private static async Task<bool> WaitAsync(ChannelReader<Pending> reader, CancellationToken window)
    {
        try
        {
            return await reader.WaitToReadAsync(window).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task ScoreAsync(Modality modality, List<Pending> batch)
    {
        IReadOnlyList<EnsembleScore>? scores = null;
        Exception? failure = null;
        try
        {
            var scans = batch.Select(p => p.Scan).ToList();
            var ensemble = runner.For(modality);
            var runSize = PaddedSize(scans.Count, options.MaxBatchSize, Padding, fixedBatchesOnly: ensemble.Models.All(m => m.FixedBatch is not null));
            while (scans.Count < runSize)
            {
                scans.Add(scans[^1]);
            }

            Interlocked.Increment(ref batchesInFlight);
            try
            {
                scores = await runner.ScoreAsync(scans).ConfigureAwait(false);
                PipelineTelemetry.BatchSize.Record(batch.Count, new KeyValuePair<string, object?>("modality", modality.ToName()));
                BatchScored?.Invoke(modality, batch.Count);
            }
            finally
            {
                // Before the callers hear back, so that what they send next finds this batch ended.
                Interlocked.Decrement(ref batchesInFlight);
            }
        }
        catch (Exception ex)
        {
            // Out of memory leaves this process unfit to score: its callers hear so, and readiness turns unhealthy
            // (BatchingScorerHealthCheck) so that the platform replaces it, rather than the loop ending in silence.
            if (ex is OutOfMemoryException)
            {
                Interlocked.CompareExchange(ref fault, ex, null);
            }

            failure = ex;
        }
        finally
        {
            // Also before the callers hear back: their tensors are back in the pool and their places in the queue free.
            batch.ForEach(p => p.Scan.Dispose());
            Interlocked.Add(ref admitted, -batch.Count);
        }

        for (var i = 0; i < batch.Count; i++)
        {
            _ = failure is null ? batch[i].Result.TrySetResult(scores![i]) : batch[i].Result.TrySetException(failure);
        }
    }

    /// <summary>
    /// How many scans a batch of <paramref name="count"/> runs as, padding included. Padding keeps a dynamic-batch
    /// model's input shape from changing between runs (slow on CUDA); an ensemble whose models all have a fixed batch
    /// size never changes shape, and padding would only add runs of it. (In a mixed ensemble its fixed-batch members
    /// also run the padding.)
    /// </summary>
    public static int PaddedSize(int count, int maxBatchSize, BatchPadding padding, bool fixedBatchesOnly = false) =>
        padding == BatchPadding.MaxBatchSize && !fixedBatchesOnly ? Math.Max(count, maxBatchSize) : count;

    /// <summary>For containers disposed synchronously: finishes the queued batches, then stops.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        foreach (var queue in queues.Values)
        {
            queue.Writer.TryComplete();
        }

        await Task.WhenAll(loops).ConfigureAwait(false);
    }

    private sealed record Pending(PreparedScan Scan, TaskCompletionSource<EnsembleScore> Result, bool AfterQuietSpell, CancellationToken CallerLeft);
}
