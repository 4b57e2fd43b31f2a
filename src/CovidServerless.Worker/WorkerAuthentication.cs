using CovidServerless.ServiceDefaults;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace CovidServerless.Worker;

/// <summary>
/// The worker's caller check: ASP.NET Core's JWT bearer handler against Microsoft Entra ID (signing keys from the
/// tenant's OpenID metadata), with every endpoint behind a fallback policy that needs an authenticated caller
/// holding <see cref="WorkerAuthOptions.RequiredRole"/>. Endpoints opt out with AllowAnonymous (health probes).
/// </summary>
public static class WorkerAuthentication
{
    public static WebApplicationBuilder AddWorkerAuthentication(this WebApplicationBuilder builder)
    {
        var nonLoopback = ListenAddresses.NotLoopback(builder.Configuration);
        builder.Services.AddOptions<WorkerAuthOptions>().Bind(builder.Configuration.GetSection(WorkerAuthOptions.SectionName))
            .Configure(options => options.NonLoopbackAddresses = nonLoopback)
            .ValidateDataAnnotations().ValidateOnStart();

        var settings = builder.Configuration.GetSection(WorkerAuthOptions.SectionName).Get<WorkerAuthOptions>() ?? new WorkerAuthOptions();
        if (settings.DisabledForLocalDevelopment)
        {
            builder.Services.AddAuthorization();
            return builder;
        }

        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<WorkerAuthOptions>>((jwt, auth) =>
            {
                var options = auth.Value;
                jwt.Authority = $"{options.Instance.ToString().TrimEnd('/')}/{options.TenantId}/v2.0";
                jwt.MapInboundClaims = false;
                jwt.TokenValidationParameters.ValidAudience = options.Audience;
                jwt.TokenValidationParameters.ValidIssuers = options.ValidIssuers();
                jwt.TokenValidationParameters.RoleClaimType = "roles";
            });
        builder.Services.AddAuthorization(authorization => authorization.FallbackPolicy = new AuthorizationPolicyBuilder(JwtBearerDefaults.AuthenticationScheme)
            .RequireAuthenticatedUser()
            .RequireRole(settings.RequiredRole)
            .Build());
        return builder;
    }
}
