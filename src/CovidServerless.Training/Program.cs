using CovidServerless.Training.Cli;

// covidserverless-train: trains the four architectures per modality, exports ONNX, maintains models/manifest.json.
TorchSharp.torch.set_num_threads(Math.Min(Environment.ProcessorCount, 2));
return TrainerCli.Build(line => Console.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {line}")).Parse(args).Invoke();
