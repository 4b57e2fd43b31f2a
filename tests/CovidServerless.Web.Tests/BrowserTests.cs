using System.Globalization;
using System.Text.Json;
using CovidServerless.TestSupport;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CovidServerless.Web.Tests;

/// <summary>The browser app as a person uses it: Chromium against the local host with the repository's real models.</summary>
[Collection(WebAppCollection.Name)]
public sealed class BrowserTests(WebApp web)
{
    private static readonly string[] Members = ["vgg16", "resnet50", "inceptionv3", "xception"];

    /// <summary>Long enough for the first scans after start (sessions warm up) on two shared cores.</summary>
    private static readonly LocatorAssertionsToHaveCountOptions ResultWait = new() { Timeout = 90_000 };

    [SkippableFact]
    public async Task A_real_chest_xray_and_a_real_ct_slice_each_show_the_ensemble_verdict_and_four_model_bars_and_both_are_listed_in_recent_results()
    {
        var chest = WebApp.RealScan("chest", "covid");
        var ct = WebApp.RealScan("ct", "covid");
        Skip.If(chest is null || ct is null, RepoPaths.NoSharedDataMessage);
        var page = await web.NewPageAsync();

        var chestId = await UploadAndOpenResultAsync(page, "chest", chest!);
        await WebApp.ScreenshotAsync(page, "result-chest-waiting");
        await ExpectResultShownAsync(page, chestId);
        await WebApp.ScreenshotAsync(page, "result-chest");

        var ctId = await UploadAndOpenResultAsync(page, "ct", ct!);
        await ExpectResultShownAsync(page, ctId);
        await WebApp.ScreenshotAsync(page, "result-ct");

        await page.GetByRole(AriaRole.Link, new() { Name = "Upload", Exact = true }).ClickAsync();
        await WebApp.ScreenshotAsync(page, "upload");

        await page.GetByRole(AriaRole.Link, new() { Name = "Recent results" }).ClickAsync();
        await Expect(page.Locator($"#recent-table tr[data-scan-id='{chestId}']")).ToHaveCountAsync(1);
        await Expect(page.Locator($"#recent-table tr[data-scan-id='{ctId}']")).ToHaveCountAsync(1);
        await WebApp.ScreenshotAsync(page, "recent");

        // The modality filter goes to the server: CT only lists the CT scan, not the chest one.
        await page.GetByLabel("Modality").SelectOptionAsync("ct");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        await Expect(page.Locator($"#recent-table tr[data-scan-id='{chestId}']")).ToHaveCountAsync(0);
        await Expect(page.Locator($"#recent-table tr[data-scan-id='{ctId}']")).ToHaveCountAsync(1);

        // A row's link opens that result.
        await page.Locator($"#recent-table tr[data-scan-id='{ctId}'] a").ClickAsync();
        await ExpectResultShownAsync(page, ctId);
    }

    [Fact]
    public async Task Several_files_dropped_on_the_page_upload_each_with_its_own_progress_and_result_link()
    {
        var page = await web.NewPageAsync();
        await page.GotoAsync("/");
        await page.Locator("input[name=modality][value=ct]").CheckAsync();
        string[] names = ["drop-a.png", "drop-b.png", "drop-c.txt"];
        string[] contents = [.. new[]
        {
            TestImages.Noise(96, 96, SkiaSharp.SKEncodedImageFormat.Png, seed: 3),
            TestImages.Noise(96, 96, SkiaSharp.SKEncodedImageFormat.Png, seed: 4),
            "not a scan"u8.ToArray(),
        }.Select(Convert.ToBase64String)];

        // What a browser does when files are dropped: a drop event whose DataTransfer holds them.
        await page.Locator("#drop").EvaluateAsync(
            @"(zone, files) => {
                const transfer = new DataTransfer();
                for (const [name, base64] of files) {
                    const bytes = Uint8Array.from(atob(base64), c => c.charCodeAt(0));
                    transfer.items.add(new File([bytes], name, { type: name.endsWith('.png') ? 'image/png' : 'text/plain' }));
                }
                zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
            }",
            names.Zip(contents, (n, c) => new[] { n, c }).ToArray());

        foreach (var name in names[..2])
        {
            var item = page.Locator($"#uploads li[data-file='{name}']");
            await Expect(item.Locator("progress")).ToHaveAttributeAsync("value", "100");
            await Expect(item.GetByRole(AriaRole.Link)).ToHaveTextAsync($"View result for {name}");
            await Expect(item).ToContainTextAsync("CT");
        }

        await Expect(page.Locator("#uploads li[data-file='drop-c.txt']")).ToContainTextAsync("Refused: The file is not a readable image");
        var ids = await page.Locator("#uploads li[data-scan-id]").EvaluateAllAsync<string[]>("items => items.map(i => i.dataset.scanId)");
        Assert.Equal(2, ids.Distinct().Count());
    }

    [Fact]
    public async Task A_text_file_renamed_png_is_refused_at_upload_with_the_reason_in_plain_words()
    {
        var path = Path.Combine(Path.GetTempPath(), $"notes-{Guid.NewGuid():N}", "notes.png");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, "These are meeting notes, not an image.\n");
        var page = await web.NewPageAsync();
        await page.GotoAsync("/");

        await page.Locator("#files").SetInputFilesAsync(path);
        await page.GetByRole(AriaRole.Button, new() { Name = "Upload" }).ClickAsync();

        var item = page.Locator("#uploads li[data-file='notes.png']");
        await Expect(item).ToHaveClassAsync("refused");
        await Expect(item).ToContainTextAsync("Refused: The file is not a readable image: expected PNG, JPEG, BMP, GIF or WebP.");
        await Expect(item.GetByRole(AriaRole.Link)).ToHaveCountAsync(0);
        await WebApp.ScreenshotAsync(page, "upload-refused");
        Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
    }

    [Fact]
    public async Task A_scan_the_pipeline_rejects_after_upload_shows_rejected_with_its_reason_and_no_bars()
    {
        // Its header is whole, so the upload is accepted; its pixel data ends early, which only decoding finds.
        var path = Path.Combine(Path.GetTempPath(), $"cut-{Guid.NewGuid():N}", "cut.png");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, TestImages.Truncated(TestImages.Noise(300, 300, SkiaSharp.SKEncodedImageFormat.Png)));
        var page = await web.NewPageAsync();

        var scanId = await UploadAndOpenResultAsync(page, "chest", path);

        await Expect(page.Locator("#reason-card h2")).ToHaveTextAsync("This file could not be screened", new() { Timeout = 90_000 });
        await Expect(page.Locator("#reason")).ToHaveTextAsync("The image file is truncated: its pixel data ends early.");
        await Expect(page.Locator("#result-status")).ToHaveTextAsync("The scan was rejected.");
        await Expect(page.Locator("#model-bars li")).ToHaveCountAsync(0);
        Assert.Equal("rejected", (await web.ResultAsync(scanId)).GetProperty("status").GetString());
        await WebApp.ScreenshotAsync(page, "result-rejected");
        Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
    }

    [SkippableFact]
    public async Task A_heatmap_toggle_appears_only_for_models_whose_result_carries_a_heatmap_link_and_overlays_it()
    {
        // A real scan: the input gate refuses generated noise before any model runs.
        var path = WebApp.RealScan("chest", "noncovid");
        Skip.If(path is null, RepoPaths.NoSharedDataMessage);
        var page = await web.NewPageAsync();
        var scanId = await UploadAndOpenResultAsync(page, "chest", path!);
        await Expect(page.Locator("#model-bars li")).ToHaveCountAsync(4, ResultWait);
        await Expect(page.Locator("#heatmap-toggles")).ToBeHiddenAsync();

        // Results carry no heatmaps yet: the browser is handed the real result with one link added to xception's entry
        // (pointing at the scan's own image, which stands in for a heatmap).
        await page.RouteAsync($"**/api/results/{scanId}", async route =>
        {
            var response = await route.FetchAsync();
            var result = System.Text.Json.Nodes.JsonNode.Parse(await response.TextAsync())!;
            result["models"]![3]!["heatmapUrl"] = $"/api/results/{scanId}/image";
            await route.FulfillAsync(new() { Response = response, Body = result.ToJsonString() });
        });
        await page.ReloadAsync();

        var toggles = page.Locator("#heatmap-toggles input");
        await Expect(toggles).ToHaveCountAsync(1, new() { Timeout = 30_000 });
        await Expect(page.Locator("#heatmap-image")).ToBeHiddenAsync();
        await page.GetByLabel("xception", new() { Exact = true }).CheckAsync();
        await Expect(page.Locator("#heatmap-image")).ToBeVisibleAsync();
        await Expect(page.Locator("#heatmap-image")).ToHaveAttributeAsync("alt", "xception heatmap over the scan");
        await page.GetByLabel("xception", new() { Exact = true }).UncheckAsync();
        await Expect(page.Locator("#heatmap-image")).ToBeHiddenAsync();
    }

    [SkippableFact]
    public async Task A_scan_can_be_uploaded_and_its_result_opened_with_the_keyboard_alone()
    {
        var ct = WebApp.RealScan("ct", "noncovid");
        Skip.If(ct is null, RepoPaths.NoSharedDataMessage);
        var page = await web.NewPageAsync();

        // File choosers intercepted from the start: RunAndWaitForFileChooserAsync turns interception on without
        // waiting for the browser to confirm it, so the key press that opens the chooser could get there first.
        var chosen = new TaskCompletionSource<IFileChooser>(TaskCreationOptions.RunContinuationsAsynchronously);
        page.FileChooser += (_, chooser) => chosen.TrySetResult(chooser);
        await page.GotoAsync("/");

        // Tab to the modality group (its checked radio), arrow to CT, tab to the file picker and open it with Space.
        await TabToAsync(page, "input[name=modality]:checked");
        await page.Keyboard.PressAsync("ArrowRight");
        await Expect(page.Locator("input[value=ct]")).ToBeCheckedAsync();
        await TabToAsync(page, "#files");
        await page.Keyboard.PressAsync("Space");
        var chooser = await chosen.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await chooser.SetFilesAsync(ct!);
        await TabToAsync(page, "#upload-button");
        await page.Keyboard.PressAsync("Enter");

        var name = Path.GetFileName(ct!);
        await Expect(page.Locator("#uploads a")).ToHaveCountAsync(1);
        await TabToAsync(page, "#uploads a");
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("#model-bars li")).ToHaveCountAsync(4, ResultWait);
        var scanId = await page.Locator($"#uploads li[data-file='{name}']").GetAttributeAsync("data-scan-id");
        Assert.Equal($"#/result/{scanId}", new Uri(page.Url).Fragment);
        Assert.Equal("ct", (await web.ResultAsync(scanId!)).GetProperty("modality").GetString());
    }

    [Fact]
    public async Task The_models_page_lists_each_modalitys_four_models_and_its_input_gate_with_versions_validation_figures_and_health()
    {
        using var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "models", "manifest.json")));
        var page = await web.NewPageAsync();
        await page.GotoAsync("/#/models");

        await Expect(page.Locator("#health")).ToHaveTextAsync("Ready: every model loaded.");
        foreach (var modality in new[] { "chest", "ct" })
        {
            var entry = manifest.RootElement.GetProperty("modalities").GetProperty(modality);
            var threshold = entry.GetProperty("ensemble").GetProperty("threshold").GetDouble();
            await Expect(page.Locator($"#models-{modality} + p")).ToContainTextAsync($"threshold {threshold.ToString("F3", CultureInfo.InvariantCulture)}");
            await Expect(page.Locator($"#models-{modality} + p")).ToContainTextAsync("calibrated pCovid");
            var gate = manifest.RootElement.GetProperty("gate");
            var gateThreshold = gate.GetProperty("thresholds").GetProperty(modality).GetDouble().ToString("F3", CultureInfo.InvariantCulture);
            await Expect(page.Locator($"#models-{modality} ~ p.gate")).ToContainTextAsync(
                $"Input gate {gate.GetProperty("model").GetProperty("name").GetString()} {gate.GetProperty("model").GetProperty("version").GetString()}: an image it scores below {gateThreshold}");
            foreach (var model in entry.GetProperty("models").EnumerateArray())
            {
                var card = page.Locator($"[data-model='{modality}/{model.GetProperty("name").GetString()}']");
                await Expect(card).ToContainTextAsync($"Version{model.GetProperty("version").GetString()}");
                // The committed figures are cross-validated: pooled AUC with its mean and spread over the folds.
                var validation = model.GetProperty("validation");
                string F(string name) => validation.GetProperty(name).GetDouble().ToString("F3", CultureInfo.InvariantCulture);
                await Expect(card).ToContainTextAsync($"Cross-validated AUC{F("auc")} (folds {F("aucMean")} ± {F("aucSd")})");
                await Expect(card).ToContainTextAsync($"Scans scored out of fold{validation.GetProperty("n").GetInt32()}");
            }

            await Expect(page.Locator($"#models-{modality}").Locator("xpath=..").Locator(".card")).ToHaveCountAsync(4);
        }

        await WebApp.ScreenshotAsync(page, "models");
    }

    [Fact]
    public async Task Every_page_is_served_with_a_content_security_policy_and_runs_no_inline_script()
    {
        var page = await web.NewPageAsync();
        var violations = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.Ordinal))
            {
                violations.Add(message.Text);
            }
        };
        var response = await page.GotoAsync("/");
        var csp = await response!.HeaderValueAsync("content-security-policy");
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator("script:not([src])").CountAsync());
        Assert.Equal("nosniff", await response.HeaderValueAsync("x-content-type-options"));

        foreach (var view in new[] { "#/recent", "#/models", "#/" })
        {
            await page.GotoAsync("/" + view);
            await Expect(page.Locator("main .view:not([hidden]) h1")).ToBeVisibleAsync();
        }

        Assert.Empty(violations);
    }

    [SkippableFact]
    public async Task Every_page_passes_the_axe_accessibility_checks_and_fits_a_phone_screen()
    {
        // An NIH ChestX-ray8 image (no restrictions on use, attribution required): its screenshot may go in the docs.
        var chest = WebApp.RealScan("chest", "noncovid", prefix: "nih_");
        Skip.If(chest is null, RepoPaths.NoSharedDataMessage);
        var page = await web.NewPageAsync(width: 390, height: 844);
        var scanId = await UploadAndOpenResultAsync(page, "chest", chest!);
        await Expect(page.Locator("#model-bars li")).ToHaveCountAsync(4, ResultWait);
        await WebApp.ScreenshotAsync(page, "phone-result");

        foreach (var view in new[] { "#/", $"#/result/{scanId}", "#/recent", "#/models" })
        {
            await page.GotoAsync("/" + view);
            await Expect(page.Locator("main .view:not([hidden]) h1")).ToBeVisibleAsync();
            if (view == "#/models")
            {
                await Expect(page.Locator("#health")).Not.ToBeEmptyAsync();
            }

            if (view.StartsWith("#/result", StringComparison.Ordinal))
            {
                await Expect(page.Locator("#model-bars li")).ToHaveCountAsync(4, ResultWait);
            }

            var axe = await page.RunAxe();
            Assert.True(
                axe.Violations.Length == 0,
                $"{view}: " + string.Join("; ", axe.Violations.Select(v => $"{v.Id} ({v.Impact}): {v.Help} at {string.Join(", ", v.Nodes.Select(n => n.Html))}")));
            var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
            Assert.True(overflow <= 0, $"{view} is {overflow} px wider than a 390 px phone screen.");
        }

        await page.SetViewportSizeAsync(1280, 900);
        await page.GotoAsync($"/#/result/{scanId}");
        await Expect(page.Locator("#model-bars li")).ToHaveCountAsync(4, ResultWait);
        await page.WaitForFunctionAsync("() => { const i = document.getElementById('scan-image'); return i.complete && i.naturalWidth > 0; }");
        await WebApp.ScreenshotAsync(page, "result-nih-chest");
    }

    /// <summary>Picks the modality and file, presses Upload, waits for the link to the result and follows it.</summary>
    internal static async Task<string> UploadAndOpenResultAsync(IPage page, string modality, string file)
    {
        await page.GotoAsync("/");
        await page.Locator($"input[name=modality][value={modality}]").CheckAsync();
        await page.Locator("#files").SetInputFilesAsync(file);
        await page.GetByRole(AriaRole.Button, new() { Name = "Upload" }).ClickAsync();
        var item = page.Locator($"#uploads li[data-file='{Path.GetFileName(file)}']").First;
        var link = item.GetByRole(AriaRole.Link);
        await Expect(link).ToHaveCountAsync(1);
        var scanId = await item.GetAttributeAsync("data-scan-id");
        Assert.NotNull(scanId);
        await link.ClickAsync();
        return scanId;
    }

    /// <summary>The result view agrees with the API's result: verdict, pCovid, threshold, and one bar per model.</summary>
    private async Task ExpectResultShownAsync(IPage page, string scanId)
    {
        await Expect(page.Locator("#model-bars li")).ToHaveCountAsync(4, ResultWait);
        var result = await web.ResultAsync(scanId);
        Assert.Equal("scored", result.GetProperty("status").GetString());
        var verdict = result.GetProperty("verdict").GetString() switch
        {
            "covid" => "COVID",
            "noncovid" => "Non-COVID",
            "indeterminate" => "Indeterminate - needs a radiologist",
            var other => throw new InvalidOperationException($"Unexpected verdict '{other}'."),
        };
        static string F3(JsonElement e) => e.GetDouble().ToString("F3", CultureInfo.InvariantCulture);
        await Expect(page.Locator("#verdict")).ToHaveTextAsync(verdict);
        await Expect(page.Locator("#verdict-card")).ToContainTextAsync(
            $"Ensemble pCovid {F3(result.GetProperty("pCovid"))}; threshold {F3(result.GetProperty("threshold"))}");
        Assert.Equal(Members, await page.Locator("#model-bars li").EvaluateAllAsync<string[]>("items => items.map(i => i.dataset.model)"));
        foreach (var model in result.GetProperty("models").EnumerateArray())
        {
            var bar = page.Locator($"#model-bars li[data-model='{model.GetProperty("name").GetString()}'] [role=meter]");
            await Expect(bar).ToHaveAttributeAsync("aria-valuenow", F3(model.GetProperty("pCovid")));
            await Expect(bar).ToHaveAttributeAsync("aria-label", new System.Text.RegularExpressions.Regex($"version {model.GetProperty("version").GetString()}"));
        }

        // The stored scan is shown (served by the API, not from storage by the browser).
        await Expect(page.Locator("#scan-image")).ToHaveAttributeAsync("data-source", "server");
        await page.WaitForFunctionAsync("() => { const i = document.getElementById('scan-image'); return i.dataset.source === 'server' && i.complete && i.naturalWidth > 0; }");
        await Expect(page.Locator(".notice")).ToContainTextAsync("Research triage support only, not a medical device.");
    }

    /// <summary>Presses Tab until the element matching <paramref name="selector"/> has the focus (at most 40 times).</summary>
    private static async Task TabToAsync(IPage page, string selector)
    {
        for (var presses = 0; presses <= 40; presses++)
        {
            if (await page.EvaluateAsync<bool>("s => document.activeElement?.matches(s) ?? false", selector))
            {
                return;
            }

            await page.Keyboard.PressAsync("Tab");
        }

        throw new InvalidOperationException($"40 presses of Tab never reached {selector}.");
    }
}
