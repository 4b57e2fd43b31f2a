using System.Text.RegularExpressions;
using CovidServerless.Core.Results;
using Microsoft.ML.OnnxRuntime;

namespace CovidServerless.Core.Models;

/// <summary>
/// What a manifest promises about its models, checked when they load: a mismatch then keeps the catalog from being
/// ready, with its reason, instead of failing every scan that reaches the model.
/// </summary>
internal static partial class ModelContract
{
    /// <summary>The problems with one modality's member names, which key its result rows.</summary>
    public static IEnumerable<string> NameProblems(string modality, IEnumerable<ModelEntry> entries)
    {
        var names = entries.Select(e => e.Name).ToList();
        foreach (var duplicate in names.GroupBy(n => n, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
        {
            yield return $"Modality {modality}: {duplicate.Count()} models are named '{duplicate.Key}'; each member needs a name of its own (it keys the member's result row).";
        }

        foreach (var name in names.Distinct(StringComparer.Ordinal))
        {
            if (!string.Equals(name, name.ToLowerInvariant(), StringComparison.Ordinal))
            {
                yield return $"Modality {modality}: model name '{name}' has capitals; results name their models in lower case ('{name.ToLowerInvariant()}').";
            }

            if (!RowKeySafe().IsMatch(name) || string.Equals(name, ResultRows.EnsembleMember, StringComparison.OrdinalIgnoreCase))
            {
                yield return $"Modality {modality}: model name '{name}' cannot key a result row; use letters, digits, '_' or '.', and not '{ResultRows.EnsembleMember}'.";
            }
        }
    }

    /// <summary>
    /// Throws with the reason when the session lacks the named input or output or has other shapes than the entry
    /// describes; returns the model's fixed batch size, or null when its batch dimension is dynamic.
    /// </summary>
    public static int? Check(ModelEntry entry, InferenceSession session)
    {
        if (!session.InputMetadata.TryGetValue(entry.Input.Name, out var input))
        {
            throw new InvalidOperationException(
                $"the model has no input '{entry.Input.Name}' (it has: {string.Join(", ", session.InputMetadata.Keys)}).");
        }

        if (!session.OutputMetadata.TryGetValue(entry.Output.Name, out var output))
        {
            throw new InvalidOperationException(
                $"the model has no output '{entry.Output.Name}' (it has: {string.Join(", ", session.OutputMetadata.Keys)}).");
        }

        CheckInput(entry.Input, input.Dimensions);
        CheckHeatmap(entry.Output, session);

        // Scoring reads each image's outputs as one row (a [N, 2] head, or a convolutional [N, 2, 1, 1] one).
        var perImage = output.Dimensions.Skip(1).ToList();
        var classes = perImage.Count > 0 && perImage.All(d => d > 0) ? perImage.Aggregate(1, (a, d) => a * d) : -1;
        if (entry.Output.CovidIndex < 0 || (classes > 0 && entry.Output.CovidIndex >= classes))
        {
            throw new InvalidOperationException(
                $"covidIndex {entry.Output.CovidIndex} is outside output '{entry.Output.Name}', which has {classes} classes.");
        }

        return input.Dimensions[0] > 0 ? input.Dimensions[0] : null;
    }

    private static void CheckHeatmap(ModelOutputSpec spec, InferenceSession session)
    {
        if (spec.Heatmap is null)
        {
            return;
        }

        if (!session.OutputMetadata.TryGetValue(spec.Heatmap, out var heatmap))
        {
            throw new InvalidOperationException(
                $"the model has no heatmap output '{spec.Heatmap}' (it has: {string.Join(", ", session.OutputMetadata.Keys)}).");
        }

        if (heatmap.Dimensions.Length != 3)
        {
            throw new InvalidOperationException($"heatmap output '{spec.Heatmap}' has {heatmap.Dimensions.Length} dimensions; a map per image is [N, h, w].");
        }
    }

    /// <summary>
    /// Checks a classifier's named input and output as <see cref="Check"/> does; returns the classes per image, or -1
    /// when the output's shape leaves that open.
    /// </summary>
    public static int ClassCount(ModelEntry entry, InferenceSession session)
    {
        Check(entry, session);
        var perImage = session.OutputMetadata[entry.Output.Name].Dimensions.Skip(1).ToList();
        return perImage.Count > 0 && perImage.All(d => d > 0) ? perImage.Aggregate(1, (a, d) => a * d) : -1;
    }

    private static void CheckInput(ModelInputSpec spec, int[] dimensions)
    {
        int[] described = spec.Layout == TensorLayout.NHWC ? [-1, spec.Height, spec.Width, spec.Channels] : [-1, spec.Channels, spec.Height, spec.Width];
        var shape = $"[{string.Join(", ", dimensions.Select(d => d > 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?"))}]";
        if (dimensions.Length != 4)
        {
            throw new InvalidOperationException($"input '{spec.Name}' is {shape}; a batch of images has 4 dimensions.");
        }

        if (Enumerable.Range(1, 3).Any(i => dimensions[i] > 0 && dimensions[i] != described[i]))
        {
            throw new InvalidOperationException(
                $"input '{spec.Name}' is {shape}, but the manifest describes {spec.Layout} {spec.Width}x{spec.Height} with {spec.Channels} channel(s).");
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_.]+$")]
    private static partial Regex RowKeySafe();
}
