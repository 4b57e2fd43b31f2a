using System.Text;
using System.Text.Json;
using CovidServerless.Core.Api;

namespace CovidServerless.Core.Tests;

/// <summary>Reading the caller from the principal App Service authentication (Easy Auth) passes to the app.</summary>
public sealed class ApiCallerTests
{
    private const string ObjectIdClaim = "http://schemas.microsoft.com/identity/claims/objectidentifier";
    private const string RoleClaim = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role";

    private static string Header(object principal) => Convert.ToBase64String(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(principal)));

    private static object Claim(string typ, string val) => new { typ, val };

    [Fact]
    public void The_caller_is_the_object_id_claim_with_the_roles_of_the_principals_role_claim_type()
    {
        var header = Header(new
        {
            auth_typ = "aad",
            role_typ = RoleClaim,
            claims = new[]
            {
                Claim("name", "Dr Example"), Claim(ObjectIdClaim, "7D3C2B1A-0F9E-4D8C-B7A6-112233445566"),
                Claim(RoleClaim, "Results.Read"), Claim(RoleClaim, "Scans.Upload"), Claim("groups", "not-a-role"),
            },
        });

        var caller = ApiCaller.FromPrincipalHeader(header);

        Assert.NotNull(caller);
        Assert.Equal("7d3c2b1a-0f9e-4d8c-b7a6-112233445566", caller.ObjectId);
        Assert.Equal(["Results.Read", "Scans.Upload"], caller.Roles.Order());
    }

    [Fact]
    public void Roles_under_the_short_roles_claim_type_count_too()
    {
        var header = Header(new { claims = new[] { Claim("oid", "7d3c2b1a-0f9e-4d8c-b7a6-112233445566"), Claim("roles", "Results.Read") } });

        Assert.Equal(["Results.Read"], ApiCaller.FromPrincipalHeader(header)!.Roles);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("%%% not base64")]
    public void No_header_or_one_that_is_not_base64_names_no_caller(string? header) =>
        Assert.Null(ApiCaller.FromPrincipalHeader(header));

    [Fact]
    public void A_principal_without_an_object_id_or_with_one_that_is_not_a_guid_names_no_caller()
    {
        Assert.Null(ApiCaller.FromPrincipalHeader(Header(new { claims = new[] { Claim("roles", "Results.Read") } })));
        Assert.Null(ApiCaller.FromPrincipalHeader(Header(new { claims = new[] { Claim("oid", "Jane Doe"), Claim("roles", "Results.Read") } })));
    }

    [Fact]
    public void Json_that_is_not_a_principal_names_no_caller()
    {
        Assert.Null(ApiCaller.FromPrincipalHeader(Convert.ToBase64String("[1, 2]"u8.ToArray())));
        Assert.Null(ApiCaller.FromPrincipalHeader(Header(new { claims = "oid" })));
        Assert.Null(ApiCaller.FromPrincipalHeader(Convert.ToBase64String("{\"claims\": ["u8.ToArray())));
    }

    [Fact]
    public void A_header_longer_than_the_limit_is_not_read()
    {
        var claims = new List<object> { Claim("oid", "7d3c2b1a-0f9e-4d8c-b7a6-112233445566") };
        claims.AddRange(Enumerable.Range(0, 2_000).Select(i => Claim("roles", $"Role.{i}")));
        var header = Header(new { claims });

        Assert.True(header.Length > ApiCaller.MaxHeaderChars);
        Assert.Null(ApiCaller.FromPrincipalHeader(header));
    }
}
