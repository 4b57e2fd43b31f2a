namespace CovidServerless.Core.Heatmaps;

/// <summary>
/// A class-activation map, row by row: per location, its contribution to logit_covid - logit_noncovid (positive =
/// toward COVID). A model's map is its last feature grid (e.g. 7x7); an ensemble's is at the scan's size.
/// </summary>
public sealed record CamMap(int Width, int Height, float[] Values)
{
    /// <summary>Bilinear resize with cell centres aligned (each cell covers an equal share of the image), sign kept.</summary>
    public CamMap Resize(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        var (x0, x1, wx) = Taps(Width, width);
        var (y0, y1, wy) = Taps(Height, height);
        var result = new float[width * height];
        for (var y = 0; y < height; y++)
        {
            var top = y0[y] * Width;
            var bottom = y1[y] * Width;
            var fy = wy[y];
            var row = result.AsSpan(y * width, width);
            for (var x = 0; x < width; x++)
            {
                var fx = wx[x];
                var upper = Values[top + x0[x]] + (fx * (Values[top + x1[x]] - Values[top + x0[x]]));
                var lower = Values[bottom + x0[x]] + (fx * (Values[bottom + x1[x]] - Values[bottom + x0[x]]));
                row[x] = upper + (fy * (lower - upper));
            }
        }

        return new CamMap(width, height, result);
    }

    /// <summary>The element-wise mean of maps of the same size (the ensemble's map from its members', resized alike).</summary>
    public static CamMap Mean(IReadOnlyList<CamMap> maps)
    {
        ArgumentNullException.ThrowIfNull(maps);
        if (maps.Count == 0)
        {
            throw new ArgumentException("No maps to average.", nameof(maps));
        }

        var first = maps[0];
        if (maps.Any(m => m.Width != first.Width || m.Height != first.Height))
        {
            throw new ArgumentException("Maps must have the same size to be averaged; resize them first.", nameof(maps));
        }

        var sum = new float[first.Values.Length];
        foreach (var map in maps)
        {
            for (var i = 0; i < sum.Length; i++)
            {
                sum[i] += map.Values[i];
            }
        }

        for (var i = 0; i < sum.Length; i++)
        {
            sum[i] /= maps.Count;
        }

        return new CamMap(first.Width, first.Height, sum);
    }

    /// <summary>Share of the positive heat (sum of positive values) that lies outside the central box covering
    /// <paramref name="centralFraction"/> of each side: a shortcut alarm (borders, labels, corners).</summary>
    public double PositiveShareOutsideCentre(double centralFraction = 0.6)
    {
        var margin = (1 - centralFraction) / 2;
        double inside = 0, total = 0;
        for (var y = 0; y < Height; y++)
        {
            var cy = (y + 0.5) / Height;
            for (var x = 0; x < Width; x++)
            {
                var v = Values[(y * Width) + x];
                if (v <= 0)
                {
                    continue;
                }

                var cx = (x + 0.5) / Width;
                total += v;
                if (cx >= margin && cx <= 1 - margin && cy >= margin && cy <= 1 - margin)
                {
                    inside += v;
                }
            }
        }

        return total > 0 ? (total - inside) / total : 0;
    }

    private static (int[] Low, int[] High, float[] Weight) Taps(int source, int target)
    {
        var low = new int[target];
        var high = new int[target];
        var weight = new float[target];
        var scale = (double)source / target;
        for (var i = 0; i < target; i++)
        {
            var position = Math.Clamp(((i + 0.5) * scale) - 0.5, 0, source - 1);
            low[i] = (int)Math.Floor(position);
            high[i] = Math.Min(low[i] + 1, source - 1);
            weight[i] = (float)(position - low[i]);
        }

        return (low, high, weight);
    }
}
