namespace CovidServerless.DevTools;

/// <summary>Finds the repository root and the shared data folder beside it.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>../shared/data beside the repository (or COVIDSERVERLESS_DATA), or null where absent.</summary>
    public static string? SharedData
    {
        get
        {
            var path = Environment.GetEnvironmentVariable("COVIDSERVERLESS_DATA")
                ?? Path.GetFullPath(Path.Combine(Root, "..", "shared", "data"));
            return Directory.Exists(path) ? path : null;
        }
    }

    public const string NoSharedDataMessage = "../shared/data is absent: tests on real scans are skipped.";

    /// <summary>../shared/dicom beside the repository (real DICOM files written by other tools), or null where absent.</summary>
    public static string? SharedDicom
    {
        get
        {
            var path = Path.GetFullPath(Path.Combine(Root, "..", "shared", "dicom"));
            return Directory.Exists(path) ? path : null;
        }
    }

    public const string NoSharedDicomMessage = "../shared/dicom is absent: tests on real DICOM files are skipped.";

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "CovidServerless.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Cannot find CovidServerless.sln above the running binaries.");
    }
}
