using Azure;
using Azure.Storage.Blobs.Models;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Results;
using CovidServerless.Core.Storage;
using Microsoft.Extensions.Options;
using SkiaSharp;

namespace CovidServerless.Core.Heatmaps;

/// <summary>
/// Draws the heatmap overlays of a scored scan from the maps its scoring run returned, and keeps them in the
/// <see cref="HeatmapOptions.Container"/> container as <c>{scanId}/ensemble.png</c> (and <c>{scanId}/{model}.png</c>
/// with <see cref="HeatmapOptions.PerModel"/>): named by the scan id, never by the blob name, which may be a patient's.
/// The scan is decoded by the one decoder (with its limits) and scaled to at most <see cref="HeatmapOptions.MaxSide"/>
/// before anything is drawn, so an overlay costs at most MaxSide² pixels whatever the scan's size.
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
    /// Draws and stores the overlays of a scored scan, and returns its result with their links; the result as it was
    /// where heatmaps are off or no member returned a map. Storage failures throw (the trigger retries the scan).
    /// </summary>
    public async Task<ScanResult> WriteAsync(
        ScanResult result, ReadOnlyMemory<byte> scan, IReadOnlyList<MemberHeatmap>? members, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (!settings.Enabled || members is not { Count: > 0 } || !ModalityNames.TryParse(result.Modality, out var modality))
        {
            return result;
        }

        var overlays = Render(modality, scan.Span, members);
        var container = clients.Blobs.GetBlobContainerClient(settings.Container);
        await created.RunAsync(() => container.CreateIfNotExistsAsync(cancellationToken: cancellationToken)).ConfigureAwait(false);
        var headers = new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "image/png" } };
        foreach (var (member, png) in overlays)
        {
            await container.GetBlobClient(BlobName(result.ScanId, member))
                .UploadAsync(BinaryData.FromBytes(png), headers, cancellationToken).ConfigureAwait(false);
        }

        return result with
        {
            HeatmapUrl = Url(result.ScanId),
            Models = [.. result.Models.Select(m => overlays.ContainsKey(m.Name) ? m with { HeatmapUrl = Url(result.ScanId, m.Name) } : m)],
        };
    }

    /// <summary>
    /// The overlays of one scan as PNGs, by member (<see cref="Ensemble"/> first, then each model's with
    /// <see cref="HeatmapOptions.PerModel"/>), at the scan's aspect ratio with the longest side at most MaxSide.
    /// </summary>
    public IReadOnlyDictionary<string, byte[]> Render(Modality modality, ReadOnlySpan<byte> scan, IReadOnlyList<MemberHeatmap> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        using var preview = Preview(modality, scan);
        var overlays = new Dictionary<string, byte[]>
        {
            [Ensemble] = HeatmapRenderer.RenderPng(preview, HeatmapExplainer.EnsembleMap(members, preview.Width, preview.Height)),
        };
        if (settings.PerModel)
        {
            foreach (var member in members)
            {
                overlays[member.Model] = HeatmapRenderer.RenderPng(preview, member.Map);
            }
        }

        return overlays;
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

    /// <summary>The scan, decoded and scaled down to fit MaxSide (never up).</summary>
    private SKBitmap Preview(Modality modality, ReadOnlySpan<byte> file)
    {
        using var scan = decoder.Decode(file, modality);
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
