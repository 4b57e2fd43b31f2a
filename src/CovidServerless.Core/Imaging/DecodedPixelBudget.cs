using CovidServerless.Core.Scoring;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Imaging;

/// <summary>
/// The process-wide cap on decoded pixels in flight (<see cref="ImageLimitsOptions.MaxDecodedPixelsInFlight"/>):
/// <see cref="ScanDecoder"/> reserves an image's pixels, as its header declares them, before it allocates them, and
/// gives them back when the decoded scan is disposed. A caller whose image does not fit waits its turn (first come,
/// first served) for up to <see cref="ImageLimitsOptions.DecodeWaitSeconds"/>, then is refused with
/// <see cref="ScoringUnavailableException"/> (retry later), so that many large scans at once queue instead of
/// exhausting memory.
/// </summary>
public sealed class DecodedPixelBudget
{
    private readonly object gate = new();
    private readonly LinkedList<Waiter> waiters = new();
    private readonly TimeProvider time;
    private long inFlight;
    private long peak;

    public DecodedPixelBudget(IOptions<ImageLimitsOptions> options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Capacity = options.Value.MaxDecodedPixelsInFlight;
        MaxWait = TimeSpan.FromSeconds(options.Value.DecodeWaitSeconds);
        this.time = time ?? TimeProvider.System;
    }

    /// <summary>Decoded pixels (RGBA, 4 bytes each) that may be held at once across the process.</summary>
    public long Capacity { get; }

    /// <summary>How long a caller waits for room before it is refused.</summary>
    public TimeSpan MaxWait { get; }

    /// <summary>Pixels reserved now.</summary>
    public long InFlight
    {
        get
        {
            lock (gate)
            {
                return inFlight;
            }
        }
    }

    /// <summary>The most pixels ever reserved at once in this process.</summary>
    public long Peak
    {
        get
        {
            lock (gate)
            {
                return peak;
            }
        }
    }

    /// <summary>Reserves <paramref name="pixels"/>, waiting up to <see cref="MaxWait"/>; dispose the result to give them back.</summary>
    /// <exception cref="ScanRejectedException">The image alone needs more than the whole budget.</exception>
    /// <exception cref="ScoringUnavailableException">No room came within <see cref="MaxWait"/>.</exception>
    public async ValueTask<IDisposable> ReserveAsync(long pixels, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pixels);
        if (pixels > Capacity)
        {
            throw new ScanRejectedException(
                $"Decoding the image needs room for {pixels:N0} pixels, more than this process decodes at once ({Capacity:N0}); it was not decoded.",
                ScanProblem.TooLarge);
        }

        Waiter waiter;
        lock (gate)
        {
            if (waiters.Count == 0 && inFlight + pixels <= Capacity)
            {
                Take(pixels);
                return new Reservation(this, pixels);
            }

            waiter = new Waiter(pixels);
            waiter.Node = waiters.AddLast(waiter);
        }

        try
        {
            await waiter.Granted.Task.WaitAsync(MaxWait, time, cancellationToken).ConfigureAwait(false);
            return new Reservation(this, pixels);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            lock (gate)
            {
                if (waiter.Node.List is not null)
                {
                    waiters.Remove(waiter.Node);
                    GrantWaiting(); // those behind a large image may fit now
                    if (ex is OperationCanceledException)
                    {
                        throw;
                    }

                    throw new ScoringUnavailableException(
                        "This process is already decoding as many pixels as its memory budget allows (Images:MaxDecodedPixelsInFlight); try again later.",
                        ex);
                }
            }

            // Granted as the wait ended: the pixels are this caller's.
            return new Reservation(this, pixels);
        }
    }

    /// <summary>As <see cref="ReserveAsync"/>, blocking: for single-threaded tools that decode synchronously.</summary>
    public IDisposable Reserve(long pixels)
    {
        var reservation = ReserveAsync(pixels);
        return reservation.IsCompletedSuccessfully ? reservation.Result : reservation.AsTask().GetAwaiter().GetResult();
    }

    private void Take(long pixels)
    {
        inFlight += pixels;
        peak = Math.Max(peak, inFlight);
    }

    private void Release(long pixels)
    {
        lock (gate)
        {
            inFlight -= pixels;
            GrantWaiting();
        }
    }

    private void GrantWaiting()
    {
        while (waiters.First is { } first && inFlight + first.Value.Pixels <= Capacity)
        {
            waiters.RemoveFirst();
            Take(first.Value.Pixels);
            first.Value.Granted.TrySetResult();
        }
    }

    private sealed class Waiter(long pixels)
    {
        public long Pixels { get; } = pixels;

        public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Waiter> Node { get; set; } = null!;
    }

    private sealed class Reservation(DecodedPixelBudget budget, long pixels) : IDisposable
    {
        private int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                budget.Release(pixels);
            }
        }
    }
}
