using Azure;
using Azure.Storage.Blobs.Models;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Results;
using CovidServerless.Core.Storage;
using Microsoft.Extensions.Options;
using SkiaSharp;

namespace CovidServerless.Core.Heatmaps;

/// <summary>
/// A scored scan's heatmap overlays: the pipeline keeps only the members' maps with the result (<see cref="Link"/>),
/// and the first request for an overlay draws it (<see cref="Render"/>) and keeps it in the
/// <see cref="HeatmapOptions.Container"/> container as <c>{scanId}/ensemble.png</c> (or <c>{scanId}/{model}.png</c>),
/// named by the scan id, never by the blob name, which may be a patient's. Drawing decodes the scan with the one
/// decoder (with its limits) and scales it to at most <see cref="HeatmapOptions.MaxSide"/> first, so an overlay costs
/// at most MaxSide² pixels whatever the scan's size.
/// </summary>
public sealed class HeatmapStore(StorageClients clients, ScanDecoder decoder, IOptions<HeatmapOptions> options)
{
    /// <summary>The ensemble's overlay's name within a scan's folder.</summary>
    public const string Ensemble = "ensemble";

    /// <summary>Stored overlays are at most MaxSide² RGB pixels; anything far larger in the container is not ours to serve.</summary>
    private const long MaxServedBytes = 32L * 1024 * 1024;

    private readonly HeatmapOptions settings = options.Value;
    private readonly OnceAsync created = new();

    public bool Enabled => settings.Enabled;

    /// <summary>The API path of a scan's overlay: the ensemble's, or <paramref name="model"/>'s own.</summary>
    public static string Url(string scanId, string? model = null) =>
        model is null ? $"/api/results/{scanId}/heatmap" : $"/api/results/{scanId}/heatmap?model={Uri.EscapeDataString(model)}";

    public static string BlobName(string scanId, string member) => $"{scanId}/{member}.png";

    /// <summary>
    /// The result with its overlays' links (the ensemble's, and each model's with <see cref="HeatmapOptions.PerModel"/>)
    /// and the maps to store with it (<see cref="HeatmapMaps"/>); nothing is drawn or written here. The result as it
    /// was and no maps where heatmaps are off, no member returned a map, or the maps are over the size bound.
    /// </summary>
    public (ScanResult Result, byte[]? Maps) Link(ScanResult result, IReadOnlyList<MemberHeatmap>? members)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (!settings.Enabled || members is not { Count: > 0 } || !ModalityNames.TryParse(result.Modality, out _)
            || HeatmapMaps.Encode(members) is not { } maps)
        {
            return (result, null);
        }

        return (result with
        {
            HeatmapUrl = Url(result.ScanId),
            Models = [.. result.Models.Select(m => settings.PerModel && members.Any(h => h.Model == m.Name) ? m with { HeatmapUrl = Url(result.ScanId, m.Name) } : m)],
        }, maps);
    }

    /// <summary>
    /// One overlay of a scan as a PNG: the ensemble's (<see cref="Ensemble"/>, the mean of the members' maps) or one
    /// member's own, at the scan's aspect ratio with the longest side at most MaxSide. The scan is decoded within the
    /// decoder's pixel budget (<see cref="Scoring.ScoringUnavailableException"/> when none comes in time).
    /// </summary>
    public async Task<byte[]> RenderAsync(
        Modality modality, ReadOnlyMemory<byte> scan, IReadOnlyList<MemberHeatmap> members, string member, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(members);
        var own = member == Ensemble ? null : members.FirstOrDefault(m => m.Model == member)
            ?? throw new ArgumentException("No map for that member.", nameof(member));
        using var decoded = await decoder.DecodeAsync(scan, modality, cancellationToken).ConfigureAwait(false);
        using var preview = Preview(decoded);
        return HeatmapRenderer.RenderPng(preview, own?.Map ?? HeatmapExplainer.EnsembleMap(members, preview.Width, preview.Height));
    }

    /// <summary>Keeps a drawn overlay, so later requests are served from the container. Idempotent: concurrent first requests draw the same bytes.</summary>
    public async Task StoreAsync(string scanId, string member, byte[] png, CancellationToken cancellationToken)
    {
        var container = clients.Blobs.GetBlobContainerClient(settings.Container);
        await created.RunAsync(() => CreateIfAllowed.RunAsync(() => container.CreateIfNotExistsAsync(cancellationToken: cancellationToken))).ConfigureAwait(false);
        await container.GetBlobClient(BlobName(scanId, member)).UploadAsync(
            BinaryData.FromBytes(png),
            new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "image/png" } },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A stored overlay's bytes, or null where there is none (deleted, or never written).</summary>
    public async Task<byte[]?> ReadAsync(string scanId, string member, CancellationToken cancellationToken)
    {
        var blob = clients.Blobs.GetBlobContainerClient(settings.Container).GetBlobClient(BlobName(scanId, member));
        try
        {
            var download = (await blob.DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value;
            return download.Details.ContentLength > MaxServedBytes ? null : download.Content.ToArray();
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <summary>The scan scaled down to fit MaxSide (never up).</summary>
    private SKBitmap Preview(DecodedScan scan)
    {
        var (width, height) = FitSize(scan.Width, scan.Height, settings.MaxSide);
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        return scan.Bitmap.Resize(info, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear))
            ?? throw new InvalidOperationException("The scan could not be scaled for its heatmap.");
    }

    /// <summary>The size of a width x height image scaled down so that its longest side is at most <paramref name="maxSide"/>.</summary>
    public static (int Width, int Height) FitSize(int width, int height, int maxSide)
    {
        var scale = Math.Min(1.0, (double)maxSide / Math.Max(width, height));
        return (Math.Max(1, (int)Math.Round(width * scale)), Math.Max(1, (int)Math.Round(height * scale)));
    }
}
