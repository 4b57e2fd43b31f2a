using System.Diagnostics;
using System.Net;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Scoring;
using CovidServerless.TestSupport;
using CovidServerless.Worker;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace CovidServerless.Functional.Tests;

/// <summary>
/// The worker's memory is bounded however many large scans arrive at once: decoded pixels stay within the budget,
/// and past its bounds the worker answers 503 with Retry-After (the hosts send the scan again later), never crashes.
/// </summary>
[Collection(ProcessMemory.Name)]
public sealed class WorkerBoundedMemoryTests(ITestOutputHelper output) : IDisposable
{
    private const int Side = 2_048;

    /// <summary>
    /// What the process may grow by during the burst besides the decoded pixels: request and response buffers,
    /// thread stacks, tensors, Skia's scratch memory. Measured on the 2-core dev machine: +189 MiB with the budget at
    /// 32 MiB of bitmaps, +665 MiB with the budget lifted (16 images decoding at once).
    /// </summary>
    private const long FixedOverheadBytes = 352L << 20;
    private readonly ModelFolder models = ModelFolder.WithStandardEnsembles();

    public void Dispose() => models.Dispose();

    private WebApplication Worker(params (string Key, string Value)[] settings)
    {
        var overrides = new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0", // bound at start: no other process can take the port in between
            ["WorkerAuth:DisabledForLocalDevelopment"] = "true",
            ["Models:ManifestPath"] = models.ManifestPath,
            ["Logging:LogLevel:Default"] = "Warning",
            ["Images:MaxPixels"] = $"{Side * Side}",
            ["Images:MaxDecodedPixelsInFlight"] = $"{2 * Side * Side}",
        };
        foreach (var (key, value) in settings)
        {
            overrides[key] = value;
        }

        return WorkerApp.Build([], overrides);
    }

    [Fact]
    public async Task Sixty_four_maximum_size_bombs_sent_at_once_are_each_answered_and_decoded_pixels_stay_within_the_budget()
    {
        await using var worker = Worker();
        await worker.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(worker.Urls.Single()), Timeout = TimeSpan.FromMinutes(3) };
        var bomb = TestImages.BlackPngBomb(Side, Side); // a few KB that decode to 16 MiB of RGBA
        var budget = worker.Services.GetRequiredService<DecodedPixelBudget>();

        // Private memory sampled while the burst runs: the bitmaps are native (Skia), outside the GC's heap.
        using var process = Process.GetCurrentProcess();
        var before = process.PrivateMemorySize64;
        var peak = before;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                process.Refresh();
                peak = Math.Max(peak, process.PrivateMemorySize64);
                await Task.Delay(5);
            }
        });

        var answers = await Task.WhenAll(Enumerable.Range(0, 64).Select(async _ =>
        {
            using var content = new ByteArrayContent(bomb);
            using var response = await http.PostAsync(new Uri("/score/chest", UriKind.Relative), content);
            return (response.StatusCode, RetryAfter: response.Headers.RetryAfter?.Delta);
        }));
        await stop.CancelAsync();
        await sampler;

        output.WriteLine($"bomb {bomb.Length:N0} bytes; answers {string.Join(", ", answers.GroupBy(a => a.StatusCode).Select(g => $"{g.Key} x{g.Count()}"))}; " +
            $"decoded pixels at peak {budget.Peak:N0} of {budget.Capacity:N0}; private memory +{(peak - before) / (1 << 20):N0} MiB at peak");
        Assert.All(answers, answer => Assert.True(
            answer.StatusCode is HttpStatusCode.OK or HttpStatusCode.UnprocessableEntity
                || (answer.StatusCode == HttpStatusCode.ServiceUnavailable && answer.RetryAfter > TimeSpan.Zero),
            $"{answer.StatusCode}"));
        Assert.InRange(budget.Peak, Side * Side, budget.Capacity);
        Assert.Equal(0, budget.InFlight);
        Assert.InRange(peak - before, 0, (budget.Capacity * 4) + FixedOverheadBytes);
    }

    [Fact]
    public async Task A_scan_that_finds_the_pixel_budget_full_gets_503_with_retry_after()
    {
        await using var worker = Worker(("Images:DecodeWaitSeconds", "0"));
        await worker.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(worker.Urls.Single()) };
        var budget = worker.Services.GetRequiredService<DecodedPixelBudget>();

        using (budget.Reserve(budget.Capacity))
        {
            using var busy = await http.PostAsync(new Uri("/score/chest", UriKind.Relative), new ByteArrayContent(TestImages.Uniform(120, 100, 100)));

            Assert.Equal(HttpStatusCode.ServiceUnavailable, busy.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(ScoringEndpoints.RetryAfterSeconds), busy.Headers.RetryAfter?.Delta);
            Assert.DoesNotContain("ward", await busy.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using var scored = await http.PostAsync(new Uri("/score/chest", UriKind.Relative), new ByteArrayContent(TestImages.Uniform(120, 100, 100)));
        Assert.Equal(HttpStatusCode.OK, scored.StatusCode);
    }

    [Fact]
    public async Task Past_the_bounded_scoring_queue_a_scan_gets_503_with_retry_after_before_it_is_decoded()
    {
        await using var worker = Worker(("Scoring:MaxQueuedScans", "1"), ("Images:DecodeWaitSeconds", "600"));
        await worker.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(worker.Urls.Single()) };
        var budget = worker.Services.GetRequiredService<DecodedPixelBudget>();
        var scorer = worker.Services.GetRequiredService<BatchingScanScorer>();
        var image = TestImages.Uniform(120, 100, 100);

        Task<HttpResponseMessage> first;
        using (budget.Reserve(budget.Capacity))
        {
            // The first scan is admitted and waits for pixels; the queue (one scan) is then full.
            first = http.PostAsync(new Uri("/score/chest", UriKind.Relative), new ByteArrayContent(image));
            while (scorer.Admitted == 0 && !first.IsCompleted)
            {
                await Task.Delay(10);
            }

            using var refused = await http.PostAsync(new Uri("/score/chest", UriKind.Relative), new ByteArrayContent(image));

            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            Assert.Contains("Scoring:MaxQueuedScans", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using var answered = await first;
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Equal(0, scorer.Admitted);
    }
}

/// <summary>Tests that measure the process's memory run alone, so that no other test's allocations count.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessMemory
{
    public const string Name = "process memory";
}
