using System.Net.Http.Json;
using System.Text.Json;
using CovidServerless.LocalHost;
using CovidServerless.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.Playwright;

namespace CovidServerless.Web.Tests;

/// <summary>
/// The local host as ./run.sh starts it (the repository's own models, default image limits) on a private Azurite and
/// a free loopback port, plus Debian's Chromium driven by Playwright. Shared by the browser tests.
/// </summary>
public class WebApp : IAsyncLifetime
{
    /// <summary>Debian's package; Playwright's own browser download cannot work on these machines.</summary>
    public static string ChromiumPath => Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium";

    private readonly string manifestPath;
    private WebApplication? app;
    private IPlaywright? playwright;

    public WebApp()
        : this(Path.Combine(RepoPaths.Root, "models", "manifest.json"))
    {
    }

    /// <summary>The same host on another model set (a subclass's test manifest).</summary>
    protected WebApp(string manifestPath)
    {
        this.manifestPath = manifestPath;
    }

    public Azurite Azurite { get; } = new();

    /// <summary>The host's address: port 0 at bind time, so no other process can take the port in between.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    /// <summary>Where screenshots go (artifacts/web-screenshots, ignored by git).</summary>
    public static string ScreenshotFolder { get; } = Path.Combine(RepoPaths.Root, "artifacts", "web-screenshots");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException(
                $"No Chromium at {ChromiumPath}: ./test.sh installs Debian's package (apt-get install chromium), or set CHROMIUM_PATH.");
        }

        await Azurite.StartAsync();
        app = LocalHostApp.Build([], new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["AzureWebJobsStorage"] = Azurite.ConnectionString,
            ["Models:ManifestPath"] = manifestPath,
            ["Logging:LogLevel:Default"] = "Warning",
        });
        await app.StartAsync();
        BaseUrl = new Uri(app.Urls.Single());
        Http = new HttpClient { BaseAddress = BaseUrl };

        playwright = await Playwright.CreateAsync();
        Browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        Directory.CreateDirectory(ScreenshotFolder);
    }

    public async Task<IPage> NewPageAsync(int width = 1280, int height = 900)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseUrl.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
        });
        return await context.NewPageAsync();
    }

    public async Task<JsonElement> ResultAsync(string scanId) =>
        await Http.GetFromJsonAsync<JsonElement>($"/api/results/{scanId}");

    public static Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotFolder, name + ".png"), FullPage = true });

    /// <summary>A real validation scan from ../shared/data (the first by name, of those starting with
    /// <paramref name="prefix"/>), or null where the folder is absent.</summary>
    public static string? RealScan(string modality, string label, string prefix = "") =>
        RepoPaths.SharedData is { } data
            ? Directory.EnumerateFiles(Path.Combine(data, modality, "val", label), prefix + "*").Order(StringComparer.Ordinal).First()
            : null;

    public virtual async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        playwright?.Dispose();
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        Http?.Dispose();
        await Azurite.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class WebAppCollection : ICollectionFixture<WebApp>
{
    public const string Name = "web app";
}
