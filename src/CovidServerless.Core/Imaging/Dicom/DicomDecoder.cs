using System.Buffers.Binary;
using SkiaSharp;

namespace CovidServerless.Core.Imaging.Dicom;

/// <summary>
/// Renders a DICOM image as a radiologist's viewer shows it, as 8-bit RGBA: stored values masked to BitsStored
/// (signed where PixelRepresentation says so), the modality LUT (RescaleSlope/Intercept), the first VOI window
/// (linear, PS3.3 C.11.2.1.2) or a default window per modality, MONOCHROME1 inverted, RGB and YBR_FULL(_422)
/// converted. A multi-frame image shows its middle frame (frame ⌊n/2⌋, counting from 0).
/// </summary>
internal static class DicomDecoder
{
    // Defined terms of (0008,0060); only these are ever named in a rejection, so the file's own text never is.
    private static readonly HashSet<string> KnownModalities =
    [
        "AR", "ASMT", "AU", "BDUS", "BI", "BMD", "CR", "CT", "CTPROTOCOL", "DG", "DOC", "DX", "ECG", "EPS", "ES", "FID",
        "GM", "HC", "HD", "IO", "IOL", "IVOCT", "IVUS", "KER", "KO", "LEN", "LS", "MG", "MR", "M3D", "NM", "OAM", "OCT",
        "OP", "OPM", "OPT", "OPTBSV", "OPTENF", "OPV", "OSS", "OT", "PLAN", "PR", "PT", "PX", "REG", "RESP", "RF", "RG",
        "RTDOSE", "RTIMAGE", "RTPLAN", "RTRECORD", "RTSTRUCT", "RWV", "SEG", "SM", "SMR", "SR", "SRF", "STAIN", "TG",
        "US", "VA", "XA", "XC",
    ];

    public static SKBitmap? Decode(ReadOnlySpan<byte> file, ImageLimitsOptions limits, Modality? container, bool decodePixels)
    {
        var (dicom, image, modality) = Check(file, limits, container);
        if (!decodePixels)
        {
            return null;
        }

        var frame = DicomFrames.Read(dicom, image);
        return image.Samples == 1
            ? RenderMonochrome(frame[0], image, Window(image, modality, limits.Dicom, frame[0]))
            : RenderColour(frame, image);
    }

    /// <summary>
    /// What decoding the file will hold at once, in 4-byte units: the RGBA bitmap plus one 32-bit array of stored values
    /// per sample of the frame shown. Checks everything <see cref="Decode"/> checks first.
    /// </summary>
    public static long DecodedPixels(ReadOnlySpan<byte> file, ImageLimitsOptions limits, Modality? container)
    {
        var (_, image, _) = Check(file, limits, container);
        return (long)image.Rows * image.Columns * (1 + image.Samples);
    }

    private static (DicomFile Dicom, DicomImageAttributes Image, string? Modality) Check(ReadOnlySpan<byte> file, ImageLimitsOptions limits, Modality? container)
    {
        var dicom = DicomFile.Read(file, limits.Dicom.MaxInflatedBytes);
        var modality = dicom.String(0x00080060)?.ToUpperInvariant();
        if (container is { } target)
        {
            CheckModality(modality, target, limits.Dicom);
        }

        if (!dicom.HasPixelData)
        {
            throw new ScanRejectedException($"The DICOM file holds no image (no pixel data); its modality is {Named(modality)}.");
        }

        var image = DicomImageAttributes.From(dicom);
        ScanDecoder.CheckDeclaredSize(image.Columns, image.Rows, limits);
        if ((long)image.Rows * image.Columns * image.Frames * image.Samples > limits.MaxPixels)
        {
            throw new ScanRejectedException(
                $"The DICOM image declares {image.Frames} frame(s) of {image.Columns}x{image.Rows}x{image.Samples} values, over the limit of {limits.MaxPixels:N0}; it was not decoded.");
        }

        return (dicom, image, modality);
    }

    /// <summary>The modality a rejection may name: a defined term, or a phrase that echoes nothing from the file.</summary>
    internal static string Named(string? modality) =>
        modality is null ? "not given" : KnownModalities.Contains(modality) ? modality : "not one this pipeline knows";

    private static void CheckModality(string? modality, Modality container, DicomOptions options)
    {
        var accepted = options.ModalitiesFor(container);
        if (modality is null || !accepted.Contains(modality, StringComparer.OrdinalIgnoreCase))
        {
            throw new ScanRejectedException(
                $"The DICOM file's modality is {Named(modality)}; the {container.ToName()} container takes {string.Join(", ", accepted)}.");
        }
    }

    /// <summary>The VOI window in modality-LUT units: the file's first one, else the modality's default, else the values' range.</summary>
    private static (double Center, double Width) Window(DicomImageAttributes image, string? modality, DicomOptions options, int[] stored)
    {
        if (image.WindowCenter is { } center && image.WindowWidth is { } width && width >= 1)
        {
            return (center, width);
        }

        if (modality is not null && options.DefaultWindows.TryGetValue(modality, out var window))
        {
            return (window.Center, window.Width);
        }

        var min = int.MaxValue;
        var max = int.MinValue;
        foreach (var value in stored)
        {
            min = Math.Min(min, value);
            max = Math.Max(max, value);
        }

        var low = Math.Min(image.Rescale(min), image.Rescale(max));
        var high = Math.Max(image.Rescale(min), image.Rescale(max));

        // The linear function maps [c - 0.5 - (w-1)/2, c - 0.5 + (w-1)/2] onto the output's range.
        return (((low + high) / 2) + 0.5, Math.Max(high - low + 1, 1));
    }

    private static SKBitmap RenderMonochrome(int[] stored, DicomImageAttributes image, (double Center, double Width) window)
    {
        var bitmap = NewBitmap(image);
        var pixels = bitmap.GetPixelSpan();
        var inverted = image.Photometric == "MONOCHROME1";
        var lower = window.Center - 0.5 - ((window.Width - 1) / 2);
        var upper = window.Center - 0.5 + ((window.Width - 1) / 2);

        // One window computation per possible stored value (at most 65,536 for 16-bit data), not per pixel.
        var lowest = image.Signed ? -(1 << (image.BitsStored - 1)) : 0;
        var lut = new short[1 << image.BitsStored];
        Array.Fill(lut, (short)-1);
        byte Grey(int value)
        {
            var x = image.Rescale(value);
            var y = x <= lower ? 0
                : x > upper ? 255
                : window.Width <= 1 ? 255
                : (((x - (window.Center - 0.5)) / (window.Width - 1)) + 0.5) * 255;
            var grey = (byte)Math.Clamp(Math.Round(y, MidpointRounding.AwayFromZero), 0, 255);
            return inverted ? (byte)(255 - grey) : grey;
        }

        for (var i = 0; i < stored.Length; i++)
        {
            var index = stored[i] - lowest;
            byte grey;
            if ((uint)index < (uint)lut.Length)
            {
                if (lut[index] < 0)
                {
                    lut[index] = Grey(stored[i]);
                }

                grey = (byte)lut[index];
            }
            else
            {
                // Values outside BitsStored's range (8-bit JPEG samples of a narrower declared depth).
                grey = Grey(stored[i]);
            }

            pixels[(4 * i) + 0] = grey;
            pixels[(4 * i) + 1] = grey;
            pixels[(4 * i) + 2] = grey;
            pixels[(4 * i) + 3] = 255;
        }

        return bitmap;
    }

    private static SKBitmap RenderColour(int[][] planes, DicomImageAttributes image)
    {
        var bitmap = NewBitmap(image);
        var pixels = bitmap.GetPixelSpan();
        var shift = Math.Max(image.BitsStored - 8, 0);
        var ybr = image.Photometric.StartsWith("YBR_FULL", StringComparison.Ordinal) && image.Encoding != PixelEncoding.JpegBaseline;
        for (var i = 0; i < planes[0].Length; i++)
        {
            double r = planes[0][i] >> shift, g = planes[1][i] >> shift, b = planes[2][i] >> shift;
            if (ybr)
            {
                // PS3.3 C.7.6.3.1.2: YCbCr full range to RGB.
                var (y, cb, cr) = (r, g - 128, b - 128);
                (r, g, b) = (y + (1.402 * cr), y - (0.344136 * cb) - (0.714136 * cr), y + (1.772 * cb));
            }

            pixels[(4 * i) + 0] = ToByte(r);
            pixels[(4 * i) + 1] = ToByte(g);
            pixels[(4 * i) + 2] = ToByte(b);
            pixels[(4 * i) + 3] = 255;
        }

        return bitmap;
    }

    private static byte ToByte(double value) => (byte)Math.Clamp(Math.Round(value, MidpointRounding.AwayFromZero), 0, 255);

    private static SKBitmap NewBitmap(DicomImageAttributes image) =>
        new(new SKImageInfo(image.Columns, image.Rows, SKColorType.Rgba8888, SKAlphaType.Premul));
}

/// <summary>The image pixel attributes, validated.</summary>
internal sealed record DicomImageAttributes(
    int Rows, int Columns, int Samples, int BitsAllocated, int BitsStored, int HighBit, bool Signed, string Photometric,
    int PlanarConfiguration, int Frames, double Slope, double Intercept, double? WindowCenter, double? WindowWidth, PixelEncoding Encoding)
{
    public double Rescale(int stored) => (stored * Slope) + Intercept;

    public static DicomImageAttributes From(DicomFile dicom)
    {
        static ScanRejectedException Unsupported(string what) => new($"The DICOM image is not one this pipeline decodes: {what}.");

        var rows = dicom.UInt16(0x00280010) ?? throw Unsupported("it gives no Rows");
        var columns = dicom.UInt16(0x00280011) ?? throw Unsupported("it gives no Columns");
        var samples = dicom.UInt16(0x00280002) ?? 1;
        var allocated = dicom.UInt16(0x00280100) ?? throw Unsupported("it gives no BitsAllocated");
        var stored = dicom.UInt16(0x00280101) ?? allocated;
        var highBit = dicom.UInt16(0x00280102) ?? (stored - 1);
        var photometric = dicom.String(0x00280004)?.ToUpperInvariant() ?? (samples == 1 ? "MONOCHROME2" : "RGB");
        var frames = dicom.Integer(0x00280008) ?? 1;
        if (allocated is not (8 or 16))
        {
            throw Unsupported($"{allocated} bits allocated per value (8 or 16 are)");
        }

        if (stored < 1 || stored > allocated || highBit >= allocated || highBit + 1 < stored)
        {
            throw Unsupported($"BitsStored {stored} and HighBit {highBit} do not fit {allocated} bits allocated");
        }

        if (frames < 1)
        {
            throw Unsupported($"it declares {frames} frames");
        }

        var monochrome = photometric is "MONOCHROME1" or "MONOCHROME2";
        var colour = photometric is "RGB" or "YBR_FULL" or "YBR_FULL_422";
        if (!(monochrome && samples == 1) && !(colour && samples == 3))
        {
            throw Unsupported(monochrome || colour
                ? $"{photometric} with {samples} samples per pixel"
                : $"photometric interpretation {(photometric.Length <= 16 && photometric.All(c => char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c) || c == '_') ? photometric : "unknown")} (MONOCHROME1, MONOCHROME2, RGB, YBR_FULL and YBR_FULL_422 are)");
        }

        var slope = dicom.Decimal(0x00281053) ?? 1;
        return new DicomImageAttributes(
            rows, columns, samples, allocated, stored, highBit, dicom.UInt16(0x00280103) == 1, photometric,
            dicom.UInt16(0x00280006) ?? 0, frames, slope == 0 ? 1 : slope, dicom.Decimal(0x00281052) ?? 0,
            dicom.Decimal(0x00281050), dicom.Decimal(0x00281051), dicom.Syntax.Pixels);
    }
}

/// <summary>Gets one frame's stored values out of native or encapsulated pixel data, one array per sample.</summary>
internal static class DicomFrames
{
    public static int MiddleFrame(DicomImageAttributes image) => image.Frames / 2;

    public static int[][] Read(DicomFile dicom, DicomImageAttributes image)
    {
        var index = MiddleFrame(image);
        var count = image.Rows * image.Columns;
        return image.Encoding switch
        {
            PixelEncoding.Native => Mask(Native(dicom, image, index, count), image),
            PixelEncoding.Rle => Mask(Rle(Fragment(dicom, image, index), image, count), image),
            PixelEncoding.JpegLossless => Mask(JpegLosslessDecoder.Decode(Fragment(dicom, image, index), image.Rows, image.Columns, image.Samples), image),
            _ => Jpeg(Fragment(dicom, image, index), image, count),
        };
    }

    private static ScanRejectedException Truncated() => new("The DICOM file is truncated: its pixel data end early.");

    private static ScanRejectedException Corrupt(string what) => new($"The DICOM file is corrupt: {what}.");

    private static int[][] Native(DicomFile dicom, DicomImageAttributes image, int index, int count)
    {
        var (offset, length) = dicom.NativePixelData ?? throw Corrupt("it has no native pixel data");
        var bytesPerValue = image.BitsAllocated / 8;
        var subsampled = image.Photometric == "YBR_FULL_422";
        if (subsampled && (bytesPerValue != 1 || image.Columns % 2 != 0))
        {
            throw new ScanRejectedException("The DICOM image is not one this pipeline decodes: uncompressed YBR_FULL_422 with 16 bits or an odd width.");
        }

        var frameBytes = subsampled ? 2L * count : (long)count * image.Samples * bytesPerValue;
        if ((long)length < frameBytes * image.Frames)
        {
            throw Truncated();
        }

        var data = dicom.Data.AsSpan(offset + (int)(frameBytes * index), (int)frameBytes);
        var planes = Enumerable.Range(0, image.Samples).Select(_ => new int[count]).ToArray();
        if (subsampled)
        {
            // Each pair of pixels is Y1 Y2 Cb Cr (PS3.3 C.7.6.3.1.2).
            for (var pair = 0; pair < count / 2; pair++)
            {
                var at = 4 * pair;
                planes[0][2 * pair] = data[at];
                planes[0][(2 * pair) + 1] = data[at + 1];
                planes[1][2 * pair] = planes[1][(2 * pair) + 1] = data[at + 2];
                planes[2][2 * pair] = planes[2][(2 * pair) + 1] = data[at + 3];
            }

            return planes;
        }

        for (var s = 0; s < image.Samples; s++)
        {
            for (var i = 0; i < count; i++)
            {
                // Planar configuration 0 interleaves the samples of each pixel; 1 stores each sample's plane in turn.
                var value = image.PlanarConfiguration == 1 ? (s * count) + i : (i * image.Samples) + s;
                planes[s][i] = bytesPerValue == 1
                    ? data[value]
                    : dicom.Syntax.BigEndian
                        ? BinaryPrimitives.ReadUInt16BigEndian(data[(2 * value)..])
                        : BinaryPrimitives.ReadUInt16LittleEndian(data[(2 * value)..]);
            }
        }

        return planes;
    }

    /// <summary>Keeps the BitsStored bits that end at HighBit, sign-extended for signed pixels.</summary>
    private static int[][] Mask(int[][] planes, DicomImageAttributes image)
    {
        var shift = image.HighBit + 1 - image.BitsStored;
        var mask = (1 << image.BitsStored) - 1;
        var sign = 1 << (image.BitsStored - 1);
        foreach (var plane in planes)
        {
            for (var i = 0; i < plane.Length; i++)
            {
                var value = (plane[i] >> shift) & mask;
                plane[i] = image.Signed && (value & sign) != 0 ? value - (1 << image.BitsStored) : value;
            }
        }

        return planes;
    }

    /// <summary>The bytes of one frame of encapsulated pixel data: by the basic offset table, else one fragment per frame.</summary>
    private static byte[] Fragment(DicomFile dicom, DicomImageAttributes image, int index)
    {
        var (table, fragments) = dicom.Encapsulated ?? throw Corrupt("its compressed pixel data are not encapsulated");
        if (fragments.Count == 0)
        {
            throw Truncated();
        }

        IEnumerable<(int Offset, int Length, int ItemStart)> parts;
        if (image.Frames == 1)
        {
            parts = fragments;
        }
        else if (table.Length == image.Frames)
        {
            // Offsets count from the first fragment's item tag.
            var first = fragments[0].ItemStart;
            var start = (long)table[index];
            var end = index + 1 < table.Length ? table[index + 1] : long.MaxValue;
            parts = fragments.Where(f => f.ItemStart - first >= start && f.ItemStart - first < end);
        }
        else if (fragments.Count == image.Frames)
        {
            parts = [fragments[index]];
        }
        else
        {
            throw Corrupt("the frames of its compressed pixel data cannot be told apart");
        }

        var bytes = parts.SelectMany(p => dicom.Data.AsSpan(p.Offset, p.Length).ToArray()).ToArray();
        return bytes.Length == 0 ? throw Truncated() : bytes;
    }

    /// <summary>RLE Lossless (PS3.5 annex G): one PackBits segment per byte of each sample, most significant first.</summary>
    private static int[][] Rle(byte[] frame, DicomImageAttributes image, int count)
    {
        var bytesPerValue = image.BitsAllocated / 8;
        if (frame.Length < 64)
        {
            throw Truncated();
        }

        var segments = BinaryPrimitives.ReadUInt32LittleEndian(frame);
        if (segments != image.Samples * bytesPerValue)
        {
            throw Corrupt($"its RLE frame has {Math.Min(segments, 99u)} segments where {image.Samples * bytesPerValue} are needed");
        }

        var planes = Enumerable.Range(0, image.Samples).Select(_ => new int[count]).ToArray();
        var decoded = new byte[count];
        for (var segment = 0; segment < segments; segment++)
        {
            var start = BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(4 + (4 * segment)));
            var end = segment + 1 < segments ? BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(8 + (4 * segment))) : (uint)frame.Length;
            if (start < 64 || start > end || end > frame.Length)
            {
                throw Corrupt("its RLE segment offsets point outside the frame");
            }

            PackBits(frame.AsSpan((int)start, (int)(end - start)), decoded);
            var plane = planes[segment / bytesPerValue];
            var byteShift = 8 * (bytesPerValue - 1 - (segment % bytesPerValue));
            for (var i = 0; i < count; i++)
            {
                plane[i] |= decoded[i] << byteShift;
            }
        }

        return planes;
    }

    private static void PackBits(ReadOnlySpan<byte> input, Span<byte> output)
    {
        var o = 0;
        var i = 0;
        while (o < output.Length)
        {
            if (i >= input.Length)
            {
                throw Truncated();
            }

            var n = (sbyte)input[i++];
            if (n >= 0)
            {
                var run = n + 1;
                if (i + run > input.Length || o + run > output.Length)
                {
                    throw Corrupt("an RLE segment runs past its frame");
                }

                input.Slice(i, run).CopyTo(output[o..]);
                i += run;
                o += run;
            }
            else if (n != -128)
            {
                var run = 1 - n;
                if (i >= input.Length || o + run > output.Length)
                {
                    throw Corrupt("an RLE segment runs past its frame");
                }

                output.Slice(o, run).Fill(input[i++]);
                o += run;
            }
        }
    }

    /// <summary>JPEG Baseline through SkiaSharp, which converts YCbCr to RGB itself; 8-bit values come out.</summary>
    private static int[][] Jpeg(byte[] frame, DicomImageAttributes image, int count)
    {
        if (image.BitsAllocated != 8)
        {
            throw new ScanRejectedException("The DICOM image is not one this pipeline decodes: JPEG Baseline with more than 8 bits.");
        }

        using var data = SKData.CreateCopy(frame);
        using var codec = SKCodec.Create(data) ?? throw Corrupt("its JPEG pixel data cannot be read");
        if (codec.EncodedFormat != SKEncodedImageFormat.Jpeg || codec.Info.Width != image.Columns || codec.Info.Height != image.Rows)
        {
            throw Corrupt("its JPEG pixel data do not match the image's declared size");
        }

        var info = new SKImageInfo(image.Columns, image.Rows, SKColorType.Rgba8888, SKAlphaType.Premul);
        var pixels = new byte[info.BytesSize];
        var handle = System.Runtime.InteropServices.GCHandle.Alloc(pixels, System.Runtime.InteropServices.GCHandleType.Pinned);
        try
        {
            if (codec.GetPixels(info, handle.AddrOfPinnedObject()) != SKCodecResult.Success)
            {
                throw Corrupt("its JPEG pixel data cannot be decoded");
            }
        }
        finally
        {
            handle.Free();
        }

        var planes = Enumerable.Range(0, image.Samples).Select(_ => new int[count]).ToArray();
        for (var s = 0; s < image.Samples; s++)
        {
            for (var i = 0; i < count; i++)
            {
                planes[s][i] = pixels[(4 * i) + s];
            }
        }

        return planes;
    }
}
