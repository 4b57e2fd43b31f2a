using System.Security.Cryptography;
using CovidServerless.Core;
using CovidServerless.TestSupport;

namespace CovidServerless.Torture;

/// <summary>What one upload is: a valid scan, a bad file (how it was made) or the poison scan.</summary>
public enum UploadKind
{
    Valid,
    Bad,
    Poison,
}

/// <summary>One file of the burst: where it goes, its bytes, and what it is.</summary>
public sealed record PlannedUpload(Modality Modality, string BlobName, byte[] Bytes, UploadKind Kind, string Description);

/// <summary>
/// The burst: <see cref="TortureSettings.Scans"/> real images from the shared data (chest and ct, train and val; the
/// same file reused under other names to reach the count), <see cref="TortureSettings.BadFiles"/> bad files made from
/// real images with a fixed seed (the fuzz tests' mutations, plus zero bytes and wrong extensions), and one poison
/// scan, a real image with a marker appended (so that no other upload has its hash), at a random place.
/// </summary>
public static class Corpus
{
    private static readonly string[] Extensions = [".png", ".jpg", ".jpeg"];
    private static readonly string[] WrongExtensions = [".dcm", ".txt", ".gif", ".bmp", ".exe", ""];

    public static IReadOnlyList<PlannedUpload> Make(TortureSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var sources = Sources(settings.Data);
        var random = new Random(settings.Seed);
        var uploads = new List<PlannedUpload>();
        for (var i = 0; i < settings.Scans; i++)
        {
            var (modality, path) = sources[random.Next(sources.Count)];
            uploads.Add(new PlannedUpload(modality, $"torture-{i:D5}{Path.GetExtension(path)}", File.ReadAllBytes(path), UploadKind.Valid, "real scan"));
        }

        for (var i = 0; i < settings.BadFiles; i++)
        {
            var (modality, path) = sources[random.Next(sources.Count)];
            var original = File.ReadAllBytes(path);
            var extension = Path.GetExtension(path);
            string description;
            byte[] bytes;
            switch (random.Next(13))
            {
                case 11:
                    (description, bytes) = ("zero bytes", []);
                    break;
                case 12:
                    // Valid bytes under a misleading name: the pipeline reads the content, not the name.
                    extension = WrongExtensions[random.Next(WrongExtensions.Length)];
                    (description, bytes) = ($"wrong extension '{extension}'", original);
                    break;
                default:
                    (description, bytes) = MutatedScans.Mutate(original, random);
                    break;
            }

            uploads.Insert(random.Next(uploads.Count + 1), new PlannedUpload(modality, $"torture-bad-{i:D4}{extension}", bytes, UploadKind.Bad, description));
        }

        var (poisonModality, poisonPath) = sources[random.Next(sources.Count)];
        byte[] poison = [.. File.ReadAllBytes(poisonPath), .. "torture-poison"u8];
        var at = (int)(uploads.Count * (0.2 + (0.4 * random.NextDouble())));
        uploads.Insert(at, new PlannedUpload(poisonModality, $"torture-poison{Path.GetExtension(poisonPath)}", poison, UploadKind.Poison, "poison scan"));
        return uploads;
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static List<(Modality, string)> Sources(string data)
    {
        var sources = new List<(Modality, string)>();
        foreach (var (modality, folder) in new[] { (Modality.Chest, "chest"), (Modality.Ct, "ct") })
        {
            foreach (var split in new[] { "train", "val" })
            {
                var root = Path.Combine(data, folder, split);
                if (Directory.Exists(root))
                {
                    sources.AddRange(Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
                        .Where(file => Extensions.Contains(Path.GetExtension(file).ToLowerInvariant()))
                        .Order(StringComparer.Ordinal)
                        .Select(file => (modality, file)));
                }
            }
        }

        return sources.Count > 0
            ? sources
            : throw new InvalidOperationException($"No scans under {data}/{{chest,ct}}/{{train,val}}: the torture run uploads real images.");
    }
}
