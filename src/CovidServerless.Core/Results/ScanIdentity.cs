using System.Security.Cryptography;
using System.Text;

namespace CovidServerless.Core.Results;

/// <summary>
/// Names one version of one uploaded blob, and derives every storage key from it deterministically, so a
/// re-delivered blob version upserts the same rows and its queue message carries the same scan id.
/// </summary>
public sealed record ScanIdentity(Modality Modality, string BlobName, string ETag, DateTimeOffset UploadedAt)
{
    /// <summary>Stable id of this blob version: consumers deduplicate queue messages on it.</summary>
    public string ScanId => Hash($"{Modality.ToName()}/{BlobName}@{BlobVersion}", 32);

    /// <summary>Whether <paramref name="text"/> has a scan id's form (32 lower-case hex digits).</summary>
    public static bool IsScanId(string? text) =>
        text is { Length: 32 } && text.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');

    /// <summary>The ETag without its quotes.</summary>
    public string BlobVersion => ETag.Trim('"');

    /// <summary>All versions of one blob share a partition (blob names may hold characters keys forbid, so hash).</summary>
    public string PartitionKey => BlobPartitionKey(Modality, BlobName);

    /// <summary>Newest upload sorts first: inverted ticks of the upload time, then the version.</summary>
    public string VersionKey => $"{InvertedTicks(UploadedAt)}-{Hash(BlobVersion, 8)}";

    /// <summary>A time as the start of a version key: later times sort first.</summary>
    public static string InvertedTicks(DateTimeOffset time) =>
        (DateTimeOffset.MaxValue.UtcTicks - time.UtcTicks).ToString("D19", System.Globalization.CultureInfo.InvariantCulture);

    public static string BlobPartitionKey(Modality modality, string blobName) =>
        $"{modality.ToName()}-{Hash($"{modality.ToName()}/{blobName}", 32)}";

    private static string Hash(string text, int hexChars) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..hexChars];
}
