using System.CommandLine;
using CovidServerless.Training.Architectures;
using CovidServerless.Training.Training;

namespace CovidServerless.Training.Cli;

/// <summary>The trainer's commands (System.CommandLine, as the covidscan CLI).</summary>
internal static class TrainerCli
{
    public static RootCommand Build(Action<string> log)
    {
        var data = new Option<string?>("--data")
        {
            Description = "Folder holding chest/ and ct/ (default ../shared/data beside the repository, or $COVIDSERVERLESS_DATA).",
            Recursive = true,
        };
        var output = new Option<string>("--out")
        {
            Description = "Models folder holding manifest.json (default models/).",
            DefaultValueFactory = _ => Path.Combine(RepositoryPaths.Root, "models"),
            Recursive = true,
        };
        var modality = new Option<string>("--modality") { Description = "chest or ct", Required = true };
        modality.AcceptOnlyFromAmong("chest", "ct");
        var recipe = new RecipeOptions();

        var train = new Command("train", "Train one model on <modality>/train with early stopping on <modality>/val (for experiments).");
        var trainFinal = new Command("train-final", "Train one committed model on train + val pooled, every epoch run, the last kept.");
        foreach (var command in new[] { train, trainFinal })
        {
            var architecture = Architecture();
            command.Options.Add(modality);
            command.Options.Add(architecture);
            recipe.AddTo(command);
            var pooled = command == trainFinal;
            command.SetAction(parse => Guarded(() => TrainCommand.Run(
                recipe.Read(parse, parse.GetValue(modality)!, parse.GetValue(architecture)!),
                RepositoryPaths.Data(parse.GetValue(data)), Out(parse), log, pooled)));
        }

        var folds = new Option<int>("--folds") { Description = "Number of folds.", DefaultValueFactory = _ => 5 };
        var archs = new Option<string>("--archs") { Description = "Comma-separated architectures.", DefaultValueFactory = _ => string.Join(',', Architectures.Architecture.Names) };
        var widths = new Option<string?>("--widths") { Description = "Comma-separated width multipliers, one per architecture (default --width for all)." };
        var crossValidate = new Command("cross-validate", "Patient-grouped k-fold cross-validation on train + val; out-of-fold scores to <out>/cv/<modality>-oof.csv.")
        {
            modality, folds, archs, widths,
        };
        recipe.AddTo(crossValidate);
        crossValidate.SetAction(parse => Guarded(() =>
        {
            var names = parse.GetValue(archs)!.Split(',');
            var perArch = parse.GetValue(widths)?.Split(',').Select(w => double.Parse(w, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            if (perArch is not null && perArch.Length != names.Length)
            {
                throw new ArgumentException($"--widths gives {perArch.Length} values for {names.Length} architectures.");
            }

            var recipes = names.Select((name, i) => recipe.Read(parse, parse.GetValue(modality)!, name) is var r && perArch is not null
                ? r with { WidthMultiplier = perArch[i] }
                : r).ToList();
            CrossValidateCommand.Run(recipes, parse.GetValue(folds), RepositoryPaths.Data(parse.GetValue(data)), Out(parse), log);
        }));

        var target = new Option<double>("--target-sensitivity") { Description = "Sensitivity the threshold is chosen for.", DefaultValueFactory = _ => CalibrateCommand.DefaultTargetSensitivity };
        var coverage = new Option<double>("--min-coverage") { Description = "Least share of confident verdicts the abstaining band leaves.", DefaultValueFactory = _ => CalibrateCommand.DefaultMinCoverage };
        var calibrate = new Command("calibrate", "Member calibrations, threshold and abstaining band from the out-of-fold scores; report <out>/cv/<modality>.md.")
        {
            modality, target, coverage,
        };
        calibrate.SetAction(parse => Guarded(() =>
            CalibrateCommand.Run(parse.GetValue(modality)!, Out(parse), parse.GetValue(target), parse.GetValue(coverage), log)));

        var gateFolds = new Option<int>("--folds") { Description = "Number of folds.", DefaultValueFactory = _ => 5 };
        var gateSeed = new Option<int>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 42 };
        var gate = new Command("gate", "Build the input gate: compares approaches by patient-grouped CV, writes <out>/gate.") { gateFolds, gateSeed };
        gate.SetAction(parse => Guarded(() =>
            GateCommand.Run(RepositoryPaths.Data(parse.GetValue(data)), Out(parse), parse.GetValue(gateFolds), parse.GetValue(gateSeed), log)));

        var fineTune = new Option<bool>("--fine-tune") { Description = "Fine-tune the whole teacher on train instead (val AUC of its own verdicts)." };
        var teacherOptions = new TeacherOptionSet();
        var probeFolds = new Option<int>("--folds") { Description = "With --fine-tune: patient-grouped cross-validation on train + val with this many folds (0: train -> val).", DefaultValueFactory = _ => 0 };
        var probeSeed = new Option<int>("--seed") { Description = "Random seed (fine-tuning, folds).", DefaultValueFactory = _ => 42 };
        var probe = new Command("teacher-probe", "Linear probe on the ImageNet teacher's features (train -> val AUC), or the teacher fine-tuned.") { modality, fineTune, probeFolds, probeSeed };
        teacherOptions.AddTo(probe);
        probe.SetAction(parse => Guarded(() =>
        {
            var dataRoot = RepositoryPaths.Data(parse.GetValue(data));
            var options = teacherOptions.Read(parse) with { Seed = parse.GetValue(probeSeed) };
            _ = !parse.GetValue(fineTune) ? TeacherProbeCommand.Run(parse.GetValue(modality)!, dataRoot, log)
                : parse.GetValue(probeFolds) > 1 ? TeacherProbeCommand.RunCrossValidated(parse.GetValue(modality)!, dataRoot, Out(parse), parse.GetValue(probeFolds), options, log)
                : TeacherProbeCommand.RunFineTuned(parse.GetValue(modality)!, dataRoot, options, log);
        }));

        var addHeatmaps = new Command("add-heatmaps", "Add the covid_cam output to the manifest's models (checked on every val image).");
        addHeatmaps.SetAction(parse => Guarded(() => AddHeatmapsCommand.Run(RepositoryPaths.Data(parse.GetValue(data)), Out(parse), log)));

        var figure = new Option<string>("--figure") { Description = "PNG figure to write.", DefaultValueFactory = _ => Path.Combine(RepositoryPaths.Root, "docs", "images", "heatmaps.png") };
        var perClass = new Option<int>("--per-class") { Description = "Scans per class in the figure.", DefaultValueFactory = _ => 2 };
        var heatmapReport = new Command("heatmap-report", "Border-heat share per model, the map's serving cost, and the figure.") { figure, perClass };
        heatmapReport.SetAction(parse => Guarded(() =>
            HeatmapReportCommand.Run(RepositoryPaths.Data(parse.GetValue(data)), Out(parse), parse.GetValue(figure)!, parse.GetValue(perClass), log)));

        return new RootCommand("covidserverless-train: trains, cross-validates and calibrates the ensembles; builds the input gate. ./train.sh runs the committed recipe.")
        {
            data, output, train, trainFinal, crossValidate, calibrate, gate, probe, addHeatmaps, heatmapReport,
        };

        string Out(ParseResult parse) => Path.GetFullPath(parse.GetValue(output)!);
    }

    private static Option<string> Architecture()
    {
        var option = new Option<string>("--arch") { Description = "vgg16, resnet50, inceptionv3 or xception", Required = true };
        option.AcceptOnlyFromAmong([.. Architectures.Architecture.Names]);
        return option;
    }

    /// <summary>Problems with the data or the arguments end the command with exit code 2 and one line, not a stack trace.</summary>
    private static int Guarded(Action action)
    {
        try
        {
            action();
            return 0;
        }
        catch (Exception e) when (e is ArgumentException or DirectoryNotFoundException or KeyNotFoundException or FileNotFoundException)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
    }

    /// <summary>How a fine-tuned teacher is trained.</summary>
    private sealed class TeacherOptionSet
    {
        private readonly Option<int> epochs = new("--teacher-epochs") { Description = "Epochs of teacher fine-tuning.", DefaultValueFactory = _ => new TeacherOptions().Epochs };
        private readonly Option<int> resolution = new("--teacher-resolution") { Description = "Resolution the teacher sees (a multiple of 32: 224, 160, 128, ...).", DefaultValueFactory = _ => new TeacherOptions().Resolution };
        private readonly Option<double> rate = new("--teacher-lr") { Description = "Teacher's Adam learning rate (cosine decay).", DefaultValueFactory = _ => new TeacherOptions().LearningRate };

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { epochs, resolution, rate })
            {
                command.Options.Add(option);
            }
        }

        public TeacherOptions Read(ParseResult parse) =>
            new(parse.GetValue(epochs), parse.GetValue(resolution), parse.GetValue(rate));
    }

    /// <summary>The options that define a training recipe (recorded in the manifest).</summary>
    private sealed class RecipeOptions
    {
        private readonly Option<double> width = new("--width") { Description = "Channel multiplier (1 = the published widths).", DefaultValueFactory = _ => 0.25 };
        private readonly Option<int> resolution = new("--resolution") { Description = "Resolution the backbone sees: 224, 112 or 56.", DefaultValueFactory = _ => 112 };
        private readonly Option<int> epochs = new("--epochs") { Description = "Epochs (the most, with early stopping).", DefaultValueFactory = _ => 20 };
        private readonly Option<int> patience = new("--patience") { Description = "Early stopping: epochs without a better val AUC (train only).", DefaultValueFactory = _ => 10 };
        private readonly Option<int> batch = new("--batch") { Description = "Batch size.", DefaultValueFactory = _ => 32 };
        private readonly Option<double> rate = new("--lr") { Description = "Adam learning rate (cosine decay).", DefaultValueFactory = _ => 1e-3 };
        private readonly Option<int> seed = new("--seed") { Description = "Random seed (initialisation, shuffling, augmentation, folds).", DefaultValueFactory = _ => 42 };
        private readonly Option<double> teacher = new("--teacher-weight") { Description = "Feature distillation weight; 0 (and no logit weight) trains from scratch.", DefaultValueFactory = _ => 1.0 };
        private readonly Option<string> teacherKind = new("--teacher") { Description = "imagenet (the package's ResNet18 as shipped) or fine-tuned (fine-tuned on the student's training scans first).", DefaultValueFactory = _ => "imagenet" };
        private readonly Option<double> logitWeight = new("--logit-weight") { Description = "Logit distillation weight (fine-tuned teacher only).", DefaultValueFactory = _ => 0.0 };
        private readonly TeacherOptionSet fineTuning = new();

        public RecipeOptions() => teacherKind.AcceptOnlyFromAmong("imagenet", "fine-tuned");

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { width, resolution, epochs, patience, batch, rate, seed, teacher, teacherKind, logitWeight })
            {
                command.Options.Add(option);
            }

            fineTuning.AddTo(command);
        }

        public TrainingOptions Read(ParseResult parse, string modality, string architecture) => new()
        {
            Modality = modality,
            Architecture = architecture,
            WidthMultiplier = parse.GetValue(width),
            InternalResolution = parse.GetValue(resolution),
            MaxEpochs = parse.GetValue(epochs),
            Patience = parse.GetValue(patience),
            BatchSize = parse.GetValue(batch),
            LearningRate = parse.GetValue(rate),
            Seed = parse.GetValue(seed),
            TeacherWeight = parse.GetValue(teacher),
            Teacher = parse.GetValue(teacherKind) == "fine-tuned" ? TeacherKind.FineTuned : TeacherKind.ImageNet,
            LogitWeight = parse.GetValue(logitWeight),
            FineTuning = fineTuning.Read(parse) with { Seed = parse.GetValue(seed) },
        };
    }
}
