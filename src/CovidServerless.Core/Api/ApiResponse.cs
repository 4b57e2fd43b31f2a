namespace CovidServerless.Core.Api;

/// <summary>A host-neutral HTTP answer: each host writes <see cref="Body"/> as camelCase JSON with <see cref="Status"/>.</summary>
public sealed record ApiResponse(int Status, object Body)
{
    public static ApiResponse Ok(object body) => new(200, body);

    public static ApiResponse NotFound(string message) => new(404, new ApiError(message));

    public static ApiResponse BadRequest(string message) => new(400, new ApiError(message));
}

public sealed record ApiError(string Error);
