using CovidServerless.Core.Series;
using Microsoft.Azure.Functions.Worker;

namespace CovidServerless.Functions;

/// <summary>Every minute, CT series that have gone quiet get their series result (the local host runs the same call in a loop).</summary>
public sealed class SeriesFunctions(SeriesAggregator aggregator)
{
    [Function("CompleteQuietSeries")]
    public Task CompleteQuietSeries([TimerTrigger("0 */1 * * * *")] TimerInfo timer, CancellationToken cancellationToken) =>
        aggregator.CompleteQuietSeriesAsync(cancellationToken);
}
