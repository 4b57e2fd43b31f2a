using System.Net;
using System.Reflection;
using System.Runtime.CompilerServices;
using Azure.Core;
using CovidServerless.Core.Security;
using Microsoft.Extensions.Options;

namespace CovidServerless.Functional.Tests;

/// <summary>The token handler is shared by every request to the worker, on many threads at once.</summary>
public sealed class WorkerTokenHandlerTests
{
    [Fact]
    public void Every_field_a_request_can_read_while_another_writes_it_is_a_single_reference_or_word_so_it_cannot_be_read_torn()
    {
        var mutable = typeof(WorkerTokenHandler).GetFields(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.DeclaredOnly)
            .Where(field => !field.IsInitOnly && !field.Name.EndsWith(">P", StringComparison.Ordinal)) // primary-constructor parameters are only read
            .ToList();

        Assert.NotEmpty(mutable); // the token cache
        Assert.All(mutable, field => Assert.True(
            !field.FieldType.IsValueType || (field.FieldType.IsPrimitive && Unsafe.SizeOf<nint>() >= Marshal(field.FieldType)),
            $"{field.Name} is a {field.FieldType.Name}: a struct copied while another thread writes it can mix old and new values"));
    }

    [Fact]
    public async Task Requests_sent_at_once_share_one_token_and_each_carries_the_whole_token()
    {
        var credential = new CountingCredential();
        using var handler = new WorkerTokenHandler(credential, Options.Create(new WorkerTokenOptions { Scope = "api://worker/.default" }), TimeProvider.System)
        {
            InnerHandler = new EchoAuthorization(),
        };
        using var invoker = new HttpMessageInvoker(handler);

        var sent = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "https://worker.example.net/api/models");
            using var response = await invoker.SendAsync(request, default);
            return await response.Content.ReadAsStringAsync();
        })));

        Assert.Equal(1, credential.Calls);
        Assert.All(sent, header => Assert.Equal("Bearer token-1", header));
    }

    private static int Marshal(Type type) => System.Runtime.InteropServices.Marshal.SizeOf(type);

    private sealed class CountingCredential : TokenCredential
    {
        private int calls;

        public int Calls => Volatile.Read(ref calls);

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            new($"token-{Interlocked.Increment(ref calls)}", DateTimeOffset.UtcNow.AddHours(1));

        public override async ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            await Task.Yield(); // as a real credential, it completes later, while other requests arrive
            return GetToken(requestContext, cancellationToken);
        }
    }

    private sealed class EchoAuthorization : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(request.Headers.Authorization?.ToString() ?? "") });
    }
}
