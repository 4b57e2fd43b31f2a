using CovidServerless.Core.Results;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Tests;

public class ResultRetentionOptionsTests
{
    private static void ValidateOnStart(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build();
        using var services = new ServiceCollection().AddLogging().AddCovidPipeline(configuration).BuildServiceProvider();

        // What a host does on start for options registered with ValidateOnStart.
        services.GetRequiredService<IStartupValidator>().Validate();
    }

    [Fact]
    public void By_default_result_rows_are_kept_30_days_as_the_scans_are_and_swept_daily()
    {
        var options = new ResultRetentionOptions();

        Assert.Equal((30, 24), (options.RetentionDays, options.SweepIntervalHours));
        ValidateOnStart();
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("-30")]
    public void A_negative_retention_is_refused_on_start(string days)
    {
        var error = Assert.Throws<OptionsValidationException>(() => ValidateOnStart(("Results:RetentionDays", days)));

        Assert.Contains("RetentionDays", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_retention_shorter_than_the_start_up_checks_lookback_is_refused_on_start()
    {
        var error = Assert.Throws<OptionsValidationException>(() => ValidateOnStart(("Results:RetentionDays", "1"), ("ScanWatch:LookbackHours", "48")));

        Assert.Contains("ScanWatch:LookbackHours", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Retention_0_keeps_rows_forever_and_is_accepted_with_any_lookback()
    {
        ValidateOnStart(("Results:RetentionDays", "0"), ("ScanWatch:LookbackHours", "8760"));

        Assert.Null(new ResultRetentionOptions { RetentionDays = 0 }.CutOff(DateTimeOffset.UtcNow));
    }

    [Fact]
    public void The_cut_off_is_the_retention_before_now()
    {
        var now = new DateTimeOffset(2026, 12, 6, 19, 0, 0, TimeSpan.Zero);

        Assert.Equal(now.AddDays(-30), new ResultRetentionOptions().CutOff(now));
    }
}
