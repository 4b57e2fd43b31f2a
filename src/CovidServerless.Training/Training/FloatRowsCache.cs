using System.Runtime.InteropServices;

namespace CovidServerless.Training.Training;

/// <summary>Rows of floats on disk (raw little-endian), for teacher outputs that are costly to compute and never change for a key.</summary>
internal static class FloatRowsCache
{
    /// <summary>The cached rows, or null when the file is missing or holds another shape.</summary>
    public static float[][]? Read(string file, int rows, int width)
    {
        if (!File.Exists(file))
        {
            return null;
        }

        var flat = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(file)).ToArray();
        return flat.Length == rows * width ? [.. flat.Chunk(width)] : null;
    }

    public static float[][] Write(string file, float[][] rows)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllBytes(file, MemoryMarshal.AsBytes(rows.SelectMany(r => r).ToArray().AsSpan()).ToArray());
        return rows;
    }
}
