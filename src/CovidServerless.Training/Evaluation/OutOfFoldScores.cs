using System.Globalization;

namespace CovidServerless.Training.Evaluation;

/// <summary>One out-of-fold score: a scan scored by the model of the fold that did not train on it.</summary>
/// <param name="File">Path under the data folder, '/' separators.</param>
/// <param name="Variant">"original"; the scan re-encoded first, "jpeg75" or "png" (the file-format check); or "mirrored" (left-right, for test-time augmentation).</param>
internal sealed record OutOfFoldScore(string File, int Fold, bool IsCovid, string Model, string Variant, double PCovid);

/// <summary>
/// The cross-validation's output, models/cv/&lt;modality&gt;-oof.csv: a "# recipe: ..." line, a header, one row per
/// score. Rows are appended as each fold's model finishes, so an interrupted run resumes where it stopped.
/// </summary>
internal static class OutOfFoldScores
{
    public const string Original = "original";
    public const string Mirrored = "mirrored";
    private const string Header = "file,fold,label,model,variant,p_covid";

    public static string PathFor(string outDirectory, string modality) => Path.Combine(outDirectory, "cv", $"{modality}-oof.csv");

    /// <summary>Starts the file, or checks that an existing one was made by the same recipe (mixing recipes would be silent nonsense).</summary>
    public static void Begin(string path, string recipe)
    {
        var line = $"# recipe: {recipe}";
        if (File.Exists(path))
        {
            var first = File.ReadLines(path).FirstOrDefault();
            if (first != line)
            {
                throw new ArgumentException($"{path} holds scores of another recipe ({first}); move it away to start over.");
            }

            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllLines(path, [line, Header]);
    }

    public static string Recipe(string path) => File.ReadLines(path).First()["# recipe: ".Length..];

    public static void Append(string path, IEnumerable<OutOfFoldScore> scores) =>
        File.AppendAllLines(path, scores.Select(s => string.Join(',',
            s.File, s.Fold.ToString(CultureInfo.InvariantCulture), s.IsCovid ? "covid" : "noncovid", s.Model, s.Variant,
            s.PCovid.ToString("G7", CultureInfo.InvariantCulture))));

    public static List<OutOfFoldScore> Read(string path) =>
        [.. File.ReadLines(path).Skip(2).Where(l => l.Length > 0).Select(l => l.Split(','))
            .Select(f => new OutOfFoldScore(f[0], int.Parse(f[1], CultureInfo.InvariantCulture), f[2] == "covid", f[3], f[4],
                double.Parse(f[5], CultureInfo.InvariantCulture)))];
}
