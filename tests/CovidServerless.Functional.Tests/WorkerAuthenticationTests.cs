using System.Net;
using System.Net.Http.Headers;
using Azure.Core;
using CovidServerless.Core;
using CovidServerless.Core.Scoring;
using CovidServerless.Core.Security;
using CovidServerless.TestSupport;
using CovidServerless.Worker;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace CovidServerless.Functional.Tests;

/// <summary>The scoring worker accepts only Entra ID tokens for its audience, from its tenant, holding its app role.</summary>
public sealed class WorkerAuthenticationTests : IAsyncLifetime, IDisposable
{
    private readonly ModelFolder models = ModelFolder.WithStandardEnsembles();
    private readonly TestTokens tokens = new();
    private string workerUrl = "http://127.0.0.1:0"; // bound at start: no other process can take the port in between
    private WebApplication worker = null!;
    private HttpClient http = null!;

    public async Task InitializeAsync()
    {
        worker = WorkerApp.Build([], Settings(workerUrl, TestTokens.WorkerSettings), tokens.Trust);
        await worker.StartAsync();
        workerUrl = worker.Urls.Single();
        http = new HttpClient { BaseAddress = new Uri(workerUrl) };
    }

    public async Task DisposeAsync()
    {
        http.Dispose();
        await worker.StopAsync();
        await worker.DisposeAsync();
    }

    public void Dispose()
    {
        models.Dispose();
        tokens.Dispose();
    }

    public static TheoryData<string> ProtectedRoutes => ["POST /score/chest", "GET /metrics", "GET /api/models", "GET /api/health"];

    [Theory]
    [MemberData(nameof(ProtectedRoutes))]
    public async Task Without_a_token_every_route_but_the_probes_answers_401(string route)
    {
        using var response = await SendAsync(route, token: null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task The_liveness_and_readiness_probes_answer_without_a_token_and_say_only_how_healthy_the_worker_is()
    {
        using var live = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
        using var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative));

        Assert.Equal((HttpStatusCode.OK, "Healthy"), (live.StatusCode, await live.Content.ReadAsStringAsync()));
        Assert.Equal((HttpStatusCode.OK, "Healthy"), (ready.StatusCode, await ready.Content.ReadAsStringAsync()));
    }

    [Theory]
    [MemberData(nameof(ProtectedRoutes))]
    public async Task A_valid_token_holding_the_role_is_let_through_on_every_route(string route)
    {
        using var response = await SendAsync(route, tokens.Create());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_token_for_another_audience_is_refused() =>
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync("POST /score/chest", tokens.Create(audience: "api://some-other-app"))).StatusCode);

    [Fact]
    public async Task A_token_from_another_tenant_is_refused() =>
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync("POST /score/chest", tokens.Create(issuer: "https://login.microsoftonline.com/99999999-0000-0000-0000-000000000000/v2.0"))).StatusCode);

    [Fact]
    public async Task An_expired_token_is_refused() =>
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync("POST /score/chest", tokens.Create(expires: DateTime.UtcNow.AddHours(-1)))).StatusCode);

    [Fact]
    public async Task A_token_signed_by_a_key_the_worker_does_not_trust_is_refused()
    {
        using var otherKey = System.Security.Cryptography.RSA.Create(2048);
        var forged = tokens.Create(signingKey: new RsaSecurityKey(otherKey) { KeyId = "test-key" });

        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync("POST /score/chest", forged)).StatusCode);
    }

    [Fact]
    public async Task A_valid_token_without_the_workers_app_role_is_forbidden() =>
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync("POST /score/chest", tokens.Create(roles: []))).StatusCode);

    [Fact]
    public async Task The_hosts_remote_scorer_gets_a_token_for_its_configured_scope_and_the_worker_scores_the_scan()
    {
        await using var host = RemoteHost(workerUrl, scope: TestTokens.Audience + "/.default", tokens.Credential());

        var score = await host.GetRequiredService<IScanScorer>().ScoreAsync(Modality.Chest, TestImages.Uniform(100), default);

        // No fallback: had the worker refused the token, this would throw ScoringUnavailableException.
        Assert.Equal(4, score.Models.Count); // the chest ensemble, scored by the worker
        Assert.True(host.GetRequiredService<WorkerAvailability>().Last?.Answered);
    }

    [Fact]
    public async Task The_hosts_remote_scorer_without_a_scope_sends_no_token_and_the_worker_refuses_it()
    {
        await using var host = RemoteHost(workerUrl, scope: null, tokens.Credential());

        await Assert.ThrowsAsync<WorkerAuthorizationException>(() => host.GetRequiredService<IScanScorer>().ScoreAsync(Modality.Chest, TestImages.Uniform(100), default));
    }

    [Fact]
    public async Task A_worker_refusing_the_hosts_token_is_a_logged_configuration_error_and_never_falls_back_to_in_process_scoring()
    {
        var logs = new LogMessages();
        var credential = tokens.Credential(audience: "api://some-other-app");
        await using var host = RemoteHost(workerUrl, scope: TestTokens.Audience + "/.default", credential, fallback: true, logs);
        var token = (await credential.GetTokenAsync(new TokenRequestContext([TestTokens.Audience + "/.default"]), default)).Token;

        var refusal = await Assert.ThrowsAsync<WorkerAuthorizationException>(() => host.GetRequiredService<IScanScorer>().ScoreAsync(Modality.Chest, TestImages.Uniform(100), default));

        Assert.Contains("HTTP 401", refusal.Message, StringComparison.Ordinal);
        var logged = Assert.Single(logs.All, m => m.Contains("Configuration error", StringComparison.Ordinal));
        Assert.Contains("HTTP 401 (bearer error invalid_token)", logged, StringComparison.Ordinal);
        Assert.DoesNotContain(logs.All, m => m.Contains(token[..40], StringComparison.Ordinal) || m.Contains("some-other-app", StringComparison.Ordinal));
        Assert.False(host.GetRequiredService<WorkerAvailability>().Last?.Answered);
    }

    [Fact]
    public async Task A_host_token_without_the_workers_app_role_is_a_configuration_error_that_names_the_role()
    {
        await using var host = RemoteHost(workerUrl, scope: TestTokens.Audience + "/.default", tokens.Credential(roles: []), fallback: true);

        var refusal = await Assert.ThrowsAsync<WorkerAuthorizationException>(() => host.GetRequiredService<IScanScorer>().ScoreAsync(Modality.Chest, TestImages.Uniform(100), default));

        Assert.Contains("HTTP 403", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("app role", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_worker_refuses_to_start_with_auth_opted_out_on_a_non_loopback_address()
    {
        await using var open = WorkerApp.Build([], Settings("http://0.0.0.0:0", [new("WorkerAuth:DisabledForLocalDevelopment", "true")]));

        var refusal = await Assert.ThrowsAsync<OptionsValidationException>(() => open.StartAsync());

        Assert.Contains("WorkerAuth:DisabledForLocalDevelopment is for local development only", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("http://0.0.0.0:", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_worker_refuses_to_start_without_a_tenant_and_audience_unless_opted_out()
    {
        await using var unconfigured = WorkerApp.Build([], Settings("http://127.0.0.1:0", []));

        var refusal = await Assert.ThrowsAsync<OptionsValidationException>(() => unconfigured.StartAsync());

        Assert.Contains("WorkerAuth:TenantId and WorkerAuth:Audience", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_auth_opted_out_on_loopback_the_worker_scores_without_a_token()
    {
        await using var local = WorkerApp.Build([], Settings("http://127.0.0.1:0", [new("WorkerAuth:DisabledForLocalDevelopment", "true")]));
        await local.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(local.Urls.Single()) };
        using var body = new ByteArrayContent(TestImages.Uniform(100));

        using var response = await client.PostAsync(new Uri("/score/chest", UriKind.Relative), body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await local.StopAsync();
    }

    [Fact]
    public async Task A_host_refuses_to_start_remote_scoring_against_a_non_loopback_worker_without_a_token_scope()
    {
        await using var host = RemoteHost("https://worker.example.net", scope: null, tokens.Credential());

        var refusal = Assert.Throws<OptionsValidationException>(() => host.GetRequiredService<IOptions<WorkerTokenOptions>>().Value);

        Assert.Contains("WorkerToken:Scope is required", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_token_handler_refuses_to_send_a_token_over_plain_http_to_another_machine()
    {
        using var handler = new WorkerTokenHandler(tokens.Credential(), Options.Create(new WorkerTokenOptions { Scope = TestTokens.Audience + "/.default" }), TimeProvider.System)
        {
            InnerHandler = new HttpClientHandler(),
        };
        using var invoker = new HttpMessageInvoker(handler);
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://worker.example.net/api/models");

        var refusal = await Assert.ThrowsAsync<InvalidOperationException>(() => invoker.SendAsync(request, default));

        Assert.Contains("plain http", refusal.Message, StringComparison.Ordinal);
        Assert.Null(request.Headers.Authorization);
    }

    private Dictionary<string, string?> Settings(string url, IEnumerable<KeyValuePair<string, string?>> auth)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Urls"] = url,
            ["Models:ManifestPath"] = models.ManifestPath,
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in auth)
        {
            settings[key] = value;
        }

        return settings;
    }

    private ServiceProvider RemoteHost(string url, string? scope, TokenCredential credential, bool fallback = false, LogMessages? logs = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Scoring:Mode"] = "Remote",
            ["Scoring:RemoteEndpoint"] = url,
            ["Scoring:FallbackToInProcess"] = fallback ? "true" : "false",
            ["Scoring:RemoteTimeoutSeconds"] = "30", // room for a first scan and token check on a loaded machine
            ["Models:ManifestPath"] = models.ManifestPath,
            ["WorkerToken:Scope"] = scope,
        }).Build();
        return new ServiceCollection().AddLogging(logging =>
            {
                if (logs is not null)
                {
                    logging.AddProvider(logs);
                }
            })
            .AddKeyedSingleton(RemoteScanScorer.HttpClientName, credential)
            .AddCovidScoring(configuration).BuildServiceProvider();
    }

    private async Task<HttpResponseMessage> SendAsync(string route, string? token)
    {
        var (method, path) = (route.Split(' ')[0], route.Split(' ')[1]);
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST")
        {
            request.Content = new ByteArrayContent(TestImages.Uniform(100));
        }

        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await http.SendAsync(request);
    }
}
