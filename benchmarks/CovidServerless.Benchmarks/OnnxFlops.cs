using System.Runtime.InteropServices;
using CovidServerless.Core.Models;
using Google.Protobuf;
using Onnx;

namespace CovidServerless.Benchmarks;

/// <summary>
/// Counts the multiply-add work (2 FLOPs per MAC) of an ONNX model's Conv, MatMul and Gemm nodes for one image,
/// by propagating shapes through the op types these CNNs use. Elementwise ops are ignored (they are memory-bound,
/// and small next to the convolutions), so the count is a lower bound of the arithmetic.
/// </summary>
public static class OnnxFlops
{
    /// <param name="spec">The model's input as its manifest entry describes it: one image of that size and layout.</param>
    public static double PerImage(string path, ModelInputSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var graph = model.Graph;
        var shapes = new Dictionary<string, long[]>();

        // Constant tensors: initializers, and the outputs of Constant nodes (some exporters put Reshape's shape there).
        var initializers = graph.Initializer.ToDictionary(t => t.Name);
        foreach (var constant in graph.Node.Where(n => n.OpType == "Constant" && n.Attribute.Any(a => a.Name == "value")))
        {
            initializers[constant.Output[0]] = constant.Attribute.First(a => a.Name == "value").T;
        }

        foreach (var (name, tensor) in initializers)
        {
            shapes[name] = [.. tensor.Dims];
        }

        var input = graph.Input.First(i => !initializers.ContainsKey(i.Name));
        shapes[input.Name] = spec.Layout == TensorLayout.NHWC ? [1, spec.Height, spec.Width, spec.Channels] : [1, spec.Channels, spec.Height, spec.Width];
        double flops = 0;
        foreach (var node in graph.Node)
        {
            var inShape = node.Input.Count > 0 && shapes.TryGetValue(node.Input[0], out var s) ? s : null;
            long[]? outShape = inShape;
            switch (node.OpType)
            {
                case "Conv" when inShape is not null:
                    {
                        var w = shapes[node.Input[1]];
                        var (kh, kw) = (w[2], w[3]);
                        var stride = Ints(node, "strides", [1, 1]);
                        var pads = Ints(node, "pads", [0, 0, 0, 0]);
                        var dil = Ints(node, "dilations", [1, 1]);
                        var h = ((inShape[2] + pads[0] + pads[2] - (dil[0] * (kh - 1)) - 1) / stride[0]) + 1;
                        var wd = ((inShape[3] + pads[1] + pads[3] - (dil[1] * (kw - 1)) - 1) / stride[1]) + 1;
                        if (Str(node, "auto_pad") is "SAME_UPPER" or "SAME_LOWER")
                        {
                            h = (inShape[2] + stride[0] - 1) / stride[0];
                            wd = (inShape[3] + stride[1] - 1) / stride[1];
                        }

                        outShape = [inShape[0], w[0], h, wd];
                        flops += 2.0 * w[0] * h * wd * w[1] * kh * kw;
                        break;
                    }

                case "MaxPool" or "AveragePool" when inShape is not null:
                    {
                        var k = Ints(node, "kernel_shape", [1, 1]);
                        var stride = Ints(node, "strides", [1, 1]);
                        var pads = Ints(node, "pads", [0, 0, 0, 0]);
                        var ceil = Int(node, "ceil_mode", 0) == 1;
                        long Out(long size, long kernel, long st, long padSum) =>
                            ceil ? (long)Math.Ceiling((size + padSum - kernel) / (double)st) + 1 : ((size + padSum - kernel) / st) + 1;
                        outShape = [inShape[0], inShape[1], Out(inShape[2], k[0], stride[0], pads[0] + pads[2]), Out(inShape[3], k[1], stride[1], pads[1] + pads[3])];
                        break;
                    }

                case "GlobalAveragePool" or "GlobalMaxPool" when inShape is not null:
                    outShape = [inShape[0], inShape[1], 1, 1];
                    break;
                case "Transpose" when inShape is not null:
                    {
                        var perm = Ints(node, "perm", [.. Enumerable.Range(0, inShape.Length).Select(i => (long)(inShape.Length - 1 - i))]);
                        outShape = [.. perm.Select(p => inShape[p])];
                        break;
                    }

                case "Flatten" when inShape is not null:
                    {
                        var axis = Int(node, "axis", 1);
                        outShape = [inShape.Take((int)axis).Aggregate(1L, (a, b) => a * b), inShape.Skip((int)axis).Aggregate(1L, (a, b) => a * b)];
                        break;
                    }

                case "Concat":
                    {
                        var axis = (int)Int(node, "axis", 0);
                        var parts = node.Input.Where(shapes.ContainsKey).Select(n => shapes[n]).ToList();
                        if (parts.Count > 0)
                        {
                            var rank = parts[0].Length;
                            axis = axis < 0 ? axis + rank : axis;
                            outShape = [.. parts[0]];
                            outShape[axis] = parts.Sum(p => p[axis]);
                        }

                        break;
                    }

                case "Gemm" when inShape is not null:
                    {
                        var w = shapes[node.Input[1]];
                        var n = Int(node, "transB", 0) == 1 ? w[0] : w[1];
                        outShape = [inShape[0], n];
                        flops += 2.0 * inShape[1] * n;
                        break;
                    }

                case "MatMul" when inShape is not null && shapes.TryGetValue(node.Input[1], out var b):
                    outShape = [.. inShape[..^1], b[^1]];
                    flops += 2.0 * inShape.Aggregate(1L, (x, y) => x * y) * b[^1];
                    break;
                case "Resize" when inShape is not null && node.Input.Count >= 4 && initializers.TryGetValue(node.Input[3], out var sizes) && Int64s(sizes).Length == inShape.Length:
                    outShape = Int64s(sizes);
                    break;
                case "Resize" when inShape is not null && node.Input.Count >= 3 && initializers.TryGetValue(node.Input[2], out var scales) && Floats(scales).Length == inShape.Length:
                    outShape = [.. inShape.Select((d, i) => (long)(d * Floats(scales)[i]))];
                    break;
                case "Reshape" when inShape is not null && initializers.TryGetValue(node.Input[1], out var target):
                    {
                        var t = Int64s(target);
                        var total = inShape.Aggregate(1L, (x, y) => x * y);
                        var known = t.Where(v => v > 0).Aggregate(1L, (x, y) => x * y);
                        outShape = [.. t.Select((v, i) => v == 0 ? inShape[i] : v == -1 ? total / known : v)];
                        break;
                    }
            }

            if (outShape is not null)
            {
                foreach (var output in node.Output)
                {
                    shapes[output] = outShape;
                }
            }
        }

        return flops;
    }

    // Exporters write a tensor's values either in its typed field or as little-endian bytes in raw_data.
    private static long[] Int64s(TensorProto tensor) =>
        tensor.Int64Data.Count > 0 ? [.. tensor.Int64Data] : MemoryMarshal.Cast<byte, long>(tensor.RawData.Span).ToArray();

    private static float[] Floats(TensorProto tensor) =>
        tensor.FloatData.Count > 0 ? [.. tensor.FloatData] : MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray();

    private static long[] Ints(NodeProto node, string name, long[] fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? [.. a.Ints] : fallback;

    private static long Int(NodeProto node, string name, long fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name)?.I ?? fallback;

    private static string? Str(NodeProto node, string name) =>
        node.Attribute.FirstOrDefault(a => a.Name == name)?.S.ToStringUtf8();
}
