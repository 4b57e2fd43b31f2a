namespace CovidServerless.Core.Api;

/// <summary>
/// A host-neutral HTTP answer: each host writes <see cref="Body"/> as camelCase JSON with <see cref="Status"/> (an
/// <see cref="ApiFile"/> body as its bytes), and <see cref="Location"/>, when set, as the Location header.
/// </summary>
public sealed record ApiResponse(int Status, object Body, string? Location = null)
{
    public static ApiResponse Ok(object body) => new(200, body);

    public static ApiResponse NotFound(string message) => new(404, new ApiError(message));

    public static ApiResponse BadRequest(string message) => new(400, new ApiError(message));
}

public sealed record ApiError(string Error);

/// <summary>A body sent as is (an image), with its media type; hosts add X-Content-Type-Options: nosniff.</summary>
public sealed record ApiFile(ReadOnlyMemory<byte> Content, string ContentType);
