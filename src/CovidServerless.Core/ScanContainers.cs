namespace CovidServerless.Core;

/// <summary>
/// The input blob containers. Blob container names must be 3-63 characters (Azure and Azurite both refuse "ct"),
/// so CT scans arrive in "ct-scans"; the modality itself is still called "ct" everywhere else.
/// </summary>
public static class ScanContainers
{
    public const string Chest = "chest";
    public const string Ct = "ct-scans";

    public static string For(Modality modality) => modality switch
    {
        Modality.Chest => Chest,
        Modality.Ct => Ct,
        _ => throw new ArgumentOutOfRangeException(nameof(modality), modality, null),
    };

    public static bool TryGetModality(string? container, out Modality modality)
    {
        modality = ModalityNames.All.FirstOrDefault(m => For(m) == container);
        return container is not null && For(modality) == container;
    }
}
