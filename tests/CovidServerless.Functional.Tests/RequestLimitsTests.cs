using System.Net;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Scoring;
using CovidServerless.LocalHost;
using CovidServerless.TestSupport;
using CovidServerless.Worker;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace CovidServerless.Functional.Tests;

/// <summary>The HTTP hosts rate-limit their callers and cut off requests that run too long; the probes stay exempt.</summary>
public sealed class RequestLimitsTests : IDisposable
{
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
        };
        foreach (var (key, value) in settings)
        {
            overrides[key] = value;
        }

        return WorkerApp.Build([], overrides);
    }

    [Fact]
    public async Task A_worker_caller_past_its_permits_gets_429_with_retry_after_while_the_probes_still_answer()
    {
        await using var worker = Worker(("RequestLimits:PermitsPerClient", "2"), ("RequestLimits:WindowSeconds", "3600"));
        await worker.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(worker.Urls.Single()) };

        var codes = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await http.GetAsync(new Uri("/api/models", UriKind.Relative));
            codes.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero);
            }
        }

        using var live = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
        using var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative));

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], codes);
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (live.StatusCode, ready.StatusCode));
    }

    [Fact]
    public async Task Past_the_worker_s_concurrent_requests_and_their_queue_a_request_gets_429()
    {
        await using var worker = Worker(("RequestLimits:MaxConcurrentRequests", "1"), ("RequestLimits:QueuedRequests", "0"), ("Images:DecodeWaitSeconds", "600"));
        await worker.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(worker.Urls.Single()) };
        var budget = worker.Services.GetRequiredService<DecodedPixelBudget>();
        var scorer = worker.Services.GetRequiredService<BatchingScanScorer>();

        Task<HttpResponseMessage> first;
        using (budget.Reserve(budget.Capacity))
        {
            first = http.PostAsync(new Uri("/score/chest", UriKind.Relative), new ByteArrayContent(TestImages.Uniform(120, 100, 100)));
            while (scorer.Admitted == 0 && !first.IsCompleted)
            {
                await Task.Delay(10);
            }

            using var refused = await http.GetAsync(new Uri("/api/models", UriKind.Relative));

            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
        }

        using var answered = await first;
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
    }

    [Fact]
    public async Task A_worker_request_that_runs_past_the_timeout_is_cancelled_and_answered_504()
    {
        await using var worker = Worker(("RequestLimits:TimeoutSeconds", "1"), ("Images:DecodeWaitSeconds", "600"));
        await worker.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(worker.Urls.Single()), Timeout = TimeSpan.FromSeconds(60) };
        var budget = worker.Services.GetRequiredService<DecodedPixelBudget>();
        var scorer = worker.Services.GetRequiredService<BatchingScanScorer>();

        // The scan waits for room in the decoded-pixel budget, which the test holds for longer than the client waits.
        using (budget.Reserve(budget.Capacity))
        {
            using var response = await http.PostAsync(new Uri("/score/chest", UriKind.Relative), new ByteArrayContent(TestImages.Uniform(120, 100, 100)));

            Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
            Assert.Equal(0, scorer.Admitted); // the cancelled scan left the queue
        }
    }
}

/// <summary>The local host applies the same limits (with Azurite behind it).</summary>
public sealed class LocalHostRequestLimitsTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task A_local_host_caller_past_its_permits_gets_429()
    {
        using var models = ModelFolder.WithStandardEnsembles();
        await using var app = LocalHostApp.Build([], new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["Models:ManifestPath"] = models.ManifestPath,
            ["Logging:LogLevel:Default"] = "Warning",
            ["RequestLimits:PermitsPerClient"] = "1",
            ["RequestLimits:WindowSeconds"] = "3600",
        });
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };

        using var first = await http.GetAsync(new Uri("/api/scans", UriKind.Relative));
        using var second = await http.GetAsync(new Uri("/api/scans", UriKind.Relative));

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.TooManyRequests), (first.StatusCode, second.StatusCode));
        await app.StopAsync();
    }
}
