using System.Buffers.Binary;
using CovidServerless.Core.Heatmaps;
using CovidServerless.Core.Results;
using CovidServerless.Core.Scoring;
using CovidServerless.Core.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Tests;

public sealed class HeatmapMapsTests
{
    private static readonly MemberHeatmap[] Members =
    [
        new("vgg16", 0.25f, new CamMap(3, 3, [1.5f, -2.25f, 0f, -0f, float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue, 1e-30f])),
        new("resnet50", 0.9f, new CamMap(4, 4, [.. Enumerable.Range(0, 16).Select(i => (float)Math.Sin(i) / 7)])),
        new("inceptionv3", 0.5f, new CamMap(2, 2, [0.1f, 0.2f, 0.3f, 0.4f])),
        new("xceptíon-ü", 0.01f, new CamMap(4, 4, new float[16])),
    ];

    [Fact]
    public void Maps_come_back_exactly_bit_for_bit_with_names_sizes_and_pCovid()
    {
        var bytes = HeatmapMaps.Encode(Members)!;

        Assert.True(HeatmapMaps.TryDecode(bytes, out var decoded));

        Assert.Equal(Members.Length, decoded.Count);
        for (var m = 0; m < Members.Length; m++)
        {
            Assert.Equal(Members[m].Model, decoded[m].Model);
            Assert.Equal(BitConverter.SingleToInt32Bits(Members[m].PCovid), BitConverter.SingleToInt32Bits(decoded[m].PCovid));
            Assert.Equal((Members[m].Map.Width, Members[m].Map.Height), (decoded[m].Map.Width, decoded[m].Map.Height));
            Assert.Equal(
                Members[m].Map.Values.Select(BitConverter.SingleToInt32Bits),
                decoded[m].Map.Values.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public void Four_maps_of_the_committed_models_size_take_a_few_hundred_bytes()
    {
        var bytes = HeatmapMaps.Encode(Members)!;

        Assert.InRange(bytes.Length, 100, 1024);
    }

    [Fact]
    public void Maps_over_the_size_bound_or_with_values_that_are_not_finite_are_not_encoded()
    {
        var side = (int)Math.Ceiling(Math.Sqrt(HeatmapMaps.MaxBytes / 4.0));
        var huge = new MemberHeatmap("big", 0.5f, new CamMap(side, side, new float[side * side]));
        var nan = new MemberHeatmap("nan", 0.5f, new CamMap(1, 2, [0f, float.NaN]));
        var longName = new MemberHeatmap(new string('m', HeatmapMaps.MaxNameBytes + 1), 0.5f, new CamMap(1, 1, [0f]));

        Assert.Null(HeatmapMaps.Encode([huge]));
        Assert.Null(HeatmapMaps.Encode([nan]));
        Assert.Null(HeatmapMaps.Encode([longName]));
        Assert.Null(HeatmapMaps.Encode([]));
        Assert.Null(HeatmapMaps.Encode([.. Enumerable.Repeat(Members[2], HeatmapMaps.MaxMembers + 1)]));
    }

    public static TheoryData<string, byte[]> Damaged()
    {
        var good = HeatmapMaps.Encode(Members)!;
        var nan = (byte[])good.Clone();
        BinaryPrimitives.WriteSingleLittleEndian(nan.AsSpan(good.Length - 4), float.NaN);
        var wider = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(wider.AsSpan(2 + 1 + "vgg16".Length), ushort.MaxValue); // the first map claims 65535 columns
        var badName = (byte[])good.Clone();
        badName[3] = 0xFF; // not UTF-8
        var oversized = new byte[HeatmapMaps.MaxBytes + 1];
        good.CopyTo(oversized, 0);
        return new TheoryData<string, byte[]>
        {
            { "empty", [] },
            { "unknown format", [2, .. good[1..]] },
            { "no members", [1, 0] },
            { "truncated", good[..^1] },
            { "trailing byte", [.. good, 0] },
            { "a value that is not a number", nan },
            { "a map larger than the bytes", wider },
            { "a name that is not UTF-8", badName },
            { "over the size bound", oversized },
            { "random bytes", [.. Enumerable.Range(0, 300).Select(i => (byte)(i * 37))] },
        };
    }

    [Theory]
    [MemberData(nameof(Damaged))]
    public void Damaged_or_oversized_bytes_are_refused_without_throwing(string damage, byte[] bytes)
    {
        Assert.False(HeatmapMaps.TryDecode(bytes, out var members), damage);
        Assert.Empty(members);
    }

    [Fact]
    public void Linking_gives_the_ensembles_link_each_models_with_PerModel_and_the_maps_to_store_without_drawing()
    {
        var (result, maps) = Store(new HeatmapOptions { PerModel = true }).Link(Scored(), Members[..2]);

        Assert.Equal($"/api/results/{result.ScanId}/heatmap", result.HeatmapUrl);
        Assert.Equal(
            [$"/api/results/{result.ScanId}/heatmap?model=vgg16", $"/api/results/{result.ScanId}/heatmap?model=resnet50", null],
            result.Models.Select(m => m.HeatmapUrl));
        Assert.True(HeatmapMaps.TryDecode(maps!, out var stored));
        Assert.Equal(["vgg16", "resnet50"], stored.Select(m => m.Model));
    }

    [Fact]
    public void Linking_without_PerModel_links_the_ensemble_only()
    {
        var (result, maps) = Store(new HeatmapOptions()).Link(Scored(), Members);

        Assert.NotNull(result.HeatmapUrl);
        Assert.All(result.Models, m => Assert.Null(m.HeatmapUrl));
        Assert.NotNull(maps);
    }

    [Fact]
    public void Maps_over_the_bound_or_heatmaps_off_leave_the_result_without_links_and_store_nothing()
    {
        var side = (int)Math.Ceiling(Math.Sqrt(HeatmapMaps.MaxBytes / 4.0));
        var huge = new MemberHeatmap("vgg16", 0.5f, new CamMap(side, side, new float[side * side]));
        var scored = Scored();

        var (over, overMaps) = Store(new HeatmapOptions { PerModel = true }).Link(scored, [huge]);
        var (off, offMaps) = Store(new HeatmapOptions { Enabled = false }).Link(scored, Members);

        Assert.Same(scored, over);
        Assert.Null(overMaps);
        Assert.Same(scored, off);
        Assert.Null(offMaps);
    }

    private static HeatmapStore Store(HeatmapOptions options) => new(
        new StorageClients(
            new ConfigurationBuilder().AddInMemoryCollection([new("AzureWebJobsStorage", "UseDevelopmentStorage=true")]).Build(),
            Options.Create(new StorageOptions())),
        new Imaging.ScanDecoder(),
        Options.Create(options));

    private static ScanResult Scored()
    {
        var identity = new ScanIdentity(Modality.Chest, "a.png", "\"0x1\"", DateTimeOffset.UnixEpoch);
        return new ScanResult
        {
            ScanId = identity.ScanId,
            Modality = "chest",
            BlobName = identity.BlobName,
            BlobVersion = identity.BlobVersion,
            Status = ScanStatus.Scored,
            Models = [new ModelScore("vgg16", "1", 0.25, Verdicts.NonCovid), new ModelScore("resnet50", "1", 0.9, Verdicts.Covid), new ModelScore("xception", "1", 0.5, Verdicts.NonCovid)],
        };
    }
}
