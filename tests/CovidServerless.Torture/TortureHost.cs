using System.Security.Cryptography;
using CovidServerless.Core;
using CovidServerless.Core.Scoring;
using CovidServerless.LocalHost;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CovidServerless.Torture;

/// <summary>
/// The local host exactly as <see cref="LocalHostApp"/> composes it for the product, with one change made from the
/// outside: its scorer is wrapped in a <see cref="PoisonScorer"/>. The product carries no test switch.
/// </summary>
public static class TortureHost
{
    public static WebApplication Build(string poisonSha256) =>
        LocalHostApp.Build([], configureServices: services => WrapScorer(services, poisonSha256));

    /// <summary>Replaces the pipeline's one <see cref="IScanScorer"/> (whichever mode chose it) by the poison wrapper around it.</summary>
    public static void WrapScorer(IServiceCollection services, string poisonSha256)
    {
        var original = services.Last(d => d.ServiceType == typeof(IScanScorer));
        services.RemoveAll<IScanScorer>();
        services.AddSingleton<IScanScorer>(sp => new PoisonScorer(
            original.ImplementationInstance as IScanScorer
                ?? original.ImplementationFactory?.Invoke(sp) as IScanScorer
                ?? (IScanScorer)ActivatorUtilities.CreateInstance(sp, original.ImplementationType!),
            poisonSha256));
    }
}

/// <summary>
/// A scorer that kills its process (<see cref="Environment.FailFast(string)"/>, as a native crash in a decoder or
/// model would) when asked to score the one scan whose SHA-256 it was given, and scores every other scan as usual.
/// </summary>
public sealed class PoisonScorer(IScanScorer inner, string poisonSha256) : IScanScorer
{
    public const string CrashMessage = "torture: the poison scan crashes the scoring process";

    private readonly byte[] poison = Convert.FromHexString(poisonSha256);

    public Task<EnsembleScore> ScoreAsync(Modality modality, ReadOnlyMemory<byte> image, CancellationToken cancellationToken)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(image.Span, hash);
        if (hash.SequenceEqual(poison))
        {
            Environment.FailFast(CrashMessage);
        }

        return inner.ScoreAsync(modality, image, cancellationToken);
    }
}
