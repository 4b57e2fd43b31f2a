using System.Globalization;
using CovidServerless.Training.Cli;
using CovidServerless.Training.Data;
using CovidServerless.Training.Evaluation;
using CovidServerless.Training.Training;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace CovidServerless.Training.Tests;

/// <summary>The fine-tunable teacher starts as the package's ImageNet ResNet18, computed by ONNX Runtime.</summary>
[Collection(TorchTraining.Name)]
public sealed class FineTunedTeacherTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("teacher-").FullName;

    [Fact]
    public void Before_fine_tuning_the_interpreted_graph_gives_the_features_onnx_runtime_gives()
    {
        torch.set_num_threads(2);
        var folder = ColourImages(4);
        using var onnx = new ImageNetTeacher(ImageNetTeacher.DefaultModelsDirectory);
        var expected = folder.Scans.Select(s => onnx.Features(s.Path)).ToArray();

        using var teacher = new FineTunedTeacher(ImageNetTeacher.DefaultModelsDirectory, resolution: 224);
        var (pixels, labels) = ScanTensors.Load(folder);
        using (pixels)
        using (labels)
        {
            var actual = teacher.Targets(pixels).Features;

            var scale = expected.SelectMany(f => f).Max(Math.Abs);
            var maxDiff = expected.Zip(actual, (e, a) => e.Zip(a, (x, y) => Math.Abs(x - y)).Max()).Max();
            Assert.True(maxDiff <= 1e-3 * scale, $"max abs difference {maxDiff:E2} against features up to {scale:F2}");
            // The images differ, so equal features are not a coincidence of constant outputs.
            Assert.True(expected[0].Zip(expected[3], (x, y) => Math.Abs(x - y)).Max() > 0.1 * scale);
        }
    }

    [Fact]
    public void In_cross_validation_each_fold_s_teacher_scores_only_the_scans_it_did_not_train_on_and_the_students_distil_from_it()
    {
        var dataRoot = Path.Combine(root, "data");
        SyntheticScans.Create(Path.Combine(dataRoot, "ct"), trainPerClass: 15, valPerClass: 5, seed: 9);
        var files = SyntheticScans.WriteManifest(dataRoot, imagesPerPatient: 1);
        var outDirectory = Path.Combine(root, "models");
        var recipe = new TrainingOptions
        {
            Modality = "ct",
            Architecture = "vgg16",
            WidthMultiplier = 0.125,
            InternalResolution = 56,
            MaxEpochs = 3,
            BatchSize = 10,
            LearningRate = 3e-3,
            Teacher = TeacherKind.FineTuned,
            TeacherWeight = 1,
            LogitWeight = 1,
            FineTuning = new TeacherOptions(Epochs: 3, Resolution: 64, LearningRate: 1e-3, BatchSize: 10, Seed: 3),
        };
        var log = new List<string>();

        // A cache of this test's own, so the fine-tuning itself runs here.
        CrossValidateCommand.Run([recipe], 3, dataRoot, outDirectory, log.Add, cacheDirectory: Path.Combine(root, "cache"));

        var students = OutOfFoldScores.Read(OutOfFoldScores.PathFor(outDirectory, "ct")).Where(s => s.Variant == OutOfFoldScores.Original).ToList();
        var teacher = OutOfFoldScores.Read(Path.Combine(outDirectory, "cv", "ct-teacher-oof.csv"));
        Assert.Equal(files.Order(), teacher.Select(t => t.File).Order());
        // The same folds as the students': a fold's teacher never saw the scans its students are judged on.
        var studentFold = students.ToDictionary(s => s.File, s => s.Fold);
        Assert.All(teacher, t => Assert.Equal(studentFold[t.File], t.Fold));
        // Each fold's teacher trained on every scan but that fold's, and on no more.
        Assert.Equal(
            Enumerable.Range(0, 3).Select(k => $"fine-tuning the teacher of fold {k + 1}/3 on {files.Count - students.Count(s => s.Fold == k)} scans"),
            log.Where(l => l.Contains("fine-tuning the teacher", StringComparison.Ordinal)).Select(l => l[(l.IndexOf("fine-tuning", StringComparison.Ordinal))..]));
        Assert.Equal(3, log.Count(l => l.Contains("teacher epoch  3/3", StringComparison.Ordinal)));
        // Both distillations ran: the students' epochs log a feature loss and a non-zero loss on the teacher's verdicts.
        var epochs = log.Where(l => l.Contains("vgg16 epoch", StringComparison.Ordinal)).ToList();
        Assert.All(epochs, l => Assert.Contains("(distill ", l, StringComparison.Ordinal));
        Assert.All(epochs, l => Assert.True(
            double.Parse(System.Text.RegularExpressions.Regex.Match(l, @"\(logits ([0-9.]+)\)").Groups[1].Value, CultureInfo.InvariantCulture) > 0, l));
        // The blobs are easy: a fine-tuned ImageNet network separates them on scans it did not train on.
        var auc = BinaryMetrics.Auc([.. teacher.Select(t => t.PCovid)], [.. teacher.Select(t => t.IsCovid)]);
        Assert.True(auc > 0.8, $"teacher's out-of-fold AUC {auc:F3}");
    }

    /// <summary>Coloured, so that the channel order (the package's BGR) matters; scans are grey.</summary>
    private ScanFolder ColourImages(int count)
    {
        var random = new Random(5);
        foreach (var label in new[] { "covid", "noncovid" })
        {
            Directory.CreateDirectory(Path.Combine(root, label));
        }

        for (var i = 0; i < count; i++)
        {
            using var bitmap = new SKBitmap(240, 200);
            using (var canvas = new SKCanvas(bitmap))
            {
                canvas.Clear(new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
                using var paint = new SKPaint { IsAntialias = true };
                for (var j = 0; j < 8; j++)
                {
                    paint.Color = new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
                    canvas.DrawCircle(random.Next(240), random.Next(200), random.Next(10, 60), paint);
                }
            }

            using var png = SKImage.FromBitmap(bitmap).Encode(SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(Path.Combine(root, i % 2 == 0 ? "covid" : "noncovid", $"image-{i}.png"), png.ToArray());
        }

        return ScanFolder.Open(root);
    }

    public void Dispose() => Directory.Delete(root, recursive: true);
}
