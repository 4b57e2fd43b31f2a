using CovidServerless.TestSupport;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CovidServerless.Web.Tests;

/// <summary>
/// The web app on the tiny test ensembles (no input gate), chest abstaining within 0.2 of its 0.5 threshold: a mid-grey
/// chest image scores about 0.50 (indeterminate), a near-white one about 0.76 (covid).
/// </summary>
public sealed class AbstainingWebApp : WebApp
{
    private readonly ModelFolder models;

    public AbstainingWebApp()
        : this(ModelFolder.WithAbstainingChest(margin: 0.2))
    {
    }

    private AbstainingWebApp(ModelFolder models)
        : base(models.ManifestPath)
    {
        this.models = models;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        models.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class AbstainingWebAppCollection : ICollectionFixture<AbstainingWebApp>
{
    public const string Name = "abstaining web app";
}

[Collection(AbstainingWebAppCollection.Name)]
public sealed class IndeterminateVerdictPageTests(AbstainingWebApp web) : IDisposable
{
    private const string Words = "Indeterminate - needs a radiologist";
    private static readonly LocatorAssertionsToHaveCountOptions ResultWait = new() { Timeout = 90_000 };
    private readonly string folder = Directory.CreateTempSubdirectory("covidscan-web-band-").FullName;

    [Fact]
    public async Task An_indeterminate_result_says_it_needs_a_radiologist_in_words_on_its_page_in_recent_results_and_under_its_filter()
    {
        var unsure = Scan("mid-grey.png", 128);
        var sure = Scan("bright.png", 250);
        var page = await web.NewPageAsync();

        var sureId = await BrowserTests.UploadAndOpenResultAsync(page, "chest", sure);
        await Expect(page.Locator("#model-bars li")).ToHaveCountAsync(4, ResultWait);
        await Expect(page.Locator("#verdict")).ToHaveTextAsync("COVID");
        var unsureId = await BrowserTests.UploadAndOpenResultAsync(page, "chest", unsure);
        await Expect(page.Locator("#model-bars li")).ToHaveCountAsync(4, ResultWait);

        // The verdict is text, with the reason; the ensemble bar's accessible name says it too. The members keep their own calls.
        Assert.Equal("indeterminate", (await web.ResultAsync(unsureId)).GetProperty("verdict").GetString());
        await Expect(page.Locator("#verdict")).ToHaveTextAsync(Words);
        await Expect(page.Locator("#verdict-card")).ToContainTextAsync(
            "Ensemble pCovid 0.501; threshold 0.500: too close to it, or the models disagree too much, for the ensemble to call it: a radiologist should read this scan.");
        await Expect(page.Locator("#verdict-card [role=meter]")).ToHaveAttributeAsync("aria-label", new System.Text.RegularExpressions.Regex($"verdict {Words}$"));
        Assert.All( // members score 0.5005 to 0.5020: each at or above 0.5
            await page.Locator("#model-bars li .bar-head span:nth-child(2)").AllTextContentsAsync(),
            text => Assert.EndsWith("· COVID", text, StringComparison.Ordinal));
        await WebApp.ScreenshotAsync(page, "result-indeterminate");
        var axe = await page.RunAxe();
        Assert.True(axe.Violations.Length == 0, string.Join("; ", axe.Violations.Select(v => $"{v.Id}: {v.Help} at {string.Join(", ", v.Nodes.Select(n => n.Html))}")));

        // The upload list's summary says it in the same words.
        await page.GetByRole(AriaRole.Link, new() { Name = "Upload", Exact = true }).ClickAsync();
        await Expect(page.Locator($"#uploads li[data-scan-id='{unsureId}'] .state")).ToContainTextAsync($"{Words} (pCovid 0.501", new() { Timeout = 30_000 });

        // Recent results: the row reads the same, and the verdict filter (sent to the API) keeps only abstentions.
        await page.GetByRole(AriaRole.Link, new() { Name = "Recent results" }).ClickAsync();
        await Expect(page.Locator($"#recent-table tr[data-scan-id='{unsureId}'] td").Nth(3)).ToHaveTextAsync(Words);
        await Expect(page.Locator($"#recent-table tr[data-scan-id='{sureId}']")).ToHaveCountAsync(1);
        await page.Locator("select[name=verdict]").SelectOptionAsync(new SelectOptionValue { Label = "Indeterminate" });
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        await Expect(page.Locator($"#recent-table tr[data-scan-id='{sureId}']")).ToHaveCountAsync(0);
        await Expect(page.Locator($"#recent-table tr[data-scan-id='{unsureId}']")).ToHaveCountAsync(1);
        Assert.All(await page.Locator("#recent-table tbody tr td:nth-child(4)").AllTextContentsAsync(), text => Assert.Equal(Words, text));
        await WebApp.ScreenshotAsync(page, "recent-indeterminate");
    }

    [Fact]
    public async Task The_models_page_states_the_abstaining_band_of_a_modality_that_has_one_and_only_that_one()
    {
        var page = await web.NewPageAsync();

        await page.GotoAsync("/#/models");

        await Expect(page.Locator("#models-chest + p")).ToHaveTextAsync(
            "Ensemble: mean pCovid of the models, threshold 0.500. Indeterminate (needs a radiologist) within 0.200 of the threshold.");
        await Expect(page.Locator("#models-ct + p")).ToHaveTextAsync("Ensemble: mean pCovid of the models, threshold 0.500.");
    }

    private string Scan(string name, byte grey)
    {
        var path = Path.Combine(folder, name);
        File.WriteAllBytes(path, TestImages.Uniform(grey, 256, 256));
        return path;
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);
}
