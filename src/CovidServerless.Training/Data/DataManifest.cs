namespace CovidServerless.Training.Data;

/// <summary>One image of the shared data's manifest.csv.</summary>
/// <param name="File">Path under the data folder, with '/' separators.</param>
/// <param name="Group">Patient group, prefixed with the modality (groups are numbered per modality).</param>
internal sealed record DataManifestRow(string File, string Modality, string Split, string Group, string Licence);

/// <summary>Reads the shared data's manifest.csv (quoted fields may hold commas and doubled quotes).</summary>
internal static class DataManifest
{
    public static List<DataManifestRow> Read(string dataRoot)
    {
        var lines = File.ReadAllLines(Path.Combine(dataRoot, "manifest.csv"));
        var header = SplitCsv(lines[0]);
        int Column(string name) => header.IndexOf(name) is >= 0 and var index
            ? index
            : throw new InvalidDataException($"manifest.csv has no '{name}' column.");
        int file = Column("file"), modality = Column("modality"), split = Column("split"), group = Column("patient_group"), licence = Column("licence");
        return [.. lines.Skip(1).Where(l => l.Length > 0).Select(SplitCsv)
            .Select(f => new DataManifestRow(f[file], f[modality], f[split], $"{f[modality]}:{f[group]}", f[licence]))];
    }

    private static List<string> SplitCsv(string line)
    {
        var fields = new List<string>();
        var current = new System.Text.StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted && c == '"' && i + 1 < line.Length && line[i + 1] == '"')
            {
                current.Append('"');
                i++;
            }
            else if (c == '"')
            {
                quoted = !quoted;
            }
            else if (c == ',' && !quoted)
            {
                fields.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(c);
            }
        }

        fields.Add(current.ToString());
        return fields;
    }
}
