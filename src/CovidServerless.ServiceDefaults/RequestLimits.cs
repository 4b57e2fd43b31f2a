using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CovidServerless.ServiceDefaults;

/// <summary>
/// How much work the HTTP hosts (the worker, the local host) take on at once. Bound from configuration section
/// "RequestLimits". The health probes are exempt, so that a busy host is not taken for a dead one.
/// </summary>
public sealed class RequestLimitsOptions
{
    public const string SectionName = "RequestLimits";

    /// <summary>Requests handled at once across all callers; each may buffer a scan (up to Images:MaxBytes).</summary>
    [Range(1, 100_000)]
    public int MaxConcurrentRequests { get; set; } = 256;

    /// <summary>Requests that wait for a place among <see cref="MaxConcurrentRequests"/>; beyond them a request gets 429.</summary>
    [Range(0, 100_000)]
    public int QueuedRequests { get; set; } = 256;

    /// <summary>
    /// Requests one client address may make per <see cref="WindowSeconds"/>; 0 for no per-client limit (the default:
    /// the worker's one caller, the function app, sends bursts of hundreds of scans a second).
    /// </summary>
    [Range(0, int.MaxValue)]
    public int PermitsPerClient { get; set; }

    [Range(1, 86_400)]
    public int WindowSeconds { get; set; } = 60;

    /// <summary>
    /// Longest a request may run before it is cancelled and answered 504 (a scan waiting for room in the decoded-pixel
    /// budget, a slow storage call). Slow request bodies are cut off sooner by Kestrel's minimum data rate.
    /// </summary>
    [Range(1, 3_600)]
    public int TimeoutSeconds { get; set; } = 120;
}

/// <summary>ASP.NET Core's rate limiter and request timeouts with <see cref="RequestLimitsOptions"/>.</summary>
public static class RequestLimits
{
    private static readonly string[] Probes = ["/healthz", "/readyz"];

    public static IServiceCollection AddRequestLimits(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RequestLimitsOptions>().Bind(configuration.GetSection(RequestLimitsOptions.SectionName))
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddRequestTimeouts();
        services.AddOptions<RequestTimeoutOptions>().Configure<IOptions<RequestLimitsOptions>>((timeouts, limits) =>
            timeouts.DefaultPolicy = new RequestTimeoutPolicy
            {
                Timeout = TimeSpan.FromSeconds(limits.Value.TimeoutSeconds),
                TimeoutStatusCode = StatusCodes.Status504GatewayTimeout,
            });
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<RequestLimitsOptions>>((limiter, settings) =>
        {
            var limits = settings.Value;
            var concurrency = PartitionedRateLimiter.Create<HttpContext, string>(context => IsProbe(context)
                ? RateLimitPartition.GetNoLimiter("probe")
                : RateLimitPartition.GetConcurrencyLimiter("all", _ => new ConcurrencyLimiterOptions
                {
                    PermitLimit = limits.MaxConcurrentRequests,
                    QueueLimit = limits.QueuedRequests,
                    QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                }));
            var perClient = PartitionedRateLimiter.Create<HttpContext, string>(context => IsProbe(context) || limits.PermitsPerClient == 0
                ? RateLimitPartition.GetNoLimiter("unlimited")
                : RateLimitPartition.GetFixedWindowLimiter(context.Connection.RemoteIpAddress?.ToString() ?? "unknown", _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = limits.PermitsPerClient,
                    Window = TimeSpan.FromSeconds(limits.WindowSeconds),
                    QueueLimit = 0,
                }));
            limiter.GlobalLimiter = PartitionedRateLimiter.CreateChained(perClient, concurrency);
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = (rejected, _) =>
            {
                var after = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                rejected.HttpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                return ValueTask.CompletedTask;
            };
        });
        return services;
    }

    /// <summary>Adds the limiter and the timeouts to the pipeline (after routing, so that timeouts see their endpoint).</summary>
    public static WebApplication UseRequestLimits(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseRateLimiter();
        app.UseRequestTimeouts();
        return app;
    }

    private static bool IsProbe(HttpContext context) =>
        Probes.Contains(context.Request.Path.Value ?? "", StringComparer.OrdinalIgnoreCase);
}
