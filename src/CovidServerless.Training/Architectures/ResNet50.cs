using CovidServerless.Training.Layers;

namespace CovidServerless.Training.Architectures;

/// <summary>
/// ResNet50 (v1.5, as in torchvision): 7x7/2 stem and 3x3/2 max pool, then bottleneck stages of 3-4-6-3
/// blocks (1x1 reduce, 3x3 carrying the stride, 1x1 expand x4), projection shortcuts where the shape changes.
/// </summary>
internal static class ResNet50
{
    private static readonly (int Blocks, int Channels, int Stride)[] Stages = [(3, 64, 1), (4, 128, 2), (6, 256, 2), (3, 512, 2)];
    private const int Expansion = 4;

    public static (Layer Backbone, long Features) Build(Width width)
    {
        var stemChannels = width.Of(64);
        var layers = new List<Layer> { Blocks.ConvBnRelu(3, stemChannels, 7, 2, 3), new MaxPool(3, 2, 1) };
        long channels = stemChannels;
        foreach (var (blocks, stageChannels, stageStride) in Stages)
        {
            for (var i = 0; i < blocks; i++)
            {
                var stride = i == 0 ? stageStride : 1;
                var block = Bottleneck(channels, width.Of(stageChannels), width.Of(stageChannels * Expansion), stride);
                layers.Add(block);
                layers.Add(new Relu());
                channels = width.Of(stageChannels * Expansion);
            }
        }

        return (new Sequence([.. layers]), channels);
    }

    private static Residual Bottleneck(long inChannels, long midChannels, long outChannels, int stride)
    {
        var main = new Sequence(
            Blocks.ConvBnRelu(inChannels, midChannels, 1),
            Blocks.ConvBnRelu(midChannels, midChannels, 3, stride, 1),
            Blocks.ConvBn(midChannels, outChannels, 1));
        var projection = stride != 1 || inChannels != outChannels ? Blocks.ConvBn(inChannels, outChannels, 1, stride) : null;
        return new Residual(main, projection);
    }
}
