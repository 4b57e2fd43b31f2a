using CovidServerless.Training.Layers;

namespace CovidServerless.Training.Architectures;

/// <summary>The four seed architectures by their manifest names.</summary>
internal static class Architecture
{
    public static readonly IReadOnlyList<string> Names = ["vgg16", "resnet50", "inceptionv3", "xception"];

    public static (Layer Backbone, long Features) BuildBackbone(string name, double widthMultiplier)
    {
        var width = new Width(widthMultiplier);
        return name switch
        {
            "vgg16" => Vgg16.Build(width),
            "resnet50" => ResNet50.Build(width),
            "inceptionv3" => InceptionV3.Build(width),
            "xception" => Xception.Build(width),
            _ => throw new ArgumentException($"Unknown architecture '{name}'; expected one of {string.Join(", ", Names)}.", nameof(name)),
        };
    }
}
