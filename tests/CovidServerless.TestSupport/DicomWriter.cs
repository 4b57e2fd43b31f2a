using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using SkiaSharp;

namespace CovidServerless.TestSupport;

/// <summary>What a generated DICOM image holds. Values are stored words, frame after frame, samples of a pixel together.</summary>
public sealed record DicomSpec(int Rows, int Columns, int[] Values)
{
    public string Modality { get; init; } = "DX";
    public string PatientName { get; init; } = "CANARY^PHI^NAME";
    public string PatientId { get; init; } = "CANARYID4711";
    public string? StudyInstanceUid { get; init; } = "1.2.826.0.1.3680043.2.1125.1.1";
    public string? SeriesInstanceUid { get; init; } = "1.2.826.0.1.3680043.2.1125.1.1.2";
    public string? SopInstanceUid { get; init; } = "1.2.826.0.1.3680043.2.1125.1.1.2.3";
    public int Samples { get; init; } = 1;
    public string Photometric { get; init; } = "MONOCHROME2";
    public int BitsAllocated { get; init; } = 8;
    public int BitsStored { get; init; } = 8;
    public int HighBit { get; init; } = 7;
    public bool SignedPixels { get; init; }
    public int PlanarConfiguration { get; init; }
    public int Frames { get; init; } = 1;
    public string? WindowCenter { get; init; }
    public string? WindowWidth { get; init; }
    public string? RescaleSlope { get; init; }
    public string? RescaleIntercept { get; init; }
    public bool WithPixelData { get; init; } = true;

    /// <summary>Encapsulated syntaxes: write a basic offset table and split each frame into two fragments.</summary>
    public bool OffsetTableAndSplitFrames { get; init; }
}

/// <summary>
/// A small DICOM Part 10 writer for tests: the reader is checked against these files and against real ones written by
/// other tools. Writes a nested undefined-length sequence and patient attributes so that reading must skip them.
/// </summary>
public static class DicomWriter
{
    public const string ImplicitLittle = "1.2.840.10008.1.2";
    public const string ExplicitLittle = "1.2.840.10008.1.2.1";
    public const string Deflated = "1.2.840.10008.1.2.1.99";
    public const string ExplicitBig = "1.2.840.10008.1.2.2";
    public const string Rle = "1.2.840.10008.1.2.5";
    public const string JpegBaseline = "1.2.840.10008.1.2.4.50";

    public static readonly string[] LosslessSyntaxes = [ImplicitLittle, ExplicitLittle, Deflated, ExplicitBig, Rle];

    /// <summary>
    /// A spec holding a decoded image's pixels exactly: one grey sample with an identity window when every pixel is grey,
    /// else RGB. Decoded, its DICOM files give back the same pixels.
    /// </summary>
    public static DicomSpec SpecOf(SKBitmap image, string modality)
    {
        ArgumentNullException.ThrowIfNull(image);
        var pixels = image.GetPixelSpan();
        var count = image.Width * image.Height;
        var rgb = new int[count * 3];
        var grey = true;
        for (var i = 0; i < count; i++)
        {
            (rgb[3 * i], rgb[(3 * i) + 1], rgb[(3 * i) + 2]) = (pixels[4 * i], pixels[(4 * i) + 1], pixels[(4 * i) + 2]);
            grey &= rgb[3 * i] == rgb[(3 * i) + 1] && rgb[3 * i] == rgb[(3 * i) + 2];
        }

        var spec = grey
            ? new DicomSpec(image.Height, image.Width, [.. Enumerable.Range(0, count).Select(i => rgb[3 * i])]) { WindowCenter = "128", WindowWidth = "256" }
            : new DicomSpec(image.Height, image.Width, rgb) { Samples = 3, Photometric = "RGB" };
        return spec with { Modality = modality };
    }

    public static byte[] Write(DicomSpec spec, string syntax)
    {
        var explicitVr = syntax != ImplicitLittle;
        var bigEndian = syntax == ExplicitBig;
        var body = new MemoryStream();
        var w = new ElementWriter(body, explicitVr, bigEndian);
        w.String(0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.1.1");
        w.OptionalString(0x0008, 0x0018, "UI", spec.SopInstanceUid);
        w.String(0x0008, 0x0060, "CS", spec.Modality);
        w.Sequence(0x0008, 0x1140, inner =>
        {
            inner.String(0x0008, 0x1150, "UI", "1.2.3.4");
            inner.Sequence(0x0008, 0x9215, deeper => deeper.String(0x0008, 0x0100, "SH", spec.PatientName));
        });
        w.String(0x0010, 0x0010, "PN", spec.PatientName);
        w.String(0x0010, 0x0020, "LO", spec.PatientId);
        w.String(0x0010, 0x0030, "DA", "19470101");
        w.OptionalString(0x0020, 0x000D, "UI", spec.StudyInstanceUid);
        w.OptionalString(0x0020, 0x000E, "UI", spec.SeriesInstanceUid);
        if (spec.WithPixelData)
        {
            w.UShort(0x0028, 0x0002, spec.Samples);
            w.String(0x0028, 0x0004, "CS", spec.Photometric);
            if (spec.Samples > 1)
            {
                w.UShort(0x0028, 0x0006, spec.PlanarConfiguration);
            }

            if (spec.Frames > 1)
            {
                w.String(0x0028, 0x0008, "IS", spec.Frames.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            w.UShort(0x0028, 0x0010, spec.Rows);
            w.UShort(0x0028, 0x0011, spec.Columns);
            w.UShort(0x0028, 0x0100, spec.BitsAllocated);
            w.UShort(0x0028, 0x0101, spec.BitsStored);
            w.UShort(0x0028, 0x0102, spec.HighBit);
            w.UShort(0x0028, 0x0103, spec.SignedPixels ? 1 : 0);
            w.OptionalString(0x0028, 0x1050, "DS", spec.WindowCenter);
            w.OptionalString(0x0028, 0x1051, "DS", spec.WindowWidth);
            w.OptionalString(0x0028, 0x1052, "DS", spec.RescaleIntercept);
            w.OptionalString(0x0028, 0x1053, "DS", spec.RescaleSlope);
            switch (syntax)
            {
                case Rle:
                    w.Encapsulated(RleFrames(spec), spec.OffsetTableAndSplitFrames);
                    break;
                case JpegBaseline:
                    w.Encapsulated([JpegFrame(spec)], spec.OffsetTableAndSplitFrames);
                    break;
                default:
                    w.Bytes(0x7FE0, 0x0010, spec.BitsAllocated == 8 ? "OB" : "OW", NativePixels(spec, bigEndian));
                    break;
            }
        }

        var dataSet = body.ToArray();
        if (syntax == Deflated)
        {
            var deflated = new MemoryStream();
            using (var deflater = new DeflateStream(deflated, CompressionLevel.Optimal, leaveOpen: true))
            {
                deflater.Write(dataSet);
            }

            dataSet = deflated.ToArray();
        }

        var meta = new MemoryStream();
        var m = new ElementWriter(meta, explicitVr: true, bigEndian: false);
        m.Bytes(0x0002, 0x0001, "OB", [0, 1]);
        m.String(0x0002, 0x0002, "UI", "1.2.840.10008.5.1.4.1.1.1.1");
        m.String(0x0002, 0x0003, "UI", "1.2.3.4.5.6.7");
        m.String(0x0002, 0x0010, "UI", syntax);
        m.String(0x0002, 0x0012, "UI", "1.2.3.4.99");
        var metaBytes = meta.ToArray();

        var file = new MemoryStream();
        file.Write(new byte[128]);
        file.Write("DICM"u8);
        var group = new MemoryStream();
        new ElementWriter(group, explicitVr: true, bigEndian: false).UInt(0x0002, 0x0000, (uint)metaBytes.Length);
        file.Write(group.ToArray());
        file.Write(metaBytes);
        file.Write(dataSet);
        return file.ToArray();
    }

    private static byte[] NativePixels(DicomSpec spec, bool bigEndian)
    {
        var ordered = Planar(spec);
        if (spec.BitsAllocated == 8)
        {
            var bytes = ordered.Select(v => (byte)v).ToList();
            if (bytes.Count % 2 == 1)
            {
                bytes.Add(0);
            }

            return [.. bytes];
        }

        var words = new byte[ordered.Length * 2];
        for (var i = 0; i < ordered.Length; i++)
        {
            if (bigEndian)
            {
                BinaryPrimitives.WriteUInt16BigEndian(words.AsSpan(2 * i), (ushort)ordered[i]);
            }
            else
            {
                BinaryPrimitives.WriteUInt16LittleEndian(words.AsSpan(2 * i), (ushort)ordered[i]);
            }
        }

        return words;
    }

    /// <summary>The values in the spec's planar configuration (1: each sample's plane in turn, per frame).</summary>
    private static int[] Planar(DicomSpec spec)
    {
        if (spec.Samples == 1 || spec.PlanarConfiguration == 0)
        {
            return spec.Values;
        }

        var count = spec.Rows * spec.Columns;
        var result = new int[spec.Values.Length];
        for (var f = 0; f < spec.Frames; f++)
        {
            for (var s = 0; s < spec.Samples; s++)
            {
                for (var i = 0; i < count; i++)
                {
                    result[(f * count * spec.Samples) + (s * count) + i] = spec.Values[(f * count * spec.Samples) + (i * spec.Samples) + s];
                }
            }
        }

        return result;
    }

    private static List<byte[]> RleFrames(DicomSpec spec)
    {
        var count = spec.Rows * spec.Columns;
        var bytesPerValue = spec.BitsAllocated / 8;
        var frames = new List<byte[]>();
        for (var f = 0; f < spec.Frames; f++)
        {
            var segments = new List<byte[]>();
            for (var s = 0; s < spec.Samples; s++)
            {
                for (var b = bytesPerValue - 1; b >= 0; b--)
                {
                    var plane = Enumerable.Range(0, count)
                        .Select(i => (byte)(spec.Values[(f * count * spec.Samples) + (i * spec.Samples) + s] >> (8 * b))).ToArray();
                    segments.Add(PackBits(plane));
                }
            }

            var frame = new MemoryStream();
            var header = new byte[64];
            BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)segments.Count);
            var offset = 64u;
            for (var i = 0; i < segments.Count; i++)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4 + (4 * i)), offset);
                offset += (uint)segments[i].Length;
            }

            frame.Write(header);
            segments.ForEach(s => frame.Write(s));
            frames.Add(frame.ToArray());
        }

        return frames;
    }

    /// <summary>PackBits: runs of 3 or more equal bytes replicated, the rest literal; padded to an even length.</summary>
    private static byte[] PackBits(byte[] input)
    {
        var output = new List<byte>();
        var i = 0;
        while (i < input.Length)
        {
            var run = 1;
            while (i + run < input.Length && run < 128 && input[i + run] == input[i])
            {
                run++;
            }

            if (run >= 3)
            {
                output.Add((byte)(sbyte)(1 - run));
                output.Add(input[i]);
                i += run;
                continue;
            }

            var start = i;
            while (i < input.Length && i - start < 128 && !(i + 2 < input.Length && input[i] == input[i + 1] && input[i] == input[i + 2]))
            {
                i++;
            }

            output.Add((byte)(i - start - 1));
            output.AddRange(input.AsSpan(start, i - start).ToArray());
        }

        if (output.Count % 2 == 1)
        {
            output.Add(0x80);
        }

        return [.. output];
    }

    private static byte[] JpegFrame(DicomSpec spec)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(spec.Columns, spec.Rows, SKColorType.Rgba8888, SKAlphaType.Premul));
        for (var i = 0; i < spec.Rows * spec.Columns; i++)
        {
            var (r, g, b) = spec.Samples == 1
                ? (spec.Values[i], spec.Values[i], spec.Values[i])
                : (spec.Values[3 * i], spec.Values[(3 * i) + 1], spec.Values[(3 * i) + 2]);
            bitmap.SetPixel(i % spec.Columns, i / spec.Columns, new SKColor((byte)r, (byte)g, (byte)b));
        }

        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 100);
        return data.ToArray();
    }

    private sealed class ElementWriter(Stream output, bool explicitVr, bool bigEndian)
    {
        private static readonly HashSet<string> LongVrs = ["OB", "OW", "SQ", "UN", "UT"];

        public void String(ushort group, ushort element, string vr, string value)
        {
            var bytes = Encoding.ASCII.GetBytes(value).ToList();
            if (bytes.Count % 2 == 1)
            {
                bytes.Add(vr == "UI" ? (byte)0 : (byte)' ');
            }

            Bytes(group, element, vr, [.. bytes]);
        }

        public void OptionalString(ushort group, ushort element, string vr, string? value)
        {
            if (value is not null)
            {
                String(group, element, vr, value);
            }
        }

        public void UShort(ushort group, ushort element, int value)
        {
            var bytes = new byte[2];
            if (bigEndian)
            {
                BinaryPrimitives.WriteUInt16BigEndian(bytes, (ushort)value);
            }
            else
            {
                BinaryPrimitives.WriteUInt16LittleEndian(bytes, (ushort)value);
            }

            Bytes(group, element, "US", bytes);
        }

        public void UInt(ushort group, ushort element, uint value)
        {
            var bytes = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
            Bytes(group, element, "UL", bytes);
        }

        public void Bytes(ushort group, ushort element, string vr, byte[] value)
        {
            Header(group, element, vr, (uint)value.Length);
            output.Write(value);
        }

        /// <summary>An undefined-length sequence of one undefined-length item.</summary>
        public void Sequence(ushort group, ushort element, Action<ElementWriter> item)
        {
            Header(group, element, "SQ", 0xFFFFFFFF);
            Tag(0xFFFE, 0xE000);
            Word32(0xFFFFFFFF);
            item(this);
            Tag(0xFFFE, 0xE00D);
            Word32(0);
            Tag(0xFFFE, 0xE0DD);
            Word32(0);
        }

        /// <summary>Encapsulated pixel data: a basic offset table (empty unless asked for), then each frame's fragments.</summary>
        public void Encapsulated(List<byte[]> frames, bool offsetTableAndSplit = false)
        {
            var fragments = frames
                .Select(f => offsetTableAndSplit ? new[] { f[..(f.Length / 2 & ~1)], f[(f.Length / 2 & ~1)..] } : [f])
                .Select(parts => parts.Select(p => p.Length % 2 == 0 ? p : [.. p, 0]).ToArray())
                .ToList();
            Header(0x7FE0, 0x0010, "OB", 0xFFFFFFFF);
            Tag(0xFFFE, 0xE000);
            if (offsetTableAndSplit)
            {
                Word32((uint)(4 * frames.Count));
                var offset = 0u;
                foreach (var parts in fragments)
                {
                    Word32(offset, littleEndian: true);
                    offset += (uint)parts.Sum(p => 8 + p.Length);
                }
            }
            else
            {
                Word32(0);
            }

            foreach (var part in fragments.SelectMany(p => p))
            {
                Tag(0xFFFE, 0xE000);
                Word32((uint)part.Length);
                output.Write(part);
            }

            Tag(0xFFFE, 0xE0DD);
            Word32(0);
        }

        private void Header(ushort group, ushort element, string vr, uint length)
        {
            Tag(group, element);
            if (!explicitVr)
            {
                Word32(length);
                return;
            }

            output.Write(Encoding.ASCII.GetBytes(vr));
            if (LongVrs.Contains(vr))
            {
                output.Write(new byte[2]);
                Word32(length);
            }
            else
            {
                Word16((ushort)length);
            }
        }

        private void Tag(ushort group, ushort element)
        {
            Word16(group);
            Word16(element);
        }

        private void Word16(ushort value)
        {
            var bytes = new byte[2];
            if (bigEndian)
            {
                BinaryPrimitives.WriteUInt16BigEndian(bytes, value);
            }
            else
            {
                BinaryPrimitives.WriteUInt16LittleEndian(bytes, value);
            }

            output.Write(bytes);
        }

        private void Word32(uint value, bool littleEndian = false)
        {
            var bytes = new byte[4];
            if (bigEndian && !littleEndian)
            {
                BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
            }

            output.Write(bytes);
        }
    }
}
