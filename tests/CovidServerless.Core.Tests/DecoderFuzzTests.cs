using CovidServerless.Core.Imaging;
using CovidServerless.Core.Scoring;
using CovidServerless.TestSupport;

namespace CovidServerless.Core.Tests;

/// <summary>
/// Mutated scans of every accepted format (<see cref="MutatedScans"/>, fixed seed; COVIDSCAN_FUZZ_COUNT and
/// COVIDSCAN_FUZZ_SEED for larger or other runs): each is decoded within the limits or rejected with a reason, never
/// an unhandled exception or a hang.
/// </summary>
public class DecoderFuzzTests
{
    // Only a hang detector: a decode of these small files takes milliseconds; a minute means it never ends.
    private static readonly TimeSpan HangBound = TimeSpan.FromSeconds(60);

    private readonly ImageLimitsOptions limits = new();
    private readonly ScanDecoder decoder = new();

    [Fact]
    public void The_corpus_is_the_same_for_the_same_seed_and_mixes_every_format_and_mutation()
    {
        var first = MutatedScans.Make(300, MutatedScans.DefaultSeed).ToList();
        var again = MutatedScans.Make(300, MutatedScans.DefaultSeed).ToList();

        Assert.Equal(first.Select(s => s.Description), again.Select(s => s.Description));
        Assert.All(first.Zip(again), pair => Assert.Equal(pair.First.Bytes, pair.Second.Bytes));
        foreach (var (name, _) in MutatedScans.Seeds)
        {
            Assert.Contains(first, s => s.Description.Contains($" {name} ", StringComparison.Ordinal));
        }

        foreach (var mutation in new[] { "bit flips", "truncated at", "zeroed", "0xFF at", "inserted", "repeated", "declares", "length field", "bytes only", "another file" })
        {
            Assert.Contains(first, s => s.Description.Contains(mutation, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Every_seed_file_decodes_before_it_is_mutated()
    {
        foreach (var (name, bytes) in MutatedScans.Seeds)
        {
            using var scan = decoder.Decode(bytes, Modality.Chest);
            Assert.True(scan.Width > 0, name);
        }
    }

    [Fact]
    public async Task Every_mutated_file_is_decoded_within_the_limits_or_rejected_with_a_reason()
    {
        var outcomes = new Dictionary<string, int> { ["decoded"] = 0, ["rejected"] = 0 };
        foreach (var input in MutatedScans.Make(MutatedScans.Count(1500), MutatedScans.Seed))
        {
            var outcome = await Bounded(input, () =>
            {
                // Validate makes Decode's checks short of decoding pixels (the upload route's and remote host's
                // check): a file it refuses must never decode.
                string? validated = null;
                try
                {
                    validated = decoder.Validate(input.Bytes, Modality.Chest);
                }
                catch (ScanRejectedException ex)
                {
                    AssertAReason(input, ex);
                }

                try
                {
                    using var scan = decoder.Decode(input.Bytes, Modality.Chest);
                    Assert.True(validated is not null, $"{input}: decoded, but Validate refused it");
                    Assert.Equal(validated, scan.Format);
                    Assert.InRange(scan.Width, limits.MinSide, limits.MaxSide);
                    Assert.InRange(scan.Height, limits.MinSide, limits.MaxSide);
                    Assert.InRange((long)scan.Width * scan.Height, 1, limits.MaxPixels);
                    Assert.Equal(scan.Width * scan.Height * 4, scan.Bitmap.ByteCount);
                    return "decoded";
                }
                catch (ScanRejectedException ex)
                {
                    AssertAReason(input, ex);
                    return "rejected";
                }
            });
            outcomes[outcome]++;
        }

        // A corpus that only ever decodes, or only ever fails, would not be testing both answers.
        Assert.All(outcomes, o => Assert.True(o.Value > 0, $"no input was {o.Key}"));
    }

    [Fact]
    public async Task Every_mutated_file_the_ensemble_is_given_ends_scored_or_rejected()
    {
        using var folder = ModelFolder.WithStandardEnsembles();
        using var catalog = TestCatalogs.Load(folder.ManifestPath);
        using var scorer = TestCatalogs.Scorer(catalog);
        var scored = 0;
        foreach (var input in MutatedScans.Make(MutatedScans.Count(400), MutatedScans.Seed + 1))
        {
            scored += await Bounded(input, async () =>
            {
                try
                {
                    var score = await scorer.ScoreAsync(Modality.Chest, input.Bytes, CancellationToken.None);
                    Assert.InRange(score.PCovid, 0, 1);
                    Assert.Equal(4, score.Models.Count);
                    return 1;
                }
                catch (ScanRejectedException ex)
                {
                    AssertAReason(input, ex);
                    return 0;
                }
            });
        }

        Assert.True(scored > 0, "no mutated input was scored");
    }

    private static void AssertAReason(MutatedScan input, ScanRejectedException rejected)
    {
        Assert.False(string.IsNullOrWhiteSpace(rejected.Message), $"{input}: rejected without a reason");

        // Reasons are shown to people and stored: built from the file's properties, never from its header's text.
        Assert.DoesNotContain("CANARY", rejected.Message, StringComparison.OrdinalIgnoreCase);
    }

    private static Task<T> Bounded<T>(MutatedScan input, Func<T> run) => Bounded(input, () => Task.FromResult(run()));

    /// <summary>Runs one input with a hang bound; any exception other than a rejection fails the test, naming the input.</summary>
    private static async Task<T> Bounded<T>(MutatedScan input, Func<Task<T>> run)
    {
        try
        {
            return await Task.Run(run).WaitAsync(HangBound);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{input}: not answered within {HangBound.TotalSeconds:F0} s");
            throw;
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
        {
            Assert.Fail($"{input}: {ex.GetType().Name}: {ex.Message}");
            throw;
        }
    }
}
