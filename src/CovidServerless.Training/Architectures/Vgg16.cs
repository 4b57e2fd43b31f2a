using CovidServerless.Training.Layers;

namespace CovidServerless.Training.Architectures;

/// <summary>
/// VGG16's 13 3x3 convolutions in 5 blocks (2-2-3-3-3, 64-128-256-512-512 channels), each block ending in a
/// 2x2 max pool. Batch norm follows every convolution (the VGG16-BN layout), which lets it train from scratch.
/// </summary>
internal static class Vgg16
{
    private static readonly (int Convs, int Channels)[] Stages = [(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)];

    public static (Layer Backbone, long Features) Build(Width width)
    {
        var layers = new List<Layer>();
        long channels = 3;
        foreach (var (convs, stageChannels) in Stages)
        {
            var outChannels = width.Of(stageChannels);
            for (var i = 0; i < convs; i++)
            {
                layers.Add(Blocks.ConvBnRelu(channels, outChannels, 3, padding: 1));
                channels = outChannels;
            }

            layers.Add(new MaxPool(2, 2));
        }

        return (new Sequence([.. layers]), channels);
    }
}
