using System.Text.Json;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using CovidServerless.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Tests;

public class ModelCatalogTests
{
    [Fact]
    public void Loads_every_model_of_the_manifest_and_is_ready()
    {
        using var folder = ModelFolder.WithStandardEnsembles();
        using var catalog = TestCatalogs.Load(folder.ManifestPath);

        Assert.True(catalog.IsReady, string.Join("; ", catalog.Problems));
        Assert.Equal(ModelFolder.ArchitectureNames, catalog.For(Modality.Chest).Models.Select(m => m.Name));
        Assert.Equal(ModelFolder.ArchitectureNames, catalog.For(Modality.Ct).Models.Select(m => m.Name));
    }

    [Fact]
    public void A_missing_model_file_is_named_and_keeps_the_catalog_from_being_ready()
    {
        using var folder = ModelFolder.WithStandardEnsembles();
        File.Delete(Path.Combine(folder.Root, "ct", "xception.onnx"));

        using var catalog = TestCatalogs.Load(folder.ManifestPath);

        Assert.False(catalog.IsReady);
        var problem = Assert.Single(catalog.Problems);
        Assert.Contains("ct/xception", problem, StringComparison.Ordinal);
        Assert.Contains("missing", problem, StringComparison.Ordinal);
        var ex = Assert.Throws<ModelsUnavailableException>(() => catalog.For(Modality.Chest));
        Assert.Contains("xception.onnx", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_whose_sha256_differs_from_the_manifest_is_refused()
    {
        using var folder = ModelFolder.WithStandardEnsembles();
        File.WriteAllBytes(Path.Combine(folder.Root, "chest", "vgg16.onnx"), TinyOnnxModels.MeanIntensity(9f, 9f));

        using var catalog = TestCatalogs.Load(folder.ManifestPath);

        Assert.False(catalog.IsReady);
        Assert.Contains(catalog.Problems, p => p.Contains("chest/vgg16", StringComparison.Ordinal) && p.Contains("sha256", StringComparison.Ordinal));
    }

    [Fact]
    public void A_missing_manifest_is_reported_not_thrown()
    {
        using var catalog = TestCatalogs.Load("/nonexistent/manifest.json");

        Assert.False(catalog.IsReady);
        Assert.Contains("manifest", Assert.Single(catalog.Problems), StringComparison.Ordinal);
    }

    [Fact]
    public void A_manifest_input_name_the_model_lacks_is_refused_with_the_names_it_has()
    {
        using var folder = new ModelFolder();
        var entry = folder.AddModelFile("chest", "vgg16", TinyOnnxModels.MeanIntensity(1f, 0f)) with
        {
            Input = new ModelInputSpec { Name = "images" },
        };
        folder.SetModality("chest", new ModalityManifest { Models = [entry] }).Write();

        using var catalog = TestCatalogs.Load(folder.ManifestPath);

        Assert.Contains(catalog.Problems, p => p.Contains("no input 'images'", StringComparison.Ordinal) && p.Contains("input", StringComparison.Ordinal));
    }

    [Fact]
    public void A_manifest_heatmap_output_the_model_lacks_is_refused_with_the_outputs_it_has()
    {
        using var folder = new ModelFolder();
        var entry = folder.AddModelFile("chest", "vgg16", TinyOnnxModels.MeanIntensity(1f, 0f)) with
        {
            Output = new ModelOutputSpec { Heatmap = "covid_cam" },
        };
        folder.SetModality("chest", new ModalityManifest { Models = [entry] }).Write();

        using var catalog = TestCatalogs.Load(folder.ManifestPath);

        Assert.Contains(catalog.Problems, p => p.Contains("no heatmap output 'covid_cam'", StringComparison.Ordinal) && p.Contains("probabilities", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(1)] // a PyTorch export's default
    [InlineData(2)] // three images: one full run and one padded
    public void A_model_exported_with_a_fixed_batch_size_scores_any_batch_as_a_dynamic_one_does(int fixedBatch)
    {
        using var exportedFixed = CatalogWith(TinyOnnxModels.MeanIntensity(4f, -2f, fixedBatch: fixedBatch));
        using var exportedDynamic = CatalogWith(TinyOnnxModels.MeanIntensity(4f, -2f));
        var perImage = new ModelInputSpec().ElementsPerImage;
        float[] means = [0.1f, 0.5f, 0.9f];
        var batch = means.SelectMany(mean => Enumerable.Repeat(mean, perImage)).ToArray();

        Assert.Empty(exportedFixed.Problems);
        var scores = exportedFixed.For(Modality.Chest).Models[0].PredictCovid(batch, means.Length);

        Assert.Equal(exportedDynamic.For(Modality.Chest).Models[0].PredictCovid(batch, means.Length), scores);
        Assert.Equal(means.Select(m => (float)TinyOnnxModels.ExpectedPCovid(4, -2, m)), scores, (a, b) => Math.Abs(a - b) < 1e-3f); // float sums over 150,528 values
    }

    [Fact]
    public void A_model_whose_input_differs_from_the_manifest_is_refused_naming_both_shapes()
    {
        using var catalog = CatalogWith(TinyOnnxModels.MeanIntensity(1f, 0f, new ModelInputSpec { Width = 112, Height = 112 }));

        Assert.Contains(catalog.Problems, p => p.Contains("[?, 112, 112, 3], but the manifest describes NHWC 224x224", StringComparison.Ordinal));
    }

    [Fact]
    public void A_covid_index_outside_the_models_outputs_is_refused()
    {
        using var catalog = CatalogWith(TinyOnnxModels.MeanIntensity(1f, 0f), new ModelOutputSpec { CovidIndex = 2 });

        Assert.Contains(catalog.Problems, p => p.Contains("covidIndex 2 is outside output 'probabilities', which has 2 classes", StringComparison.Ordinal));
    }

    [Fact]
    public void A_convolutional_head_shaped_n_2_1_1_is_accepted_and_read_at_its_covid_index()
    {
        using var catalog = CatalogWith(TinyOnnxModels.MeanIntensity(1f, 0f, convolutionalHead: true), new ModelOutputSpec { CovidIndex = 1 });
        using var scan = new ScanDecoder().Decode(TestImages.Uniform(200));

        Assert.Empty(catalog.Problems);
        var model = Assert.Single(catalog.For(Modality.Chest).Models);
        var pCovid = model.PredictCovid(ImagePreprocessor.ToTensor(scan, model.Input), 1)[0];
        Assert.Equal(1 - TinyOnnxModels.ExpectedPCovid(1, 0, 200 / 255.0), pCovid, 1e-4);
    }

    [Theory]
    [InlineData("vgg16", "vgg16", "2 models are named 'vgg16'")]
    [InlineData("efficientnet-b0", "vgg16", "model name 'efficientnet-b0' cannot key a result row")]
    [InlineData("Ensemble", "vgg16", "model name 'Ensemble' cannot key a result row")]
    [InlineData("VGG16", "resnet50", "model name 'VGG16' has capitals; results name their models in lower case ('vgg16')")]
    public void Member_names_that_cannot_key_their_own_result_rows_or_are_not_lower_case_are_refused(string first, string second, string problem)
    {
        using var folder = new ModelFolder();
        var a = folder.AddModelFile("chest", "a", TinyOnnxModels.MeanIntensity(1f, 0f)) with { Name = first };
        var b = folder.AddModelFile("chest", "b", TinyOnnxModels.MeanIntensity(2f, 0f)) with { Name = second };
        folder.SetModality("chest", new ModalityManifest { Models = [a, b] }).Write();

        using var catalog = TestCatalogs.Load(folder.ManifestPath);

        Assert.Contains(catalog.Problems, p => p.Contains(problem, StringComparison.Ordinal));
    }

    private static ModelCatalog CatalogWith(byte[] onnx, ModelOutputSpec? output = null)
    {
        // The catalog reads the files while it loads, so the folder can go once it has.
        using var folder = new ModelFolder();
        var entry = folder.AddModelFile("chest", "vgg16", onnx);
        folder.SetModality("chest", new ModalityManifest { Models = [output is null ? entry : entry with { Output = output }] }).Write();
        return TestCatalogs.Load(folder.ManifestPath);
    }

    [Fact]
    public void Reads_the_manifest_shape_the_models_folder_uses()
    {
        const string json = """
        {
          "schemaVersion": 1,
          "modalities": {
            "ct": {
              "ensemble": { "rule": "soft-vote", "threshold": 0.42, "thresholdRationale": "chosen on val" },
              "models": [ {
                "name": "resnet50", "architecture": "resnet50", "version": "1.0.0", "file": "ct/resnet50.onnx", "sha256": "ab",
                "input": { "name": "input", "layout": "NCHW", "width": 128, "height": 96, "channelOrder": "BGR",
                           "scale": 1.0, "mean": [1, 2, 3], "std": [4, 5, 6] },
                "output": { "name": "logits", "covidIndex": 1, "kind": "logits" },
                "training": { "seed": 42 }, "validation": { "auc": 0.9 }
              } ]
            }
          }
        }
        """;

        var manifest = JsonSerializer.Deserialize<ModelManifest>(json, ModelManifest.JsonOptions)!;

        var ct = manifest.Modalities["ct"];
        Assert.Equal(0.42, ct.Ensemble.Threshold);
        var model = Assert.Single(ct.Models);
        Assert.Equal((TensorLayout.NCHW, 128, 96, "BGR", 1f), (model.Input.Layout, model.Input.Width, model.Input.Height, model.Input.ChannelOrder, model.Input.Scale));
        Assert.Equal([1f, 2f, 3f], model.Input.Mean);
        Assert.Equal((1, OutputKind.Logits, "logits"), (model.Output.CovidIndex, model.Output.Kind, model.Output.Name));
        Assert.Equal(42, model.Training!["seed"]!.GetValue<int>());
    }
}

public class CudaProviderFallbackTests
{
    [Fact]
    public async Task Asking_for_cuda_where_it_is_absent_scores_on_cpu_with_the_same_results()
    {
        using var folder = ModelFolder.WithStandardEnsembles();
        using var cpu = TestCatalogs.Load(folder.ManifestPath);
        using var cuda = new ModelCatalog(
            Options.Create(new ModelOptions { ManifestPath = folder.ManifestPath, Provider = ExecutionProvider.Cuda }),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<ModelCatalog>.Instance);
        using var cpuScorer = TestCatalogs.Scorer(cpu);
        using var cudaScorer = TestCatalogs.Scorer(cuda);
        var scan = TestImages.Uniform(123);

        var expected = await cpuScorer.ScoreAsync(Modality.Ct, scan, default);
        var actual = await cudaScorer.ScoreAsync(Modality.Ct, scan, default);

        Assert.True(cuda.IsReady, string.Join("; ", cuda.Problems));
        Assert.False(cuda.OnCuda);
        Assert.Equal(expected.PCovid, actual.PCovid, tolerance: 1e-6);
    }
}

public class ExecutionProviderSettingTests
{
    [Theory]
    [InlineData("cuda", ExecutionProvider.Cuda)]
    [InlineData("Cpu", ExecutionProvider.Cpu)]
    public void Is_read_whatever_its_case(string setting, ExecutionProvider expected)
    {
        using var services = StartupOptions(setting);

        Assert.Equal(expected, services.GetRequiredService<IOptions<ModelOptions>>().Value.Provider);
    }

    [Fact]
    public void A_misspelt_provider_stops_the_start_naming_the_setting()
    {
        using var services = StartupOptions("Gpu");

        // What a host runs before it starts (ValidateOnStart): a typo must not fall back to the CPU quietly.
        var error = Assert.Throws<InvalidOperationException>(() => services.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("Models:Provider", error.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider StartupOptions(string provider)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new("Models:Provider", provider)]).Build();
        return new ServiceCollection().AddLogging().AddCovidScoring(configuration).BuildServiceProvider();
    }
}
