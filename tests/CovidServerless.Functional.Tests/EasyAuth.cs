using System.Text;
using System.Text.Json;
using CovidServerless.Core.Api;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CovidServerless.Functional.Tests;

/// <summary>Requests as the function app receives them behind App Service authentication, which adds the caller's principal.</summary>
internal static class EasyAuth
{
    public const string ReaderObjectId = "7d3c2b1a-0f9e-4d8c-b7a6-112233445566";
    public const string ReadRole = "Results.Read";
    public const string UploadRole = "Scans.Upload";

    /// <summary>The X-MS-CLIENT-PRINCIPAL value Easy Auth sends for an Entra ID caller with these app roles.</summary>
    public static string Principal(string objectId, params string[] roles)
    {
        var claims = new List<object> { new { typ = "http://schemas.microsoft.com/identity/claims/objectidentifier", val = objectId } };
        claims.AddRange(roles.Select(r => new { typ = "roles", val = r }));
        var json = JsonSerializer.Serialize(new { auth_typ = "aad", name_typ = "name", role_typ = "roles", claims });
        return Convert.ToBase64String(Encoding.UTF8.GetBytes(json));
    }

    /// <summary>A request context from <paramref name="objectId"/> holding <paramref name="roles"/>.</summary>
    public static DefaultHttpContext Context(string objectId, params string[] roles)
    {
        var context = new DefaultHttpContext();
        context.Request.Headers[ApiCaller.PrincipalHeader] = Principal(objectId, roles);
        return context;
    }

    /// <summary>A request from a reader (the read role only).</summary>
    public static HttpRequest Reader() => Context(ReaderObjectId, ReadRole).Request;

    /// <summary>The access rule as deployed (checks on), logging to <paramref name="logs"/>.</summary>
    public static ApiAccess Access(ILoggerProvider? logs = null, bool disabledForLocalDevelopment = false) => new(
        Options.Create(new ApiAccessOptions { DisabledForLocalDevelopment = disabledForLocalDevelopment }),
        logs is null ? NullLogger<ApiAccess>.Instance : new Logger<ApiAccess>(new LoggerFactory([logs])));
}
