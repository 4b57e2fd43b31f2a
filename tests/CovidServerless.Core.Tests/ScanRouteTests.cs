using CovidServerless.Core.Api;

namespace CovidServerless.Core.Tests;

public sealed class ScanRouteTests
{
    [Theory]
    [InlineData("/api/scans/chest/ward%203/scan.png", "ward 3/scan.png", "ward 3/scan.png")]
    [InlineData("/api/scans/chest/ward%2F3%2Fscan.png", "ward%2F3%2Fscan.png", "ward/3/scan.png")]
    [InlineData("/api/scans/chest/100%252F200.png", "100%2F200.png", "100%2F200.png")]
    [InlineData("/api/scans/chest/%2541.png?history=true", "%41.png", "%41.png")]
    [InlineData("/API/Scans/chest/a+b.png", "a+b.png", "a+b.png")]
    public void A_raw_target_that_agrees_with_the_route_value_gives_the_one_name_the_client_meant(string rawTarget, string routeValue, string expected)
    {
        Assert.Equal([expected], ScanRoute.BlobNames(rawTarget, "chest", routeValue));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("/other-prefix/scans/chest/ward%2F3.png")]
    [InlineData("/api/scans/chest")]
    [InlineData("/api/scans/ct/../chest/ward%2F3.png")] // routed to chest once the dot segments were resolved
    [InlineData("/api/scans/chest/ward%25252F3.png")] // re-encoded on the way: does not decode to the route value
    public void Otherwise_the_route_value_is_read_with_2F_as_a_folder_separator_first_and_as_itself_second(string? rawTarget)
    {
        Assert.Equal(["ward/3.png", "ward%2F3.png"], ScanRoute.BlobNames(rawTarget, "chest", "ward%2F3.png"));
    }

    [Fact]
    public void A_route_value_without_2F_is_the_only_name()
    {
        Assert.Equal(["ward/3.png"], ScanRoute.BlobNames(null, "chest", "ward/3.png"));
    }
}
