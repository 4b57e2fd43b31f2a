namespace CovidServerless.Training.Cli;

/// <summary>Finds the repository root (the folder holding CovidServerless.sln) and the shared data beside it.</summary>
internal static class RepositoryPaths
{
    public const string DataEnvironmentVariable = "COVIDSERVERLESS_DATA";

    public static string Root { get; } = FindRoot();

    /// <summary>../shared/data relative to the repository root, unless overridden by option or environment.</summary>
    public static string Data(string? overridePath) =>
        overridePath ?? Environment.GetEnvironmentVariable(DataEnvironmentVariable)
        ?? Path.GetFullPath(Path.Combine(Root, "..", "shared", "data"));

    /// <summary>Ignored scratch folder for cached teacher features.</summary>
    public static string Cache => Path.Combine(Root, ".cache");

    private static string FindRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "CovidServerless.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
