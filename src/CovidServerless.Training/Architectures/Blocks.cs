using CovidServerless.Training.Layers;

namespace CovidServerless.Training.Architectures;

/// <summary>Building blocks shared by the architectures.</summary>
internal static class Blocks
{
    /// <summary>Convolution (no bias) + batch norm + ReLU: the unit of VGG-BN, ResNet and Inception.</summary>
    public static Sequence ConvBnRelu(long inChannels, long outChannels, long kernel, long stride = 1, long padding = 0) =>
        new(new Conv(inChannels, outChannels, kernel, stride, padding), new BatchNorm(outChannels), new Relu());

    /// <summary>Rectangular-kernel variant for Inception's factorised 1xn / nx1 convolutions.</summary>
    public static Sequence ConvBnRelu(long inChannels, long outChannels, (long H, long W) kernel, (long H, long W) padding) =>
        new(new Conv(inChannels, outChannels, kernel, 1, padding), new BatchNorm(outChannels), new Relu());

    public static Sequence ConvBn(long inChannels, long outChannels, long kernel, long stride = 1, long padding = 0) =>
        new(new Conv(inChannels, outChannels, kernel, stride, padding), new BatchNorm(outChannels));

    /// <summary>Xception's depthwise-separable convolution (3x3 depthwise, 1x1 pointwise) followed by batch norm.</summary>
    public static Sequence SeparableConvBn(long inChannels, long outChannels) =>
        new(
            new Conv(inChannels, inChannels, 3, padding: 1, groups: inChannels),
            new Conv(inChannels, outChannels, 1),
            new BatchNorm(outChannels));
}
