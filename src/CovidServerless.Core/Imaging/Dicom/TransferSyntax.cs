namespace CovidServerless.Core.Imaging.Dicom;

/// <summary>How a DICOM data set and its pixel data are encoded.</summary>
internal sealed record TransferSyntax(
    string Uid, string Name, bool Supported, bool ExplicitVr = true, bool BigEndian = false, bool Deflated = false, PixelEncoding Pixels = PixelEncoding.Native)
{
    public const string ImplicitLittleUid = "1.2.840.10008.1.2";
    public const string ExplicitLittleUid = "1.2.840.10008.1.2.1";

    private static readonly Dictionary<string, TransferSyntax> Known = new TransferSyntax[]
    {
        new(ImplicitLittleUid, "Implicit VR Little Endian", true, ExplicitVr: false),
        new(ExplicitLittleUid, "Explicit VR Little Endian", true),
        new("1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian", true, Deflated: true),
        new("1.2.840.10008.1.2.2", "Explicit VR Big Endian", true, BigEndian: true),
        new("1.2.840.10008.1.2.5", "RLE Lossless", true, Pixels: PixelEncoding.Rle),
        new("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)", true, Pixels: PixelEncoding.JpegBaseline),
        new("1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4, 12-bit)", false),
        new("1.2.840.10008.1.2.4.57", "JPEG Lossless (Process 14)", true, Pixels: PixelEncoding.JpegLossless),
        new("1.2.840.10008.1.2.4.70", "JPEG Lossless (Process 14, SV1)", true, Pixels: PixelEncoding.JpegLossless),
        new("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless", false),
        new("1.2.840.10008.1.2.4.81", "JPEG-LS Near-Lossless", false),
        new("1.2.840.10008.1.2.4.90", "JPEG 2000 Lossless", false),
        new("1.2.840.10008.1.2.4.91", "JPEG 2000", false),
        new("1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2 Multi-component Lossless", false),
        new("1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2 Multi-component", false),
        new("1.2.840.10008.1.2.4.100", "MPEG2 video", false),
        new("1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 video", false),
        new("1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000", false),
    }.ToDictionary(s => s.Uid);

    /// <summary>The syntax a UID names; an unknown one is unsupported and named without echoing the file's text.</summary>
    public static TransferSyntax For(string uid) =>
        Known.TryGetValue(uid, out var known)
            ? known
            : new TransferSyntax(uid, "an unknown transfer syntax", false);

    /// <summary>The name and UID of a known syntax; for an unknown one only that it is unknown (the file's text is never echoed).</summary>
    public string Description => Known.ContainsKey(Uid) ? $"{Name} ({Uid})" : Name;

    public override string ToString() => Name;
}

internal enum PixelEncoding
{
    Native,
    Rle,
    JpegBaseline,
    JpegLossless,
}
