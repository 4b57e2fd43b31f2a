namespace CovidServerless.Core;

/// <summary>The kinds of scan the pipeline screens; each has its own ensemble and blob container.</summary>
public enum Modality
{
    Chest,
    Ct,
}

public static class ModalityNames
{
    public const string Chest = "chest";
    public const string Ct = "ct";

    public static IReadOnlyList<Modality> All { get; } = [Modality.Chest, Modality.Ct];

    public static string ToName(this Modality modality) => modality switch
    {
        Modality.Chest => Chest,
        Modality.Ct => Ct,
        _ => throw new ArgumentOutOfRangeException(nameof(modality), modality, null),
    };

    public static bool TryParse(string? name, out Modality modality)
    {
        switch (name?.Trim().ToLowerInvariant())
        {
            case Chest:
                modality = Modality.Chest;
                return true;
            case Ct:
                modality = Modality.Ct;
                return true;
            default:
                modality = default;
                return false;
        }
    }

    public static Modality Parse(string name) =>
        TryParse(name, out var modality)
            ? modality
            : throw new ArgumentException($"Unknown modality '{name}': expected '{Chest}' or '{Ct}'.", nameof(name));
}
