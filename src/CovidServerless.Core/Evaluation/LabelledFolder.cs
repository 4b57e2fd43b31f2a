namespace CovidServerless.Core.Evaluation;

/// <summary>A labelled image for evaluation: a file under covid/ or noncovid/.</summary>
public sealed record LabelledScan(string Path, bool IsCovid);

/// <summary>Reads a folder holding covid/ and noncovid/ subfolders of images.</summary>
public static class LabelledFolder
{
    public static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".dcm"];

    public static IReadOnlyList<LabelledScan> Read(string folder)
    {
        var scans = new List<LabelledScan>();
        foreach (var (sub, isCovid) in new[] { ("covid", true), ("noncovid", false) })
        {
            var path = System.IO.Path.Combine(folder, sub);
            if (!Directory.Exists(path))
            {
                throw new DirectoryNotFoundException($"{folder} must hold covid/ and noncovid/ subfolders; {path} is missing.");
            }

            scans.AddRange(ImagesUnder(path).Select(f => new LabelledScan(f, isCovid)));
        }

        return scans;
    }

    public static IEnumerable<string> ImagesUnder(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => ImageExtensions.Contains(System.IO.Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal);
}
