using CovidServerless.Training.Architectures;
using CovidServerless.Training.Cli;
using CovidServerless.Training.Training;

// covidserverless-train: trains the four architectures per modality, exports ONNX, maintains models/manifest.json.
const string Usage = """
    usage:
      covidserverless-train train --modality chest|ct --arch vgg16|resnet50|inceptionv3|xception [options]
      covidserverless-train train-final --modality chest|ct --arch ... [options]   (on train + val, all epochs: the committed models)
      covidserverless-train train-all [options]          (all eight models, then both ensembles)
      covidserverless-train cross-validate --modality chest|ct [--folds 5] [--archs vgg16,resnet50,...] [options]
                                                         (patient-grouped CV on train + val; out-of-fold scores to models/cv)
      covidserverless-train calibrate --modality chest|ct [--target-sensitivity 0.9] [--min-coverage 0.85]
                                                         (temperatures, threshold, abstaining band from the CV scores; report models/cv/M.md)
      covidserverless-train ensemble --modality chest|ct [--out models] [--data DIR]
      covidserverless-train gate [--folds 5] [--seed 42]   (the input gate: compares approaches by grouped CV, writes models/gate)
      covidserverless-train teacher-probe --modality chest|ct   (linear probe on the ImageNet teacher's features)
      covidserverless-train add-heatmaps [--out models] [--data DIR]   (adds the covid_cam output to the manifest's models)
      covidserverless-train heatmap-report [--figure docs/images/heatmaps.png] [--per-class 2]   (border share, cost, figure on val)
    options: --width 0.25 --resolution 112 --epochs 40 --patience 10 --batch 32 --lr 0.001 --seed 42
             --teacher-weight 1 (0 = from scratch) --out models --data ../shared/data (or $COVIDSERVERLESS_DATA)
    """;

if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine(Usage);
    return args.Length == 0 ? 2 : 0;
}

TorchSharp.torch.set_num_threads(Math.Min(Environment.ProcessorCount, 2));
void Log(string line) => Console.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {line}");

try
{
    var command = args[0];
    var options = new Arguments(args.Skip(1));
    var dataRoot = RepositoryPaths.Data(options.OptionalString("data"));
    var outDirectory = Path.GetFullPath(options.String("out", Path.Combine(RepositoryPaths.Root, "models")));
    TrainingOptions Read(string modality, string architecture) => new()
    {
        Modality = modality,
        Architecture = architecture,
        WidthMultiplier = options.Double("width", 0.25),
        InternalResolution = options.Int("resolution", 112),
        MaxEpochs = options.Int("epochs", 40),
        Patience = options.Int("patience", 10),
        BatchSize = options.Int("batch", 32),
        LearningRate = options.Double("lr", 1e-3),
        Seed = options.Int("seed", 42),
        TeacherWeight = options.Double("teacher-weight", 1.0),
    };

    switch (command)
    {
        case "train":
            var single = Read(options.String("modality", "ct"), options.String("arch", "resnet50"));
            options.EnsureAllUsed();
            TrainCommand.Run(single, dataRoot, outDirectory, Log);
            break;
        case "train-final":
            var final = Read(options.String("modality", "ct"), options.String("arch", "resnet50"));
            options.EnsureAllUsed();
            TrainCommand.Run(final, dataRoot, outDirectory, Log, pooled: true);
            break;
        case "train-all":
            var template = Read("ct", "resnet50");
            options.EnsureAllUsed();
            foreach (var modality in new[] { "chest", "ct" })
            {
                foreach (var architecture in Architecture.Names)
                {
                    TrainCommand.Run(template with { Modality = modality, Architecture = architecture }, dataRoot, outDirectory, Log);
                }

                EnsembleCommand.Run(modality, dataRoot, outDirectory, Log);
            }

            break;
        case "cross-validate":
            var cvModality = options.String("modality", "ct");
            var cvFolds = options.Int("folds", 5);
            var archs = options.String("archs", string.Join(',', Architecture.Names)).Split(',');
            var widths = options.String("widths", string.Join(',', archs.Select(_ => options.Double("width", 0.25).ToString(System.Globalization.CultureInfo.InvariantCulture)))).Split(',');
            var cvRecipes = archs.Select((a, i) => Read(cvModality, a) with { WidthMultiplier = double.Parse(widths[i], System.Globalization.CultureInfo.InvariantCulture) }).ToList();
            options.EnsureAllUsed();
            CrossValidateCommand.Run(cvRecipes, cvFolds, dataRoot, outDirectory, Log);
            break;
        case "calibrate":
            var calibrateModality = options.String("modality", "ct");
            var target = options.Double("target-sensitivity", CalibrateCommand.DefaultTargetSensitivity);
            var coverage = options.Double("min-coverage", CalibrateCommand.DefaultMinCoverage);
            options.EnsureAllUsed();
            CalibrateCommand.Run(calibrateModality, outDirectory, target, coverage, Log);
            break;
        case "ensemble":
            var ensembleModality = options.String("modality", "ct");
            options.EnsureAllUsed();
            EnsembleCommand.Run(ensembleModality, dataRoot, outDirectory, Log);
            break;
        case "gate":
            var folds = options.Int("folds", 5);
            var gateSeed = options.Int("seed", 42);
            options.EnsureAllUsed();
            GateCommand.Run(dataRoot, outDirectory, folds, gateSeed, Log);
            break;
        case "teacher-probe":
            var probeModality = options.String("modality", "ct");
            options.EnsureAllUsed();
            TeacherProbeCommand.Run(probeModality, dataRoot, Log);
            break;
        case "add-heatmaps":
            options.EnsureAllUsed();
            AddHeatmapsCommand.Run(dataRoot, outDirectory, Log);
            break;
        case "heatmap-report":
            var figure = options.String("figure", Path.Combine(RepositoryPaths.Root, "docs", "images", "heatmaps.png"));
            var perClass = options.Int("per-class", 2);
            options.EnsureAllUsed();
            HeatmapReportCommand.Run(dataRoot, outDirectory, figure, perClass, Log);
            break;
        default:
            Console.Error.WriteLine($"Unknown command '{command}'.\n{Usage}");
            return 2;
    }

    return 0;
}
catch (Exception e) when (e is ArgumentException or DirectoryNotFoundException or KeyNotFoundException)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
