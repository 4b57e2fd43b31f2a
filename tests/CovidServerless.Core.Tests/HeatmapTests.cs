using CovidServerless.Core.Heatmaps;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;
using CovidServerless.TestSupport;
using Microsoft.Extensions.Options;
using SkiaSharp;

namespace CovidServerless.Core.Tests;

public sealed class HeatmapTests
{
    private static readonly string CommittedManifest = Path.Combine(RepoPaths.Root, "models", "manifest.json");

    [Fact]
    public void Renderer_writes_a_png_at_the_scans_size_red_where_the_map_pushes_toward_covid_and_blue_where_away()
    {
        using var scan = new ScanDecoder().Decode(TestImages.Uniform(128, width: 90, height: 40));
        var map = new CamMap(2, 1, [1f, -1f]);

        var png = HeatmapRenderer.RenderPng(scan.Bitmap, map);

        using var codec = SKCodec.Create(new SKMemoryStream(png));
        Assert.Equal(SKEncodedImageFormat.Png, codec.EncodedFormat);
        using var decoded = SKBitmap.Decode(png);
        Assert.Equal((90, 40), (decoded.Width, decoded.Height));
        var left = decoded.GetPixel(2, 20);
        var right = decoded.GetPixel(87, 20);
        Assert.True(left.Red > 170 && left.Blue < 100, $"left {left}");
        Assert.True(right.Blue > 170 && right.Red < 100, $"right {right}");
        var middle = decoded.GetPixel(45, 20); // where the map crosses zero the scan shows through
        Assert.InRange(middle.Red, 110, 150);
    }

    [Fact]
    public void A_map_of_zeros_leaves_the_scan_as_it_was()
    {
        using var scan = new ScanDecoder().Decode(TestImages.LeftWhiteRightBlack(32, 32));
        using var overlay = HeatmapRenderer.Render(scan.Bitmap, new CamMap(3, 3, new float[9]));

        Assert.Equal(SKColors.White, overlay.GetPixel(1, 16));
        Assert.Equal(SKColors.Black, overlay.GetPixel(30, 16));
    }

    [Fact]
    public void Resizing_a_map_interpolates_between_cell_centres_and_keeps_the_sign()
    {
        var map = new CamMap(2, 2, [-2f, 2f, -2f, 2f]);

        var resized = map.Resize(8, 4);

        Assert.Equal(32, resized.Values.Length);
        Assert.Equal(-2f, resized.Values[0]); // left of the first centre: clamped to the cell's value
        Assert.Equal(2f, resized.Values[7]);
        Assert.Equal(0f, resized.Values[3] + resized.Values[4], 5); // symmetric about the middle
        Assert.True(resized.Values[3] < 0 && resized.Values[4] > 0);
        Assert.Equal(resized.Values.AsSpan(0, 8).ToArray(), resized.Values.AsSpan(24, 8).ToArray());
    }

    [Fact]
    public void The_ensemble_map_is_the_mean_of_the_members_maps_resized_to_the_scan()
    {
        var members = new[]
        {
            new MemberHeatmap("a", 0.9f, new CamMap(1, 1, [3f])),
            new MemberHeatmap("b", 0.1f, new CamMap(2, 1, [-1f, 1f])),
        };

        var ensemble = HeatmapExplainer.EnsembleMap(members, 4, 2);

        Assert.Equal((4, 2), (ensemble.Width, ensemble.Height));
        Assert.Equal(1f, ensemble.Values[0]); // (3 + -1) / 2
        Assert.Equal(2f, ensemble.Values[3]); // (3 + 1) / 2
    }

    [Fact]
    public void Positive_heat_outside_the_centre_is_measured_as_a_share_of_all_positive_heat()
    {
        var border = new float[25];
        border[0] = 3f; // a corner
        border[12] = 1f; // the centre
        border[13] = -5f; // negative heat does not count

        Assert.Equal(0.75, new CamMap(5, 5, border).PositiveShareOutsideCentre(), 6);
        Assert.Equal(0, new CamMap(2, 2, [-1f, -1f, -1f, -1f]).PositiveShareOutsideCentre());
    }

    [Theory]
    [InlineData("chest")]
    [InlineData("ct")]
    public async Task The_committed_models_give_each_member_a_map_and_the_pcovid_that_scoring_gives(string modalityName)
    {
        // Noise is no scan, so the input gate is off: this is about the maps, not the gate.
        using var catalog = TestCatalogs.Load(CommittedManifest, inputGate: false);
        var modality = ModalityNames.Parse(modalityName);
        var bytes = TestImages.Noise(300, 200, SKEncodedImageFormat.Png, seed: 3);
        var scored = await TestCatalogs.Scorer(catalog).ScoreAsync(modality, bytes, CancellationToken.None);
        using var scan = new ScanDecoder().Decode(bytes);

        var members = new HeatmapExplainer(catalog).Explain(modality, scan);

        Assert.Equal(scored.Models.Select(m => m.Name), members.Select(m => m.Model));
        foreach (var (member, score, model) in members.Zip(scored.Models, catalog.For(modality).Models))
        {
            // The result reports each member's calibrated pCovid; the map explains the model's own.
            Assert.Equal(score.PCovid, model.Entry.Calibration?.Apply(member.PCovid) ?? member.PCovid, 5);
            // The committed models see 112 px inside the graph: the last feature maps are this coarse.
            var side = member.Model switch { "inceptionv3" => 2, "vgg16" => 3, _ => 4 };
            Assert.Equal((side, side), (member.Map.Width, member.Map.Height));
            Assert.True(member.Map.Values.Max() > member.Map.Values.Min(), $"{member.Model}: flat map");
        }
    }

    [Theory]
    [InlineData("chest")]
    [InlineData("ct")]
    public async Task Scoring_with_heatmaps_on_returns_each_members_map_from_the_same_run_and_the_same_scores(string modalityName)
    {
        using var catalog = TestCatalogs.Load(CommittedManifest, inputGate: false);
        var modality = ModalityNames.Parse(modalityName);
        var bytes = TestImages.Noise(300, 200, SKEncodedImageFormat.Png, seed: 5);
        using var plain = TestCatalogs.Runner(catalog);
        using var withMaps = new EnsembleRunner(catalog, new ScanDecoder(), Options.Create(new ModelOptions()), Options.Create(new HeatmapOptions()));
        using var scan = new ScanDecoder().Decode(bytes);
        var explained = new HeatmapExplainer(catalog).Explain(modality, scan);

        using var prepared = withMaps.Prepare(modality, bytes);
        var score = (await withMaps.ScoreAsync([prepared]))[0];
        using var again = plain.Prepare(modality, bytes);
        var without = (await plain.ScoreAsync([again]))[0];

        Assert.Null(without.Heatmaps);
        Assert.Equal(without.Models, score.Models);
        Assert.Equal(without.PCovid, score.PCovid);
        var maps = Assert.IsAssignableFrom<IReadOnlyList<MemberHeatmap>>(score.Heatmaps);
        Assert.Equal(explained.Select(m => m.Model), maps.Select(m => m.Model));
        foreach (var (map, expected) in maps.Zip(explained))
        {
            Assert.Equal((expected.Map.Width, expected.Map.Height), (map.Map.Width, map.Map.Height));
            Assert.Equal(expected.Map.Values, map.Map.Values);
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData(4L)]
    public void A_batch_returns_each_images_own_map_also_from_a_model_exported_with_a_fixed_batch(long? fixedBatch)
    {
        using var folder = new ModelFolder();
        var entry = folder.AddModelFile(
            "chest", "tiny", TinyOnnxModels.MeanIntensity(2f, 0f, fixedBatch: fixedBatch, heatmapName: ModelFolder.HeatmapOutput),
            output: new ModelOutputSpec { Heatmap = ModelFolder.HeatmapOutput });
        folder.SetModality("chest", new ModalityManifest { Ensemble = new EnsembleRule { Threshold = 0.5 }, Models = [entry] }).Write();
        using var catalog = TestCatalogs.Load(folder.ManifestPath, inputGate: false);
        var model = catalog.For(Modality.Chest).Models[0];
        var perImage = model.Input.ElementsPerImage;
        var batch = new float[perImage * 3];
        batch.AsSpan(0, perImage).Fill(0.5f); // image 0: uniform 0.5
        batch.AsSpan(perImage * 2, perImage).Fill(1f); // image 2: uniform 1; image 1 stays 0

        var (pCovid, maps) = model.Predict(batch, 3, withMaps: true);

        Assert.Equal(3, pCovid.Length);
        Assert.NotNull(maps);
        Assert.Equal([1f, 0f, 2f], maps.Select(m => m.Values.Distinct().Single())); // weight x region mean
        Assert.All(maps, m => Assert.Equal((TinyOnnxModels.MapGrid, TinyOnnxModels.MapGrid), (m.Width, m.Height)));
        Assert.Null(model.Predict(batch, 3, withMaps: false).Maps);
    }

    [Theory]
    [InlineData(4000, 3000, 512, 512, 384)]
    [InlineData(300, 2000, 512, 77, 512)]
    [InlineData(200, 100, 512, 200, 100)]
    [InlineData(5000, 1, 512, 512, 1)]
    public void An_overlay_is_the_scans_shape_scaled_down_to_the_longest_side_cap_and_never_up(int width, int height, int maxSide, int expectedWidth, int expectedHeight) =>
        Assert.Equal((expectedWidth, expectedHeight), HeatmapStore.FitSize(width, height, maxSide));
}
