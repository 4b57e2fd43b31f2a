using CovidServerless.Training.Layers;

namespace CovidServerless.Training.Architectures;

/// <summary>
/// Xception (Chollet 2017): entry flow (two 3x3 convs, then three residual blocks of separable convs that
/// halve the grid: 128, 256, 728 channels), middle flow (8 identity-residual blocks of three separable convs),
/// exit flow (residual block to 1024, then separable convs to 1536 and 2048). Block activations sit at the
/// start of the main path so the shortcut carries the pre-activation tensor, as in the paper and Keras.
/// </summary>
internal static class Xception
{
    private const int MiddleBlocks = 8;

    public static (Layer Backbone, long Features) Build(Width width)
    {
        long c32 = width.Of(32), c64 = width.Of(64), c128 = width.Of(128), c256 = width.Of(256), c728 = width.Of(728),
            c1024 = width.Of(1024), c1536 = width.Of(1536), c2048 = width.Of(2048);
        var layers = new List<Layer>
        {
            Blocks.ConvBnRelu(3, c32, 3, 2),
            Blocks.ConvBnRelu(c32, c64, 3),
            DownBlock(c64, c128, c128, reluFirst: false),
            DownBlock(c128, c256, c256, reluFirst: true),
            DownBlock(c256, c728, c728, reluFirst: true),
        };
        for (var i = 0; i < MiddleBlocks; i++)
        {
            layers.Add(new Residual(new Sequence(
                new Relu(), Blocks.SeparableConvBn(c728, c728),
                new Relu(), Blocks.SeparableConvBn(c728, c728),
                new Relu(), Blocks.SeparableConvBn(c728, c728))));
        }

        layers.Add(DownBlock(c728, c728, c1024, reluFirst: true));
        layers.Add(Blocks.SeparableConvBn(c1024, c1536));
        layers.Add(new Relu());
        layers.Add(Blocks.SeparableConvBn(c1536, c2048));
        layers.Add(new Relu());
        return (new Sequence([.. layers]), c2048);
    }

    /// <summary>Two separable convs and a 3x3/2 max pool, with a strided 1x1 projection shortcut.</summary>
    private static Residual DownBlock(long inChannels, long midChannels, long outChannels, bool reluFirst)
    {
        var main = new List<Layer>();
        if (reluFirst)
        {
            main.Add(new Relu());
        }

        main.Add(Blocks.SeparableConvBn(inChannels, midChannels));
        main.Add(new Relu());
        main.Add(Blocks.SeparableConvBn(midChannels, outChannels));
        main.Add(new MaxPool(3, 2, 1));
        return new Residual(new Sequence([.. main]), Blocks.ConvBn(inChannels, outChannels, 1, 2));
    }
}
