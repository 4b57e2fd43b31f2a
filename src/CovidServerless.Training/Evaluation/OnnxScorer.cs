using CovidServerless.Core;
using CovidServerless.Core.Models;
using CovidServerless.Training.Data;

namespace CovidServerless.Training.Evaluation;

/// <summary>
/// Scores image files with an ONNX model the way serving does: the core's <see cref="OnnxModel"/> (opened as the
/// catalog opens it: sha256, session options, contract check, output reading) on the core's decoder and preprocessor.
/// </summary>
internal sealed class OnnxScorer(Modality modality, ModelEntry entry, string folder) : IDisposable
{
    private const int BatchSize = 16;

    private readonly OnnxModel model = OnnxModel.Open(modality, entry, folder, OnnxSessionFactory.CreateOptions(new ModelOptions(), onCuda: false));

    /// <summary>A file the trainer just exported, with the seed's input and output contract.</summary>
    public static OnnxScorer ForExport(string modality, string onnxPath) => new(
        ModalityNames.Parse(modality),
        new ModelEntry { Name = Path.GetFileNameWithoutExtension(onnxPath), File = Path.GetFullPath(onnxPath), Input = ScanTensors.SeedInput },
        folder: "");

    public double[] ScoreCovid(IReadOnlyList<string> paths)
    {
        var scores = new List<double>(paths.Count);
        foreach (var batch in paths.Chunk(BatchSize))
        {
            var data = batch.SelectMany(p => ScanTensors.Preprocess(p, model.Input)).ToArray();
            scores.AddRange(model.PredictCovid(data, batch.Length).Select(p => (double)p));
        }

        return [.. scores];
    }

    public void Dispose() => model.Dispose();
}
