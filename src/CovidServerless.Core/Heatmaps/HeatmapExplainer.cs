using CovidServerless.Core.Imaging;
using CovidServerless.Core.Models;
using CovidServerless.Core.Scoring;

namespace CovidServerless.Core.Heatmaps;

/// <summary>One member's pCovid and map for a scan.</summary>
public sealed record MemberHeatmap(string Model, float PCovid, CamMap Map);

/// <summary>
/// The class-activation maps of one scan from every member of a modality's ensemble that has a heatmap output. Runs
/// the models itself (through the one preprocessing path), apart from the scoring path, so scoring stays unchanged.
/// </summary>
public sealed class HeatmapExplainer(ModelCatalog catalog)
{
    public IReadOnlyList<MemberHeatmap> Explain(Modality modality, DecodedScan scan)
    {
        ArgumentNullException.ThrowIfNull(scan);
        var ensemble = catalog.For(modality);
        using var prepared = PreparedScan.For(ensemble, scan);
        var result = new List<MemberHeatmap>();
        for (var m = 0; m < ensemble.Models.Count; m++)
        {
            var model = ensemble.Models[m];
            if (!model.HasHeatmap)
            {
                continue;
            }

            var (pCovid, map) = model.PredictWithHeatmap(prepared.TensorArray(ensemble.InputOfModel[m]));
            result.Add(new MemberHeatmap(model.Name, pCovid, map));
        }

        return result;
    }

    /// <summary>The ensemble's map at the given size: the mean of the members' maps, each resized to it first.</summary>
    public static CamMap EnsembleMap(IReadOnlyList<MemberHeatmap> members, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(members);
        return CamMap.Mean([.. members.Select(m => m.Map.Resize(width, height))]);
    }
}
