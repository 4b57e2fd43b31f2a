using CovidServerless.Core.Ingestion;

namespace CovidServerless.Core.Tests;

public class ScanWatchOptionsTests
{
    [Theory]
    [InlineData(2, 2000)]
    [InlineData(3, 4000)]
    [InlineData(5, 16000)]
    public void Retries_wait_the_configured_delay_doubled_for_each_later_attempt(int attempt, int expectedMilliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMilliseconds), new ScanWatchOptions { RetryDelayMilliseconds = 2000 }.RetryDelayBefore(attempt));

    [Fact]
    public void The_wait_stops_growing_at_an_hour_for_the_largest_settings_allowed()
    {
        // 600 s doubled 98 times would be past what a timer can wait for, and the retry would never come.
        var options = new ScanWatchOptions { RetryDelayMilliseconds = 600_000, MaxAttempts = 100 };

        Assert.Equal(TimeSpan.FromHours(1), options.RetryDelayBefore(options.MaxAttempts));
        Assert.Equal(TimeSpan.FromMinutes(40), options.RetryDelayBefore(4));
    }
}
