using System.CommandLine;
using System.Text.Json;
using CovidServerless.Core;
using CovidServerless.Core.Evaluation;
using CovidServerless.Core.Gate;
using CovidServerless.Core.Heatmaps;
using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using Microsoft.Extensions.DependencyInjection;

namespace CovidServerless.Cli.Commands;

/// <summary>
/// <c>covidscan score FILES|DIRS --modality M [--json] [--heatmap DIR]</c>: scores local files; needs no storage. With
/// --heatmap, writes per scored file DIR/&lt;stem&gt;.ensemble.png and DIR/&lt;stem&gt;.&lt;model&gt;.png (class-activation overlays).
/// The exit code says whether the run worked, never what the scans showed: 0 once any file was scored or rejected,
/// whatever the verdicts (covid, noncovid or indeterminate), 1 when no image was found, 2 for a usage or model problem.
/// </summary>
internal static class ScoreCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("paths") { Description = "Image files or folders (searched recursively).", Arity = ArgumentArity.OneOrMore };
        var modality = CommonOptions.Modality();
        var models = CommonOptions.Models();
        var json = new Option<bool>("--json") { Description = "Write one JSON result per file (the pipeline's result shape) as an array." };
        var heatmap = new Option<string?>("--heatmap") { Description = "Folder to write heatmap overlays to: <file stem>.ensemble.png and <file stem>.<model>.png per scored file (red = toward COVID, blue = away)." };
        var command = new Command(
            "score",
            "Score image files with a modality's ensemble, without any storage. A verdict is covid, noncovid, or indeterminate " +
            "(the ensemble abstains: needs a radiologist). Exit code 0 whatever the verdicts; 1 when no image was found; 2 for a usage or model problem.")
        {
            paths, modality, models, json, heatmap,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            // Checked before anything is scored, so a mistyped path does not throw away the rest of the run.
            var missing = parse.GetValue(paths)!.Where(p => !File.Exists(p) && !Directory.Exists(p)).ToList();
            if (missing.Count > 0)
            {
                await Console.Error.WriteLineAsync($"No such file or folder: {string.Join(", ", missing)}");
                return 2;
            }

            var files = new List<string>();
            foreach (var path in parse.GetValue(paths)!)
            {
                var found = Directory.Exists(path) ? LabelledFolder.ImagesUnder(path).ToList() : [path];
                if (found.Count == 0)
                {
                    await Console.Error.WriteLineAsync($"No images under {path} (looked for {string.Join(", ", LabelledFolder.ImageExtensions)}).");
                }

                files.AddRange(found);
            }

            using var services = CliServices.Create(parse.GetValue(models));
            if (!await CliServices.ModelsReadyAsync(services, ModalityNames.Parse(parse.GetValue(modality)!)))
            {
                return 2;
            }

            var scorer = services.GetRequiredService<IScanScorer>();
            var decoder = services.GetRequiredService<ScanDecoder>();
            var heatmapFolder = parse.GetValue(heatmap);
            var results = new List<ScanResult>();
            foreach (var file in files)
            {
                var result = await ScoreFileAsync(scorer, decoder, ModalityNames.Parse(parse.GetValue(modality)!), file, cancellationToken);
                results.Add(result);
                if (heatmapFolder is not null && result.Status == ScanStatus.Scored)
                {
                    await WriteHeatmapsAsync(services, ModalityNames.Parse(parse.GetValue(modality)!), file, heatmapFolder, cancellationToken);
                }
            }

            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(results, CliJson.Indented));
            }
            else
            {
                WriteTable(results);
            }

            return results.Count == 0 ? 1 : 0;
        });
        return command;
    }

    /// <summary>The file's result in the pipeline's shape, with its gate score and, for DICOM, its instance UIDs (as the pipeline's).</summary>
    internal static async Task<ScanResult> ScoreFileAsync(
        IScanScorer scorer, ScanDecoder decoder, Modality modality, string file, CancellationToken cancellationToken)
    {
        var bytes = await File.ReadAllBytesAsync(file, cancellationToken);
        var identity = new ScanIdentity(modality, file, "local", File.GetLastWriteTimeUtc(file));
        var baseResult = new ScanResult
        {
            ScanId = identity.ScanId,
            Modality = modality.ToName(),
            BlobName = file,
            BlobVersion = "local",
            Status = ScanStatus.Scored,
            UploadedAt = identity.UploadedAt,
            ProcessedAt = DateTimeOffset.UtcNow,
            Dicom = decoder.ReadDicomUids(bytes),
        };
        try
        {
            var score = await scorer.ScoreAsync(modality, bytes, cancellationToken);
            return ScanResult.Scored(identity, score, baseResult.ProcessedAt) with { Dicom = baseResult.Dicom };
        }
        catch (ScanRejectedException ex)
        {
            return baseResult with { Status = ScanStatus.Rejected, Reason = ex.Message, Gate = (ex as GateRejectedException)?.Gate };
        }
    }

    /// <summary>Writes the ensemble's and each member's overlay for one scored file; members without a heatmap output are skipped.</summary>
    internal static async Task WriteHeatmapsAsync(IServiceProvider services, Modality modality, string file, string folder, CancellationToken cancellationToken)
    {
        using var scan = services.GetRequiredService<ScanDecoder>().Decode(await File.ReadAllBytesAsync(file, cancellationToken));
        var members = new HeatmapExplainer(services.GetRequiredService<ModelCatalog>()).Explain(modality, scan);
        if (members.Count == 0)
        {
            await Console.Error.WriteLineAsync($"No {modality.ToName()} model has a heatmap output; no overlay for {file}.");
            return;
        }

        Directory.CreateDirectory(folder);
        var stem = Path.GetFileNameWithoutExtension(file);
        var ensemble = HeatmapExplainer.EnsembleMap(members, scan.Width, scan.Height);
        await File.WriteAllBytesAsync(Path.Combine(folder, $"{stem}.ensemble.png"), HeatmapRenderer.RenderPng(scan.Bitmap, ensemble), cancellationToken);
        foreach (var member in members)
        {
            await File.WriteAllBytesAsync(Path.Combine(folder, $"{stem}.{member.Model}.png"), HeatmapRenderer.RenderPng(scan.Bitmap, member.Map), cancellationToken);
        }
    }

    private static void WriteTable(IReadOnlyList<ScanResult> results)
    {
        foreach (var r in results)
        {
            Console.WriteLine(r.Status == ScanStatus.Scored
                ? $"{r.BlobName}: {VerdictWords(r.Verdict)} (pCovid {r.PCovid:F3}, threshold {r.Threshold:F2}) " +
                  string.Join(" ", r.Models.Select(m => $"{m.Name}={m.PCovid:F3}"))
                : $"{r.BlobName}: {r.Status}: {r.Reason}");
        }
    }

    /// <summary>An abstention says what it asks for, so that nobody reads it as a third diagnosis.</summary>
    internal static string? VerdictWords(string? verdict) =>
        verdict == Verdicts.Indeterminate ? "indeterminate: needs a radiologist" : verdict;
}
