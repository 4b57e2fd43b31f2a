namespace CovidServerless.Training.Data;

/// <summary>
/// Assigns scans to cross-validation folds by patient group, so that no patient has images on both sides of a split.
/// Groups are shuffled (seeded) per class and each goes to the fold holding the fewest images of its class so far,
/// which keeps the folds' sizes and class mix close.
/// </summary>
internal static class PatientFolds
{
    /// <param name="groupOf">Patient group of a scan; a scan without one is its own group.</param>
    public static int[] Assign(IReadOnlyList<LabelledScan> scans, Func<LabelledScan, string?> groupOf, int folds, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(folds, 2);
        var groups = scans.Select((scan, index) => (Group: groupOf(scan) ?? $"file:{scan.Path}", scan.Label, index))
            .GroupBy(s => s.Group)
            .Select(g => (Label: g.Min(s => s.Label), Members: g.Select(s => s.index).ToArray()))
            .OrderBy(g => g.Members[0])
            .ToList();
        var random = new Random(seed);
        var fold = new int[scans.Count];
        var filled = new int[2, folds];
        foreach (var label in new[] { LabelledScan.Covid, LabelledScan.NonCovid })
        {
            var ofClass = groups.Where(g => g.Label == label).ToArray();
            random.Shuffle(ofClass);
            foreach (var group in ofClass)
            {
                var target = Enumerable.Range(0, folds).MinBy(k => filled[label, k]);
                filled[label, target] += group.Members.Length;
                foreach (var member in group.Members)
                {
                    fold[member] = target;
                }
            }
        }

        return fold;
    }
}
