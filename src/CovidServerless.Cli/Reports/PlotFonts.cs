namespace CovidServerless.Cli.Reports;

/// <summary>
/// The Linux SkiaSharp build in use has no fontconfig, so plots would render without any text. Register a
/// TrueType font from the system (Debian's fonts-dejavu-core by default) with ScottPlot once.
/// </summary>
internal static class PlotFonts
{
    private static readonly Lazy<bool> Loaded = new(Load);

    private static readonly string[] Candidates =
    [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    ];

    public static bool EnsureLoaded() => Loaded.Value;

    private static bool Load()
    {
        var file = Candidates.FirstOrDefault(File.Exists)
            ?? (Directory.Exists("/usr/share/fonts") ? Directory.EnumerateFiles("/usr/share/fonts", "*.ttf", SearchOption.AllDirectories).FirstOrDefault() : null);
        if (file is null)
        {
            Console.Error.WriteLine("No TrueType font found under /usr/share/fonts: plots will have no text (apt-get install fonts-dejavu-core).");
            return false;
        }

        const string name = "CovidScan Plot Font";
        ScottPlot.Fonts.AddFontFile(name, file, bold: false, italic: false);
        ScottPlot.Fonts.AddFontFile(name, file, bold: true, italic: false);
        ScottPlot.Fonts.Default = name;
        return true;
    }
}
