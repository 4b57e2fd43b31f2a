using System.Globalization;

namespace CovidServerless.Training.Cli;

/// <summary>"--name value" pairs after the command word; unknown names are an error, so typos do not silently train defaults.</summary>
internal sealed class Arguments
{
    private readonly Dictionary<string, string> values = new(StringComparer.Ordinal);
    private readonly HashSet<string> used = new(StringComparer.Ordinal);

    public Arguments(IEnumerable<string> args)
    {
        using var e = args.GetEnumerator();
        while (e.MoveNext())
        {
            var name = e.Current;
            if (!name.StartsWith("--", StringComparison.Ordinal) || !e.MoveNext())
            {
                throw new ArgumentException($"Expected '--name value' pairs, got '{name}'.");
            }

            values[name[2..]] = e.Current;
        }
    }

    public string String(string name, string fallback) => Take(name) ?? fallback;

    public string? OptionalString(string name) => Take(name);

    public int Int(string name, int fallback) => Take(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public double Double(string name, double fallback) => Take(name) is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;

    /// <summary>Call after reading every option: rejects options that no one asked for.</summary>
    public void EnsureAllUsed()
    {
        var unknown = values.Keys.Where(k => !used.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"Unknown option(s): {string.Join(", ", unknown.Select(u => "--" + u))}.");
        }
    }

    private string? Take(string name)
    {
        used.Add(name);
        return values.GetValueOrDefault(name);
    }
}
