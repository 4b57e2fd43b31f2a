using static TorchSharp.torch;

namespace CovidServerless.Training.Data;

/// <summary>
/// The seed's Keras ImageDataGenerator augmentation, done on whole batches with one affine warp:
/// rotation up to +/-20 degrees, horizontal and vertical shifts up to 20% of the size, random horizontal
/// flip, nearest-edge fill ("border" padding, Keras' fill_mode="nearest").
/// </summary>
internal sealed class Augmenter(double maxRotationDegrees = 20, double maxShift = 0.2, bool horizontalFlip = true)
{
    /// <summary>NHWC batch in, augmented NHWC batch out. Uses torch's global generator (seeded by the trainer).</summary>
    public Tensor Apply(Tensor nhwc)
    {
        using var scope = NewDisposeScope();
        var n = nhwc.shape[0];
        var angle = (rand(n) * 2 - 1) * (maxRotationDegrees * Math.PI / 180);
        var shiftX = (rand(n) * 2 - 1) * (2 * maxShift); // grid coordinates span 2 units per image side
        var shiftY = (rand(n) * 2 - 1) * (2 * maxShift);
        var flip = horizontalFlip ? where(rand(n) < 0.5, tensor(-1f), tensor(1f)) : ones(n);
        var cos = angle.cos();
        var sin = angle.sin();
        // Maps each output location to where it samples in the input; flipping negates the output x axis.
        var theta = stack([
            stack([cos * flip, -sin, shiftX], 1),
            stack([sin * flip, cos, shiftY], 1),
        ], 1);
        var nchw = nhwc.permute(0, 3, 1, 2);
        var grid = nn.functional.affine_grid(theta, [n, nchw.shape[1], nchw.shape[2], nchw.shape[3]], align_corners: false);
        var warped = nn.functional.grid_sample(nchw, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Border, align_corners: false);
        return warped.permute(0, 2, 3, 1).contiguous().MoveToOuterDisposeScope();
    }
}
