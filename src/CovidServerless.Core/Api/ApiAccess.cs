using CovidServerless.Core.Results;
using CovidServerless.Core.Series;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Api;

/// <summary>What an API call does, for the role it needs and the access log.</summary>
public enum ApiOperation
{
    Read,
    Upload,
}

/// <summary>
/// The function app's API access rule: a caller Easy Auth identified (<see cref="ApiCaller"/>) holding the operation's
/// app role, or 401 / 403; and one access-log line per call answered that names the caller's object id, the operation,
/// the route and the scan or series ids it returned (never a blob name: names may be patients').
/// </summary>
public sealed partial class ApiAccess(IOptions<ApiAccessOptions> options, ILogger<ApiAccess> logger)
{
    /// <summary>
    /// Runs <paramref name="call"/> for an authorised caller; otherwise answers 401 or 403 without running it.
    /// <paramref name="route"/> is the route's template (never its values: a blob name may be a patient's);
    /// <paramref name="id"/> the scan or series id the route names, where it names one.
    /// </summary>
    public async Task<ApiResponse> RunAsync(
        string? principalHeader, ApiOperation operation, string route, string? id, Func<Task<ApiResponse>> call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var settings = options.Value;
        if (settings.DisabledForLocalDevelopment)
        {
            return await call().ConfigureAwait(false);
        }

        if (ApiCaller.FromPrincipalHeader(principalHeader) is not { } caller)
        {
            LogRefused(logger, 401, "(none)", operation, route);
            return new ApiResponse(401, new ApiError("Sign in first: the API answers only callers App Service authentication identified."));
        }

        var role = operation == ApiOperation.Upload ? settings.UploadRole : settings.ReadRole;
        if (!caller.Roles.Contains(role))
        {
            LogRefused(logger, 403, caller.ObjectId, operation, route);
            return new ApiResponse(403, new ApiError($"This call needs the app role '{role}', which the caller does not hold."));
        }

        var response = await call().ConfigureAwait(false);
        LogAccess(logger, caller.ObjectId, operation, route, response.Status, Ids(response.Body) ?? (ScanIdentity.IsScanId(id) ? id! : "-"));
        return response;
    }

    /// <summary>The scan and series ids a response carries (opaque hashes, never names), or null for none.</summary>
    internal static string? Ids(object body) => body switch
    {
        ScanResult scan => scan.ScanId,
        SeriesResult series => series.SeriesId,
        IEnumerable<ScanResult> scans => string.Join(',', scans.Select(s => s.ScanId)),
        ResultPage page => string.Join(',', page.Items.Select(s => s.ScanId)),
        UploadAccepted accepted => accepted.ScanId,
        _ => null,
    };

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "API access: caller {CallerObjectId} {Operation} {Route}: HTTP {Status}, ids {Ids}")]
    private static partial void LogAccess(ILogger logger, string callerObjectId, ApiOperation operation, string route, int status, string ids);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Warning, Message = "API access refused (HTTP {Status}): caller {CallerObjectId} {Operation} {Route}")]
    private static partial void LogRefused(ILogger logger, int status, string callerObjectId, ApiOperation operation, string route);
}
