using System.Security.Cryptography;
using System.Text;

namespace CovidServerless.Core.Results;

/// <summary>
/// The timeline's partitions. Table storage serves about 2,000 entities/s per partition, so one partition throttles
/// a scaled-out Functions app; each scan's row goes to one of <see cref="Count"/> shards, chosen from a hash of its
/// scan id, so writing the same scan again replaces the same row. Every shard uses the same row keys (newest upload
/// first), so readers merge them by row key.
/// </summary>
internal static class TimelineShards
{
    /// <summary>Fixed: a row written again must land where it was written first (changing it needs a migration).</summary>
    public const int Count = 16;

    /// <summary>
    /// The one partition every timeline row went to before sharding. Nothing writes it now; readers read it as one
    /// more shard, last, so rows recorded before the change still list and still count as recorded.
    /// </summary>
    public const string LegacyPartition = "timeline";

    /// <summary>Every partition a reader reads: the shards in order, then the legacy partition.</summary>
    public static IReadOnlyList<string> ReadOrder { get; } =
        [.. Enumerable.Range(0, Count).Select(Name), LegacyPartition];

    /// <summary>The shard a scan's row goes to.</summary>
    public static string For(string scanId) =>
        Name(SHA256.HashData(Encoding.UTF8.GetBytes(scanId))[0] % Count);

    private static string Name(int shard) => $"timeline-{shard:D2}";
}
