using CovidServerless.Training.Layers;
using static CovidServerless.Training.Architectures.Blocks;

namespace CovidServerless.Training.Architectures;

/// <summary>
/// Inception-v3 (Szegedy et al. 2016, torchvision layout): the 5-conv stem with two max pools, three
/// Inception-A modules (5x5 as two 3x3), grid reduction 1, four Inception-B modules (7x7 factorised into 1x7
/// and 7x1, with c7 = 128, 160, 160, 192), grid reduction 2, and two Inception-C modules (expanded 1x3 / 3x1
/// filter banks). Without the auxiliary classifier, which only regularises training of the full-size model.
/// </summary>
internal static class InceptionV3
{
    public static (Layer Backbone, long Features) Build(Width w)
    {
        var layers = new List<Layer>
        {
            ConvBnRelu(3, w.Of(32), 3, 2),
            ConvBnRelu(w.Of(32), w.Of(32), 3),
            ConvBnRelu(w.Of(32), w.Of(64), 3, padding: 1),
            new MaxPool(3, 2),
            ConvBnRelu(w.Of(64), w.Of(80), 1),
            ConvBnRelu(w.Of(80), w.Of(192), 3),
            new MaxPool(3, 2),
        };
        var channels = w.Of(192);
        foreach (var poolFeatures in new[] { 32, 64, 64 })
        {
            layers.Add(ModuleA(w, channels, poolFeatures, out channels));
        }

        layers.Add(Reduction1(w, channels, out channels));
        foreach (var c7 in new[] { 128, 160, 160, 192 })
        {
            layers.Add(ModuleB(w, channels, c7, out channels));
        }

        layers.Add(Reduction2(w, channels, out channels));
        layers.Add(ModuleC(w, channels, out channels));
        layers.Add(ModuleC(w, channels, out channels));
        return (new Sequence([.. layers]), channels);
    }

    private static Concat ModuleA(Width w, long input, int poolFeatures, out long output)
    {
        output = w.Of(64) + w.Of(64) + w.Of(96) + w.Of(poolFeatures);
        return new Concat(
            ConvBnRelu(input, w.Of(64), 1),
            new Sequence(ConvBnRelu(input, w.Of(48), 1), ConvBnRelu(w.Of(48), w.Of(64), 5, padding: 2)),
            new Sequence(
                ConvBnRelu(input, w.Of(64), 1),
                ConvBnRelu(w.Of(64), w.Of(96), 3, padding: 1),
                ConvBnRelu(w.Of(96), w.Of(96), 3, padding: 1)),
            new Sequence(new AvgPool(3, 1, 1), ConvBnRelu(input, w.Of(poolFeatures), 1)));
    }

    /// <summary>35x35 -> 17x17 in the paper: strided 3x3 convs beside a max pool, so no representational bottleneck.</summary>
    private static Concat Reduction1(Width w, long input, out long output)
    {
        output = w.Of(384) + w.Of(96) + input;
        return new Concat(
            ConvBnRelu(input, w.Of(384), 3, 2),
            new Sequence(
                ConvBnRelu(input, w.Of(64), 1),
                ConvBnRelu(w.Of(64), w.Of(96), 3, padding: 1),
                ConvBnRelu(w.Of(96), w.Of(96), 3, 2)),
            new MaxPool(3, 2));
    }

    private static Concat ModuleB(Width w, long input, int c7Full, out long output)
    {
        var c7 = w.Of(c7Full);
        var c192 = w.Of(192);
        output = 4 * c192;
        return new Concat(
            ConvBnRelu(input, c192, 1),
            new Sequence(
                ConvBnRelu(input, c7, 1),
                ConvBnRelu(c7, c7, (1, 7), (0, 3)),
                ConvBnRelu(c7, c192, (7, 1), (3, 0))),
            new Sequence(
                ConvBnRelu(input, c7, 1),
                ConvBnRelu(c7, c7, (7, 1), (3, 0)),
                ConvBnRelu(c7, c7, (1, 7), (0, 3)),
                ConvBnRelu(c7, c7, (7, 1), (3, 0)),
                ConvBnRelu(c7, c192, (1, 7), (0, 3))),
            new Sequence(new AvgPool(3, 1, 1), ConvBnRelu(input, c192, 1)));
    }

    private static Concat Reduction2(Width w, long input, out long output)
    {
        output = w.Of(320) + w.Of(192) + input;
        var c192 = w.Of(192);
        return new Concat(
            new Sequence(ConvBnRelu(input, c192, 1), ConvBnRelu(c192, w.Of(320), 3, 2)),
            new Sequence(
                ConvBnRelu(input, c192, 1),
                ConvBnRelu(c192, c192, (1, 7), (0, 3)),
                ConvBnRelu(c192, c192, (7, 1), (3, 0)),
                ConvBnRelu(c192, c192, 3, 2)),
            new MaxPool(3, 2));
    }

    /// <summary>The 8x8 module with expanded filter banks: each 3x3 path splits into parallel 1x3 and 3x1 convs.</summary>
    private static Concat ModuleC(Width w, long input, out long output)
    {
        long c384 = w.Of(384), c448 = w.Of(448);
        output = w.Of(320) + (4 * c384) + w.Of(192);
        return new Concat(
            ConvBnRelu(input, w.Of(320), 1),
            new Sequence(ConvBnRelu(input, c384, 1), SplitAsymmetric(c384, c384)),
            new Sequence(ConvBnRelu(input, c448, 1), ConvBnRelu(c448, c384, 3, padding: 1), SplitAsymmetric(c384, c384)),
            new Sequence(new AvgPool(3, 1, 1), ConvBnRelu(input, w.Of(192), 1)));
    }

    private static Concat SplitAsymmetric(long input, long output) =>
        new(ConvBnRelu(input, output, (1, 3), (0, 1)), ConvBnRelu(input, output, (3, 1), (1, 0)));
}
