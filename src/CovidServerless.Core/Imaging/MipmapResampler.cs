using System.Buffers;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SkiaSharp;

namespace CovidServerless.Core.Imaging;

/// <summary>
/// Skia's downscale with linear filtering between linear mipmap levels (what <see cref="ImagePreprocessor"/> asks Skia
/// for), reproduced byte for byte and faster than Skia's own (docs/performance.md). The models were trained on Skia's
/// pixels, so every step follows Skia (SkMipmap's box filters, SkMipmapAccessor's level choice, the raster
/// pipeline's bilerp_clamp_8888, mipmap_linear_finish and store_8888) and tests compare the output with Skia's.
/// </summary>
internal static class MipmapResampler
{
    private const float ByteToUnit = 1 / 255f;

    /// <summary>
    /// Fills <paramref name="rgba"/> (width x height RGBA8888) with the source resized as Skia would. False where Skia
    /// would not blend two mipmap levels (upscaling or a downscale of less than about 1.4x): Skia's own fast path
    /// then applies and the caller should use it.
    /// </summary>
    public static bool TryResize(SKBitmap source, int width, int height, Span<byte> rgba) =>
        TryResize(source, width, height, rgba, twoPixelsAtATime: Vector256.IsHardwareAccelerated);

    /// <param name="twoPixelsAtATime">
    /// Blend two neighbouring pixels in one 256-bit vector (where the CPU accelerates them; the same arithmetic, lane
    /// for lane), or each pixel alone (elsewhere, and for tests of that path here).
    /// </param>
    internal static bool TryResize(SKBitmap source, int width, int height, Span<byte> rgba, bool twoPixelsAtATime)
    {
        if (source.ColorType != SKColorType.Rgba8888 || rgba.Length != width * height * 4)
        {
            return false;
        }

        // SkMatrix::RectToRect gives the forward scale, invert() its reciprocal; SkMipmap::ComputeLevel takes the
        // smaller of 1 / inverse, biased by -0.5 ("sharpen"); at or below level 0 no mipmap is used.
        float inverseX = 1f / ((float)width / source.Width), inverseY = 1f / ((float)height / source.Height);
        var scale = MathF.Min(1f / inverseX, 1f / inverseY);
        if (!(scale < 1f))
        {
            return false;
        }

        var level = MathF.Max(-MathF.Log2(scale) - 0.5f, 0f);
        if (!(level > 0f) || !float.IsFinite(level))
        {
            return false;
        }

        // Levels past the scan's own come from the shared pool: a 512 px scan's first level alone is 256 KB, which
        // would otherwise land on the large object heap with every scan.
        var upperLevel = (int)MathF.Floor(level);
        byte[]? upperBuffer = null, lowerBuffer = null;
        try
        {
            var upper = new Level(source.GetPixelSpan(), source.Width, source.Height);
            for (var i = 0; i < upperLevel; i++)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(upper.NextLevelBytes);
                upper = upper.Downsample(buffer);
                Return(upperBuffer);
                upperBuffer = buffer;
            }

            lowerBuffer = ArrayPool<byte>.Shared.Rent(upper.NextLevelBytes);
            var lower = upper.Downsample(lowerBuffer);

            // Device pixel centres to upper-level coordinates (the scale part of the total inverse matrix), and on to
            // the lower level by the ratio of their sizes (mipmap_linear_update).
            var upperScaleX = (float)upper.Width / source.Width * inverseX;
            var upperScaleY = (float)upper.Height / source.Height * inverseY;
            Blend(
                upper,
                lower,
                level - upperLevel,
                (Axis.For(width, upperScaleX, 1f, upper.Width), Axis.For(height, upperScaleY, 1f, upper.Height)),
                (Axis.For(width, upperScaleX, (float)lower.Width / upper.Width, lower.Width), Axis.For(height, upperScaleY, (float)lower.Height / upper.Height, lower.Height)),
                MemoryMarshal.Cast<byte, uint>(rgba),
                width,
                twoPixelsAtATime);
            return true;
        }
        finally
        {
            Return(upperBuffer);
            Return(lowerBuffer);
        }
    }

    private static void Return(byte[]? buffer)
    {
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer, clearArray: true); // patient pixels do not outlive the call in the pool
        }
    }

    private static void Blend(
        Level upper, Level lower, float lowerWeight, (Axis X, Axis Y) upperAxes, (Axis X, Axis Y) lowerAxes, Span<uint> output, int width, bool twoPixelsAtATime)
    {
        // The last pixel of an odd row goes alone either way.
        var pairs = twoPixelsAtATime ? width & ~1 : 0;
        var weight = Vector128.Create(lowerWeight);
        var weights = Vector256.Create(lowerWeight);
        for (var y = 0; y < output.Length / width; y++)
        {
            var from = upper.Rows(upperAxes.Y, y);
            var to = lower.Rows(lowerAxes.Y, y);
            var row = output.Slice(y * width, width);
            var x = 0;
            for (; x < pairs; x += 2)
            {
                var value = Lerp(from.Bilerp(upperAxes.X, x, x + 1), to.Bilerp(lowerAxes.X, x, x + 1), weights);
                var words = Vector128.Narrow(value.GetLower(), value.GetUpper()).AsUInt16();
                MemoryMarshal.Write(MemoryMarshal.AsBytes(row.Slice(x, 2)), Vector128.Narrow(words, Vector128<ushort>.Zero).AsUInt64().ToScalar());
            }

            for (; x < width; x++)
            {
                var value = Lerp(from.Bilerp(upperAxes.X, x), to.Bilerp(lowerAxes.X, x), weight);
                var words = Vector128.Narrow(value, Vector128<int>.Zero).AsUInt16();
                row[x] = Vector128.Narrow(words, Vector128<ushort>.Zero).AsUInt32().ToScalar();
            }
        }
    }

    // mipmap_linear_finish: lerp(from, to, t) = (to - from) * t + from, not fused here; store_8888 clamps to [0, 1]
    // and rounds to nearest even.
    private static Vector128<int> Lerp(Vector128<float> from, Vector128<float> to, Vector128<float> weight)
    {
        var value = ((to - from) * weight) + from;
        return Vector128.ConvertToInt32(Vector128.Round(Vector128.Min(Vector128.Max(value, Vector128<float>.Zero), Vector128<float>.One) * 255f));
    }

    private static Vector256<int> Lerp(Vector256<float> from, Vector256<float> to, Vector256<float> weight)
    {
        var value = ((to - from) * weight) + from;
        return Vector256.ConvertToInt32(Vector256.Round(Vector256.Min(Vector256.Max(value, Vector256<float>.Zero), Vector256<float>.One) * 255f));
    }

    /// <summary>Per output column (or row): the two texels a bilinear sample reads and their weights.</summary>
    private readonly record struct Axis(int[] Near, int[] Far, float[] NearWeight, float[] FarWeight)
    {
        public static Axis For(int outputs, float toUpper, float toLevel, int size)
        {
            var axis = new Axis(new int[outputs], new int[outputs], new float[outputs], new float[outputs]);
            for (var i = 0; i < outputs; i++)
            {
                var centre = (i + 0.5f) * toUpper * toLevel;

                var fraction = Fract(centre + 0.5f);
                axis.Near[i] = Texel(centre - 0.5f, size);
                axis.Far[i] = Texel(centre + 0.5f, size);
                axis.NearWeight[i] = 1f - fraction;
                axis.FarWeight[i] = fraction;
            }

            return axis;
        }

        private static float Fract(float v) => v - MathF.Floor(v);

        // ix_and_ptr: clamp to [0, size) and truncate.
        private static int Texel(float coordinate, int size) => (int)Math.Clamp(coordinate, 0f, MathF.BitDecrement(size));
    }

    /// <summary>
    /// The two rows of a level that one output row samples, with their weights. Bilerp is bilerp_clamp_8888: the four
    /// texels weighted by area, summed in Skia's order, without fused multiply-adds; for one pixel, or for two side by
    /// side, each in its own 128-bit half with the same arithmetic.
    /// </summary>
    private readonly ref struct RowPair(ReadOnlySpan<uint> near, ReadOnlySpan<uint> far, float nearWeight, float farWeight)
    {
        private readonly ReadOnlySpan<uint> near = near;
        private readonly ReadOnlySpan<uint> far = far;

        public Vector128<float> Bilerp(Axis xs, int x)
        {
            int x0 = xs.Near[x], x1 = xs.Far[x];
            float wx0 = xs.NearWeight[x], wx1 = xs.FarWeight[x];
            var sum = Texel(near[x0]) * Vector128.Create(wx0 * nearWeight);
            sum += Texel(near[x1]) * Vector128.Create(wx1 * nearWeight);
            sum += Texel(far[x0]) * Vector128.Create(wx0 * farWeight);
            sum += Texel(far[x1]) * Vector128.Create(wx1 * farWeight);
            return sum;
        }

        public Vector256<float> Bilerp(Axis xs, int x, int nextX)
        {
            int a0 = xs.Near[x], a1 = xs.Far[x], b0 = xs.Near[nextX], b1 = xs.Far[nextX];
            Vector256<float> wx0 = Pair(xs.NearWeight[x], xs.NearWeight[nextX]), wx1 = Pair(xs.FarWeight[x], xs.FarWeight[nextX]);
            Vector256<float> wy0 = Vector256.Create(nearWeight), wy1 = Vector256.Create(farWeight);
            var sum = Texels(near[a0], near[b0]) * (wx0 * wy0);
            sum += Texels(near[a1], near[b1]) * (wx1 * wy0);
            sum += Texels(far[a0], far[b0]) * (wx0 * wy1);
            sum += Texels(far[a1], far[b1]) * (wx1 * wy1);
            return sum;
        }

        private static Vector256<float> Pair(float first, float second) => Vector256.Create(Vector128.Create(first), Vector128.Create(second));

        private static Vector128<float> Texel(uint texel)
        {
            var bytes = Vector128.CreateScalarUnsafe(texel).AsByte();
            return Vector128.ConvertToSingle(Vector128.WidenLower(Vector128.WidenLower(bytes)).AsInt32()) * ByteToUnit;
        }

        private static Vector256<float> Texels(uint first, uint second)
        {
            var bytes = Vector256.CreateScalarUnsafe(first | ((ulong)second << 32)).AsByte();
            return Vector256.ConvertToSingle(Vector256.WidenLower(Vector256.WidenLower(bytes)).AsInt32()) * ByteToUnit;
        }
    }

    /// <summary>One mipmap level's RGBA8888 pixels (the first is the decoded scan's own, not copied).</summary>
    private readonly ref struct Level(ReadOnlySpan<byte> pixels, int width, int height)
    {
        private readonly ReadOnlySpan<byte> pixels = pixels;

        public int Width { get; } = width;

        public int Height { get; } = height;

        /// <summary>The two rows output row <paramref name="y"/> samples, and their weights.</summary>
        public RowPair Rows(Axis ys, int y)
        {
            var texels = MemoryMarshal.Cast<byte, uint>(pixels);
            return new RowPair(texels.Slice(ys.Near[y] * Width, Width), texels.Slice(ys.Far[y] * Width, Width), ys.NearWeight[y], ys.FarWeight[y]);
        }

        public int NextLevelBytes => Math.Max(1, Width / 2) * Math.Max(1, Height / 2) * 4;

        /// <summary>
        /// SkMipmap's next level, written into <paramref name="buffer"/>: half the size (rounded down); a 2-tap box along
        /// an even side, 1-2-1 along an odd one; sums truncated. The four channels are summed at once in 16-bit lanes of
        /// two words (at most 16 x 255).
        /// </summary>
        public Level Downsample(byte[] buffer)
        {
            int width = Math.Max(1, Width / 2), height = Math.Max(1, Height / 2);
            bool oddX = Width > 1 && (Width & 1) == 1, oddY = Height > 1 && (Height & 1) == 1;
            var shift = (oddX ? 2 : 1) + (oddY ? 2 : 1);
            var next = buffer.AsSpan(0, NextLevelBytes);
            var source = MemoryMarshal.Cast<byte, uint>(pixels);
            var target = MemoryMarshal.Cast<byte, uint>(next);
            int lastX = Width - 1, lastY = Height - 1;
            for (var y = 0; y < height; y++)
            {
                var r0 = source.Slice(Math.Min(2 * y, lastY) * Width, Width);
                var r1 = source.Slice(Math.Min((2 * y) + 1, lastY) * Width, Width);
                var r2 = source.Slice(Math.Min((2 * y) + 2, lastY) * Width, Width);
                for (var x = 0; x < width; x++)
                {
                    int c0 = Math.Min(2 * x, lastX), c1 = Math.Min((2 * x) + 1, lastX), c2 = Math.Min((2 * x) + 2, lastX);
                    var (even, odd) = Row(r0, c0, c1, c2, oddX);
                    var middle = Row(r1, c0, c1, c2, oddX);
                    Add(ref even, ref odd, middle);
                    if (oddY)
                    {
                        Add(ref even, ref odd, middle);
                        Add(ref even, ref odd, Row(r2, c0, c1, c2, oddX));
                    }

                    target[(y * width) + x] = (uint)(((even >> shift) & 0x00FF00FF) | (((odd >> shift) & 0x00FF00FF) << 8));
                }
            }

            return new Level(next, width, height);
        }

        private static (ulong Even, ulong Odd) Row(ReadOnlySpan<uint> row, int c0, int c1, int c2, bool odd)
        {
            var (even, oddLanes) = Lanes(row[c0]);
            var (e1, o1) = Lanes(row[c1]);
            even += e1;
            oddLanes += o1;
            if (odd)
            {
                var (e2, o2) = Lanes(row[c2]);
                even += e1 + e2;
                oddLanes += o1 + o2;
            }

            return (even, oddLanes);
        }

        // Channels 0 and 2 (even) and 1 and 3 (odd) of a pixel, each in a 16-bit lane.
        private static (ulong Even, ulong Odd) Lanes(uint pixel) => (pixel & 0x00FF00FF, (pixel >> 8) & 0x00FF00FF);

        private static void Add(ref ulong even, ref ulong odd, (ulong Even, ulong Odd) row)
        {
            even += row.Even;
            odd += row.Odd;
        }
    }
}
