using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using CovidServerless.Core;
using CovidServerless.Core.Models;

namespace CovidServerless.Worker;

/// <summary>Counters the worker exposes at /metrics in Prometheus' text format.</summary>
/// <param name="catalog">Whether its models run on CUDA: a GPU replica whose CUDA libraries did not load scores on the CPU.</param>
public sealed class WorkerMetrics(ModelCatalog catalog)
{
    private static readonly int[] BatchBuckets = [1, 2, 4, 8, 16, 32, 64];
    private readonly ConcurrentDictionary<(string Modality, string Outcome), long> requests = new();
    private readonly ConcurrentDictionary<(string Modality, int Bucket), long> batchSizes = new();
    private readonly ConcurrentDictionary<string, long> batches = new();
    private readonly ConcurrentDictionary<string, long> batchedScans = new();
    private int largestBatch;

    public int LargestBatch => largestBatch;

    public void Request(string modality, string outcome) => requests.AddOrUpdate((modality, outcome), 1, (_, n) => n + 1);

    public void Batch(Modality modality, int size)
    {
        var name = modality.ToName();
        batches.AddOrUpdate(name, 1, (_, n) => n + 1);
        batchedScans.AddOrUpdate(name, size, (_, n) => n + size);
        foreach (var bucket in BatchBuckets.Where(b => size <= b))
        {
            batchSizes.AddOrUpdate((name, bucket), 1, (_, n) => n + 1);
        }

        int seen;
        while (size > (seen = largestBatch) && Interlocked.CompareExchange(ref largestBatch, size, seen) != seen)
        {
        }
    }

    public string Render()
    {
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine("# TYPE covidscan_worker_models_on_cuda gauge");
        text.AppendLine(c, $"covidscan_worker_models_on_cuda {(catalog.OnCuda ? 1 : 0)}");
        text.AppendLine("# TYPE covidscan_worker_requests_total counter");
        foreach (var ((modality, outcome), n) in requests.OrderBy(kv => kv.Key))
        {
            text.AppendLine(c, $"covidscan_worker_requests_total{{modality=\"{modality}\",outcome=\"{outcome}\"}} {n}");
        }

        text.AppendLine("# TYPE covidscan_worker_batch_size histogram");
        foreach (var modality in batches.Keys.Order(StringComparer.Ordinal))
        {
            foreach (var bucket in BatchBuckets)
            {
                text.AppendLine(c, $"covidscan_worker_batch_size_bucket{{modality=\"{modality}\",le=\"{bucket}\"}} {batchSizes.GetValueOrDefault((modality, bucket))}");
            }

            text.AppendLine(c, $"covidscan_worker_batch_size_bucket{{modality=\"{modality}\",le=\"+Inf\"}} {batches[modality]}");
            text.AppendLine(c, $"covidscan_worker_batch_size_sum{{modality=\"{modality}\"}} {batchedScans[modality]}");
            text.AppendLine(c, $"covidscan_worker_batch_size_count{{modality=\"{modality}\"}} {batches[modality]}");
        }

        return text.ToString();
    }
}
