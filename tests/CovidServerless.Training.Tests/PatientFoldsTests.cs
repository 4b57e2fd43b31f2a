using CovidServerless.Training.Data;

namespace CovidServerless.Training.Tests;

public sealed class PatientFoldsTests
{
    // 80 patients with one to six images each (follow-up X-rays of the same person), a third of them COVID.
    private static readonly Dictionary<string, string> GroupOf = Enumerable.Range(0, 80)
        .SelectMany(g => Enumerable.Range(0, 1 + (g % 6)).Select(k => (Path: $"/data/p{g}-{k}.png", Group: $"p{g}")))
        .ToDictionary(x => x.Path, x => x.Group);

    private static readonly List<LabelledScan> Scans = [.. GroupOf.Keys.Select(path =>
        new LabelledScan(path, int.Parse(GroupOf[path][1..], System.Globalization.CultureInfo.InvariantCulture) % 3 == 0 ? LabelledScan.Covid : LabelledScan.NonCovid, ""))];

    private static string Group(LabelledScan scan) => GroupOf[scan.Path];

    [Fact]
    public void No_patient_has_images_in_two_folds()
    {
        var fold = PatientFolds.Assign(Scans, Group, 5, seed: 42);

        Assert.All(Scans.Select((s, i) => (Group: Group(s), Fold: fold[i])).GroupBy(x => x.Group),
            g => Assert.Single(g.Select(x => x.Fold).Distinct()));
    }

    [Fact]
    public void Folds_have_close_sizes_and_both_classes()
    {
        var fold = PatientFolds.Assign(Scans, Group, 5, seed: 42);

        foreach (var label in new[] { LabelledScan.Covid, LabelledScan.NonCovid })
        {
            var sizes = Enumerable.Range(0, 5).Select(k => Scans.Where((s, i) => fold[i] == k && s.Label == label).Count()).ToArray();
            var largestGroup = Scans.Where(s => s.Label == label).GroupBy(Group).Max(g => g.Count());
            Assert.True(sizes.Max() - sizes.Min() <= largestGroup, $"class {label}: {string.Join("/", sizes)}");
            Assert.All(sizes, size => Assert.True(size > 0));
        }
    }

    [Fact]
    public void The_seed_decides_the_folds()
    {
        Assert.Equal(PatientFolds.Assign(Scans, Group, 5, 42), PatientFolds.Assign(Scans, Group, 5, 42));
        Assert.NotEqual(PatientFolds.Assign(Scans, Group, 5, 42), PatientFolds.Assign(Scans, Group, 5, 43));
    }

    [Fact]
    public void A_scan_without_a_patient_group_is_its_own_patient()
    {
        var fold = PatientFolds.Assign(Scans, _ => null, 5, seed: 1);

        Assert.Equal(5, fold.Distinct().Count());
        Assert.Equal(Scans.Count, fold.Length);
    }
}
