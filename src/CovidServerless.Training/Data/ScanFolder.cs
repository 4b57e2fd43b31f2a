using System.Security.Cryptography;

namespace CovidServerless.Training.Data;

/// <summary>One labelled image file. Label 0 = COVID, 1 = non-COVID (the seed's softmax order).</summary>
internal sealed record LabelledScan(string Path, int Label, string Sha256)
{
    public const int Covid = 0;
    public const int NonCovid = 1;
}

/// <summary>
/// A split folder holding covid/ and noncovid/ subfolders (../shared/data/&lt;modality&gt;/&lt;split&gt;), listed in
/// a stable order, with a fingerprint of its contents so a model records exactly what it was trained on.
/// </summary>
internal sealed class ScanFolder
{
    private static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg"];

    private ScanFolder(string root, IReadOnlyList<LabelledScan> scans)
    {
        Root = root;
        Scans = scans;
        Fingerprint = Hash(scans.Select(s => s.Sha256).Order(StringComparer.Ordinal));
        RowsKey = RowsKeyOf(scans);
    }

    public string Root { get; }

    public IReadOnlyList<LabelledScan> Scans { get; }

    /// <summary>sha256 (hex) of the sorted per-file sha256 hashes joined by newlines.</summary>
    public string Fingerprint { get; }

    /// <summary>
    /// sha256 (hex) of each scan's hash and label in listed order: what a cache of one row per scan depends on (a
    /// renamed or relabelled file changes the rows' order or meaning, not <see cref="Fingerprint"/>).
    /// </summary>
    public string RowsKey { get; }

    /// <summary>The <see cref="RowsKey"/> of any list of scans (e.g. the subset a teacher trained on).</summary>
    public static string RowsKeyOf(IEnumerable<LabelledScan> scans) => Hash(scans.Select(s => $"{s.Sha256} {s.Label}"));

    private static string Hash(IEnumerable<string> lines) =>
        Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', lines))));

    public int CovidCount => Scans.Count(s => s.Label == LabelledScan.Covid);

    /// <summary>Several folders as one (e.g. train and val pooled for cross-validation).</summary>
    public static ScanFolder Pool(string root, params ScanFolder[] folders) =>
        new(root, [.. folders.SelectMany(f => f.Scans)]);

    public static ScanFolder Open(string root)
    {
        var scans = new List<LabelledScan>();
        foreach (var (folder, label) in new[] { ("covid", LabelledScan.Covid), ("noncovid", LabelledScan.NonCovid) })
        {
            var directory = System.IO.Path.Combine(root, folder);
            if (!Directory.Exists(directory))
            {
                throw new DirectoryNotFoundException($"Expected a '{folder}' subfolder in {root}.");
            }

            scans.AddRange(Directory.EnumerateFiles(directory)
                .Where(p => ImageExtensions.Contains(System.IO.Path.GetExtension(p).ToLowerInvariant()))
                .Order(StringComparer.Ordinal)
                .Select(p => new LabelledScan(p, label, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(p))))));
        }

        return new ScanFolder(root, scans);
    }
}
