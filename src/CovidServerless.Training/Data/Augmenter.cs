using SkiaSharp;
using static TorchSharp.torch;

namespace CovidServerless.Training.Data;

/// <summary>
/// Training augmentation on whole batches. Geometry (one affine warp): rotation up to +/-20 degrees, shifts up to
/// 20% of the size, zoom 0.85-1.15, random horizontal flip, nearest-edge fill. Shortcut controls: every image is
/// re-encoded as JPEG at a random quality (so compression traces, PNG vs JPEG on CT, say nothing about the label),
/// then brightness and contrast are jittered (so exposure and windowing of a source say nothing either).
/// </summary>
internal sealed class Augmenter(int seed, double maxRotationDegrees = 20, double maxShift = 0.2, double maxZoom = 0.15,
    double reencodeProbability = 0.8, int minQuality = 30, int maxQuality = 95, double maxBrightness = 0.1, double maxContrast = 0.25)
{
    public const string Description =
        "rotation 20 deg / shift 0.2 / zoom 0.85-1.15 / horizontal flip, JPEG re-encoding of 80% of images at quality 30-95, " +
        "brightness +/-0.1 and contrast x0.75-1.25";

    private readonly Random random = new(seed);

    /// <summary>NHWC batch in, augmented NHWC batch out. Uses torch's global generator (seeded by the trainer).</summary>
    public Tensor Apply(Tensor nhwc)
    {
        using var scope = NewDisposeScope();
        var n = nhwc.shape[0];
        var reencoded = Reencode(nhwc);
        var angle = (rand(n) * 2 - 1) * (maxRotationDegrees * Math.PI / 180);
        var shiftX = (rand(n) * 2 - 1) * (2 * maxShift); // grid coordinates span 2 units per image side
        var shiftY = (rand(n) * 2 - 1) * (2 * maxShift);
        var zoom = 1 + ((rand(n) * 2 - 1) * maxZoom); // samples a region 1/zoom the size: > 1 zooms out
        var flip = where(rand(n) < 0.5, tensor(-1f), tensor(1f));
        var cos = angle.cos() * zoom;
        var sin = angle.sin() * zoom;
        // Maps each output location to where it samples in the input; flipping negates the output x axis.
        var theta = stack([
            stack([cos * flip, -sin, shiftX], 1),
            stack([sin * flip, cos, shiftY], 1),
        ], 1);
        var nchw = reencoded.permute(0, 3, 1, 2);
        var grid = nn.functional.affine_grid(theta, [n, nchw.shape[1], nchw.shape[2], nchw.shape[3]], align_corners: false);
        var warped = nn.functional.grid_sample(nchw, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Border, align_corners: false);
        var mean = warped.mean([1, 2, 3], keepdim: true);
        var contrast = (1 + ((rand(n, 1, 1, 1) * 2 - 1) * maxContrast));
        var brightness = (rand(n, 1, 1, 1) * 2 - 1) * maxBrightness;
        var jittered = (((warped - mean) * contrast) + mean + brightness).clamp(0, 1);
        return jittered.permute(0, 2, 3, 1).contiguous().MoveToOuterDisposeScope();
    }

    private Tensor Reencode(Tensor nhwc)
    {
        var n = (int)nhwc.shape[0];
        int height = (int)nhwc.shape[1], width = (int)nhwc.shape[2];
        var pixels = nhwc.contiguous().data<float>().ToArray();
        var perImage = height * width * 3;
        for (var i = 0; i < n; i++)
        {
            if (random.NextDouble() >= reencodeProbability)
            {
                continue;
            }

            var quality = random.Next(minQuality, maxQuality + 1);
            var image = pixels.AsSpan(i * perImage, perImage);
            using var bitmap = Reencoding.ToBitmap(image, width, height);
            var bytes = Reencoding.Encode(bitmap, SKEncodedImageFormat.Jpeg, quality);
            ScanTensors.PreprocessBytes(bytes, ScanTensors.SeedInput).CopyTo(image);
        }

        return tensor(pixels, nhwc.shape);
    }
}
