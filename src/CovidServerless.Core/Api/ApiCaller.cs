using System.Text;
using System.Text.Json;

namespace CovidServerless.Core.Api;

/// <summary>
/// The caller of an HTTP route as App Service authentication (Easy Auth) describes it: the X-MS-CLIENT-PRINCIPAL
/// header, base64 JSON <c>{ "auth_typ", "name_typ", "role_typ", "claims": [ { "typ", "val" } ] }</c>. Easy Auth drops the
/// header from incoming requests and sets it itself, so only an app behind Easy Auth may trust it.
/// </summary>
public sealed record ApiCaller(string ObjectId, IReadOnlySet<string> Roles)
{
    public const string PrincipalHeader = "X-MS-CLIENT-PRINCIPAL";

    /// <summary>A principal with a few dozen claims takes a few KiB; anything far larger is not Easy Auth's.</summary>
    public const int MaxHeaderChars = 32 * 1024;

    private static readonly string[] ObjectIdClaims = ["http://schemas.microsoft.com/identity/claims/objectidentifier", "oid"];
    private static readonly string[] RoleClaims = ["roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"];

    /// <summary>The caller the header names, or null where it is missing, malformed, too large or names no object id.</summary>
    public static ApiCaller? FromPrincipalHeader(string? header)
    {
        if (string.IsNullOrEmpty(header) || header.Length > MaxHeaderChars)
        {
            return null;
        }

        try
        {
            using var json = JsonDocument.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(header)));
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("claims", out var claims) || claims.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            var roleType = root.TryGetProperty("role_typ", out var typ) && typ.ValueKind == JsonValueKind.String ? typ.GetString() : null;
            string? objectId = null;
            var roles = new HashSet<string>(StringComparer.Ordinal);
            foreach (var claim in claims.EnumerateArray())
            {
                if (claim.ValueKind != JsonValueKind.Object
                    || !claim.TryGetProperty("typ", out var type) || type.ValueKind != JsonValueKind.String
                    || !claim.TryGetProperty("val", out var value) || value.ValueKind != JsonValueKind.String)
                {
                    continue;
                }

                var name = type.GetString()!;
                if (ObjectIdClaims.Contains(name, StringComparer.Ordinal))
                {
                    objectId ??= value.GetString();
                }
                else if (name == roleType || RoleClaims.Contains(name, StringComparer.Ordinal))
                {
                    roles.Add(value.GetString()!);
                }
            }

            return Guid.TryParse(objectId, out var id) ? new ApiCaller(id.ToString(), roles) : null;
        }
        catch (Exception ex) when (ex is FormatException or JsonException or ArgumentException)
        {
            return null;
        }
    }
}
