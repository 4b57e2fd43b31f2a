using CovidServerless.Core.Api;

namespace CovidServerless.Core.Tests;

public sealed class ScanRouteTests
{
    [Theory]
    [InlineData("/api/scans/chest/ward%203/scan.png", "ward 3/scan.png")]
    [InlineData("/api/scans/chest/ward%2F3%2Fscan.png", "ward/3/scan.png")]
    [InlineData("/api/scans/chest/100%252F200.png", "100%2F200.png")]
    [InlineData("/api/scans/chest/%2541.png?history=true", "%41.png")]
    [InlineData("/API/Scans/ct/a+b.png", "a+b.png")]
    public void The_blob_name_is_decoded_once_from_the_raw_target(string rawTarget, string expected)
    {
        Assert.Equal(expected, ScanRoute.BlobName(rawTarget, routeValue: "unused"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("/other-prefix/scans/chest/x.png")]
    [InlineData("/api/scans/chest")]
    public void Without_a_raw_target_of_the_routes_shape_the_decoded_route_value_is_used_with_2F_as_a_folder_separator(string? rawTarget)
    {
        Assert.Equal("ward/3/scan.png", ScanRoute.BlobName(rawTarget, "ward%2F3/scan.png"));
    }
}
