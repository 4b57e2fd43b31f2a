using CovidServerless.Core.Gate;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;
using CovidServerless.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Tests;

/// <summary>
/// The committed input gate (models/gate) on images it must refuse and on real scans it must let through. The val
/// scans were part of the gate's training and cross-validation data, so the figures on them here are in-sample; the
/// out-of-fold figures that chose the thresholds are in the manifest's gate section.
/// </summary>
public sealed class InputGateTests(InputGateTests.GatedCatalog fixture) : IClassFixture<InputGateTests.GatedCatalog>
{
    private readonly ScanDecoder decoder = new();

    public sealed class GatedCatalog : IDisposable
    {
        public GatedCatalog()
        {
            Catalog = TestCatalogs.Load(Models.ManifestPath);
        }

        public ModelFolder Models { get; } = ModelFolder.WithStandardEnsembles().WithCommittedGate().Write();

        public ModelCatalog Catalog { get; }

        public void Dispose()
        {
            Catalog.Dispose();
            Models.Dispose();
        }
    }

    private InputGate Gate => fixture.Catalog.Gate ?? throw new InvalidOperationException(fixture.Catalog.GateState);

    public static TheoryData<string> JunkKinds() => [.. JunkImages.Kinds];

    [Theory]
    [MemberData(nameof(JunkKinds))]
    public void Generated_junk_is_rejected_whichever_container_it_is_uploaded_to(string kind)
    {
        var passed = new List<string>();
        foreach (var (file, i) in JunkImages.Make(kind, 12).Select((f, i) => (f, i)))
        {
            foreach (var modality in ModalityNames.All)
            {
                var result = Check(file, modality);
                if (result.Passed)
                {
                    passed.Add($"#{i} as {modality.ToName()}: score {result.Score} >= {result.Threshold}");
                }
            }
        }

        Assert.True(passed.Count == 0, $"{kind} images passed the gate: {string.Join("; ", passed)}");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(128)]
    [InlineData(255)]
    public void A_blank_image_is_rejected_as_having_no_content(byte grey)
    {
        using var scan = decoder.Decode(TestImages.Uniform(grey, 512, 512));

        var ex = Assert.Throws<GateRejectedException>(() => PreparedScan.For(fixture.Catalog.For(Modality.Chest), scan));

        Assert.Contains("no content", ex.Message, StringComparison.Ordinal);
        Assert.False(ex.Gate.Passed);
        Assert.True(ex.Gate.LumaStd < Gate.Manifest.MinLumaStd);
        Assert.Equal(Gate.Manifest.Thresholds["chest"], ex.Gate.Threshold);
    }

    [SkippableTheory]
    [InlineData("ct", "chest", "looks like a chest CT slice, not a chest X-ray")]
    [InlineData("chest", "ct", "looks like a chest X-ray, not a chest CT slice")]
    public void Val_scans_uploaded_to_the_other_modality_are_rejected_at_least_95_percent(string actual, string uploadedAs, string reason)
    {
        var files = ValScans(actual);
        var modality = ModalityNames.Parse(uploadedAs);

        var results = files.Select(f => Check(File.ReadAllBytes(f), modality)).ToList();

        var rejected = results.Count(r => !r.Passed);
        Assert.True(rejected >= 0.95 * files.Count, $"{rejected}/{files.Count} val {actual} scans uploaded as {uploadedAs} rejected");
        using var first = decoder.Decode(File.ReadAllBytes(files[results.FindIndex(r => !r.Passed)]));
        Assert.Contains(reason, Gate.Reason(Gate.Check(first, modality), modality), StringComparison.Ordinal);
    }

    [SkippableTheory]
    [InlineData("chest")]
    [InlineData("ct")]
    public void Real_val_scans_of_the_right_modality_are_rejected_at_most_1_percent(string modality)
    {
        var files = ValScans(modality);

        var rejected = files.Where(f => !Check(File.ReadAllBytes(f), ModalityNames.Parse(modality)).Passed).ToList();

        Assert.True(rejected.Count <= 0.01 * files.Count, $"{rejected.Count}/{files.Count} real val {modality} scans rejected");
    }

    [SkippableFact]
    public async Task A_scored_scan_carries_the_gate_score_it_passed_with()
    {
        var file = ValScans("ct")[0];
        var scorer = TestCatalogs.Scorer(fixture.Catalog);

        var score = await scorer.ScoreAsync(Modality.Ct, File.ReadAllBytes(file), CancellationToken.None);

        Assert.NotNull(score.Gate);
        Assert.True(score.Gate.Passed);
        Assert.InRange(score.Gate.Score, score.Gate.Threshold, 1.0);
        Assert.Equal("ct", score.Gate.LooksLike);
    }

    [Fact]
    public async Task With_the_gate_turned_off_a_blank_image_is_scored()
    {
        using var catalog = new ModelCatalog(
            Options.Create(new ModelOptions { ManifestPath = fixture.Models.ManifestPath, InputGate = false }), NullLogger<ModelCatalog>.Instance);
        var scorer = TestCatalogs.Scorer(catalog);

        var score = await scorer.ScoreAsync(Modality.Chest, TestImages.Uniform(0, 512, 512), CancellationToken.None);

        Assert.True(catalog.IsReady);
        Assert.Null(catalog.Gate);
        Assert.Contains("turned off", catalog.GateState, StringComparison.Ordinal);
        Assert.Null(score.Gate);
        Assert.Equal(4, score.Models.Count);
    }

    [Fact]
    public void A_gate_without_a_threshold_for_a_modality_keeps_the_catalog_from_being_ready()
    {
        using var models = ModelFolder.WithStandardEnsembles()
            .WithCommittedGate(g => g with { Thresholds = new() { ["chest"] = g.Thresholds["chest"] } }).Write();

        using var catalog = TestCatalogs.Load(models.ManifestPath);

        Assert.False(catalog.IsReady);
        Assert.Contains(catalog.Problems, p => p.Contains("threshold", StringComparison.Ordinal) && p.Contains("'ct'", StringComparison.Ordinal));
    }

    [Fact]
    public void A_gate_file_that_differs_from_its_sha256_keeps_the_catalog_from_being_ready()
    {
        using var models = ModelFolder.WithStandardEnsembles()
            .WithCommittedGate(g => g with { Model = g.Model with { Sha256 = new string('0', 64) } }).Write();

        using var catalog = TestCatalogs.Load(models.ManifestPath);

        Assert.False(catalog.IsReady);
        Assert.Null(catalog.Gate);
        Assert.Contains(catalog.Problems, p => p.StartsWith("gate/", StringComparison.Ordinal) && p.Contains("sha256", StringComparison.Ordinal));
    }

    private GateResult Check(byte[] file, Modality modality)
    {
        using var scan = decoder.Decode(file);
        return Gate.Check(scan, modality);
    }

    private static List<string> ValScans(string modality)
    {
        Skip.If(RepoPaths.SharedData is null, RepoPaths.NoSharedDataMessage);
        return [.. Directory.EnumerateFiles(Path.Combine(RepoPaths.SharedData!, modality, "val"), "*.*", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)];
    }
}
