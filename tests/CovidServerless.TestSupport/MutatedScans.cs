using System.Buffers.Binary;
using SkiaSharp;

namespace CovidServerless.TestSupport;

/// <summary>One fuzz input: the bytes and how they were made (seed file and mutation), for a failure message.</summary>
public sealed record MutatedScan(string Description, byte[] Bytes)
{
    public override string ToString() => $"{Description} ({Bytes.Length:N0} bytes)";
}

/// <summary>
/// A bounded fuzz corpus for the decoder and the pipeline: valid scans of every accepted format (PNG, JPEG, WebP,
/// BMP, GIF, DICOM in each lossless syntax and JPEG baseline), each mutated the ways damaged uploads arrive (bit
/// flips, truncation at random offsets, zeroed or 0xFF runs, inserted or repeated bytes, tampered header fields and
/// huge declared sizes), from a fixed seed, so a failure names an input that can be made again.
/// </summary>
public static class MutatedScans
{
    private static ReadOnlySpan<byte> PngSignature => [0x89, (byte)'P', (byte)'N', (byte)'G'];

    private static ReadOnlySpan<byte> JpegSignature => [0xFF, 0xD8];

    /// <summary>The seed CI uses; set <c>COVIDSCAN_FUZZ_SEED</c> to explore others.</summary>
    public const int DefaultSeed = 33;

    /// <summary>How many inputs a test asks for: its CI default, or <c>COVIDSCAN_FUZZ_COUNT</c> for a larger run on demand.</summary>
    public static int Count(int ciDefault) =>
        int.TryParse(Environment.GetEnvironmentVariable("COVIDSCAN_FUZZ_COUNT"), out var count) && count > 0 ? count : ciDefault;

    public static int Seed =>
        int.TryParse(Environment.GetEnvironmentVariable("COVIDSCAN_FUZZ_SEED"), out var seed) ? seed : DefaultSeed;

    /// <summary>The valid files the mutations start from, by name.</summary>
    public static IReadOnlyList<(string Name, byte[] Bytes)> Seeds { get; } = MakeSeeds();

    /// <summary><paramref name="count"/> mutated inputs; the same seed and count always give the same inputs.</summary>
    public static IEnumerable<MutatedScan> Make(int count, int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            var (name, original) = Seeds[random.Next(Seeds.Count)];
            var (mutation, bytes) = Mutate(original, random);
            yield return new MutatedScan($"#{i} {name} {mutation}", bytes);
        }
    }

    /// <summary>One mutation of <paramref name="original"/>, drawn from <paramref name="random"/> (the torture run mutates real scans with it).</summary>
    public static (string Mutation, byte[] Bytes) Mutate(byte[] original, Random random)
    {
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(random);
        var bytes = (byte[])original.Clone();
        switch (random.Next(11))
        {
            case 0:
                {
                    var flips = random.Next(1, 9);
                    for (var f = 0; f < flips; f++)
                    {
                        bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                    }

                    return ($"{flips} bit flips", bytes);
                }

            case 1:
                {
                    // Headers hold the fields decoders trust most: flip bits in the first 400 bytes (a DICOM's
                    // preamble is 128 bytes, its meta and image attributes follow).
                    var flips = random.Next(1, 5);
                    for (var f = 0; f < flips; f++)
                    {
                        bytes[random.Next(Math.Min(400, bytes.Length))] ^= (byte)(1 << random.Next(8));
                    }

                    return ($"{flips} header bit flips", bytes);
                }

            case 2:
                {
                    var at = random.Next(bytes.Length);
                    return ($"truncated at {at}", bytes[..at]);
                }

            case 3:
                {
                    var (at, length) = Span(bytes.Length, random);
                    bytes.AsSpan(at, length).Clear();
                    return ($"{length} bytes zeroed at {at}", bytes);
                }

            case 4:
                {
                    var (at, length) = Span(bytes.Length, random);
                    bytes.AsSpan(at, length).Fill(0xFF);
                    return ($"{length} bytes 0xFF at {at}", bytes);
                }

            case 5:
                {
                    var at = random.Next(bytes.Length);
                    var inserted = new byte[random.Next(1, 64)];
                    random.NextBytes(inserted);
                    return ($"{inserted.Length} random bytes inserted at {at}", [.. bytes.AsSpan(0, at), .. inserted, .. bytes.AsSpan(at)]);
                }

            case 6:
                {
                    var (at, length) = Span(bytes.Length, random);
                    return ($"{length} bytes at {at} repeated", [.. bytes.AsSpan(0, at + length), .. bytes.AsSpan(at)]);
                }

            case 7:
                {
                    var (width, height) = HugeOrOdd(random);
                    return ($"declares {width}x{height}", DeclareSize(bytes, width, height));
                }

            case 8:
                {
                    // A length field made huge: a PNG chunk's, a JPEG segment's or a DICOM element's.
                    var at = LengthFieldOffsets(bytes).ToList() is { Count: > 0 } offsets ? offsets[random.Next(offsets.Count)] : random.Next(bytes.Length - 4);
                    var value = random.Next(3) switch { 0 => 0xFFFFFFFFu, 1 => 0x7FFFFFFFu, _ => (uint)random.Next() };
                    BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(at), value);
                    return ($"length field at {at} set to {value}", bytes);
                }

            case 9:
                {
                    var length = random.Next(0, 3) switch { 0 => 0, 1 => random.Next(1, 16), _ => random.Next(16, 512) };
                    return ($"first {length} bytes only", bytes[..Math.Min(length, bytes.Length)]);
                }

            default:
                {
                    // Another format's body behind this one's signature (a wrong extension's cousin).
                    var (_, other) = Seeds[random.Next(Seeds.Count)];
                    var keep = Math.Min(random.Next(4, 200), bytes.Length);
                    return ($"first {keep} bytes then another file", [.. bytes.AsSpan(0, keep), .. other.AsSpan(Math.Min(keep, other.Length))]);
                }
        }
    }

    private static (int At, int Length) Span(int fileLength, Random random)
    {
        var at = random.Next(fileLength);
        return (at, random.Next(1, Math.Min(256, fileLength - at) + 1));
    }

    private static (int Width, int Height) HugeOrOdd(Random random) => random.Next(6) switch
    {
        0 => (65_535, 65_535),
        1 => (0, 0),
        2 => (1, 65_535),
        3 => (12_000, 12_000),
        4 => (random.Next(1, 70_000), random.Next(1, 70_000)),
        _ => (8_192, 8_192),
    };

    /// <summary>Writes the declared size where the format keeps it (a PNG's IHDR with its CRC made right again, so it is read).</summary>
    private static byte[] DeclareSize(byte[] bytes, int width, int height)
    {
        var span = bytes.AsSpan();
        if (span.StartsWith(PngSignature) && span.Length >= 33)
        {
            BinaryPrimitives.WriteInt32BigEndian(span[16..], width);
            BinaryPrimitives.WriteInt32BigEndian(span[20..], height);
            BinaryPrimitives.WriteUInt32BigEndian(span[29..], TestImages.Crc32(span[12..29].ToArray()));
        }
        else if (span.StartsWith(JpegSignature))
        {
            for (var i = 2; i + 9 < span.Length; i++)
            {
                if (span[i] == 0xFF && span[i + 1] is 0xC0 or 0xC1 or 0xC2)
                {
                    BinaryPrimitives.WriteUInt16BigEndian(span[(i + 5)..], (ushort)Math.Min(height, ushort.MaxValue));
                    BinaryPrimitives.WriteUInt16BigEndian(span[(i + 7)..], (ushort)Math.Min(width, ushort.MaxValue));
                    break;
                }
            }
        }
        else if (span.StartsWith("BM"u8) && span.Length >= 26)
        {
            BinaryPrimitives.WriteInt32LittleEndian(span[18..], width);
            BinaryPrimitives.WriteInt32LittleEndian(span[22..], height);
        }
        else if (span.StartsWith("GIF8"u8) && span.Length >= 10)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(span[6..], (ushort)Math.Min(width, ushort.MaxValue));
            BinaryPrimitives.WriteUInt16LittleEndian(span[8..], (ushort)Math.Min(height, ushort.MaxValue));
        }
        else if (span.StartsWith("RIFF"u8) && span.Length >= 30 && span[12..16].SequenceEqual("VP8X"u8))
        {
            WriteUInt24(span[24..], width - 1);
            WriteUInt24(span[27..], height - 1);
        }
        else
        {
            // DICOM: Rows (0028,0010) and Columns (0028,0011), little endian US values after the tag (and VR).
            foreach (var (element, value) in new[] { (0x10, height), (0x11, width) })
            {
                var tag = span.IndexOf((ReadOnlySpan<byte>)[0x28, 0x00, (byte)element, 0x00]);
                if (tag >= 0 && tag + 10 <= span.Length)
                {
                    // Explicit VR: tag, "US", 2-byte length; implicit: tag, 4-byte length. Either way the value is 8 bytes on.
                    BinaryPrimitives.WriteUInt16LittleEndian(span[(tag + 8)..], (ushort)Math.Min(value, ushort.MaxValue));
                }
            }
        }

        return bytes;
    }

    private static void WriteUInt24(Span<byte> span, int value)
    {
        value = Math.Clamp(value, 0, 0xFFFFFF);
        (span[0], span[1], span[2]) = ((byte)value, (byte)(value >> 8), (byte)(value >> 16));
    }

    /// <summary>Where length fields sit: PNG chunk lengths, JPEG segment lengths, DICOM element lengths (roughly).</summary>
    private static IEnumerable<int> LengthFieldOffsets(byte[] bytes)
    {
        var span = bytes.AsSpan();
        if (span.StartsWith(PngSignature))
        {
            for (var at = 8; at + 8 <= bytes.Length;)
            {
                yield return at;
                at += 12 + (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at)), int.MaxValue / 2);
            }
        }
        else if (span.StartsWith(JpegSignature))
        {
            for (var i = 2; i + 6 <= bytes.Length; i++)
            {
                if (bytes[i] == 0xFF && bytes[i + 1] is >= 0xC0 and <= 0xFE and not 0xD8 and not 0xD9)
                {
                    yield return i + 2;
                }
            }
        }
        else if (bytes.Length > 140 && span[128..132].SequenceEqual("DICM"u8))
        {
            for (var i = 132; i + 12 <= bytes.Length; i += 2)
            {
                if (bytes[i + 1] == 0x00 && bytes[i] is 0x02 or 0x08 or 0x10 or 0x28 && bytes[i + 3] == 0x00)
                {
                    yield return i + 4;
                }
            }
        }
    }

    private static List<(string, byte[])> MakeSeeds()
    {
        var random = new Random(DefaultSeed);
        byte Noise(int x, int y) => (byte)Math.Clamp((x * 2) + y + random.Next(-20, 21), 0, 255);
        SKColor Grey(int x, int y)
        {
            var v = Noise(x, y);
            return new SKColor(v, v, v);
        }

        var dicomValues = Enumerable.Range(0, 72 * 64).Select(i => Noise(i % 64, i / 64) * 16).ToArray();
        var seeds = new List<(string, byte[])>
        {
            ("png", TestImages.Encode(96, 80, Grey, SKEncodedImageFormat.Png)),
            ("png-rgb", TestImages.Encode(64, 64, (x, y) => new SKColor((byte)(x * 4), (byte)(y * 4), Noise(x, y)), SKEncodedImageFormat.Png)),
            ("png-16bit", TestImages.Png16BitGrey(48, 48, 0x8080)),
            ("jpeg", TestImages.Encode(96, 80, Grey, SKEncodedImageFormat.Jpeg)),
            ("jpeg-exif", TestImages.WithExifOrientation(TestImages.Encode(64, 48, Grey, SKEncodedImageFormat.Jpeg), 6)),
            ("webp", TestImages.Encode(64, 64, Grey, SKEncodedImageFormat.Webp)),
            ("bmp", TestImages.Bmp(64, 48, 90)),
            ("gif", TestImages.TwoFrameGif(40, 40, 30, 220)),
            ("dicom-8bit", DicomWriter.Write(new DicomSpec(64, 64, Enumerable.Range(0, 64 * 64).Select(i => (int)Noise(i % 64, i / 64)).ToArray()), DicomWriter.ExplicitLittle)),
            ("dicom-jpeg", DicomWriter.Write(new DicomSpec(64, 64, Enumerable.Range(0, 64 * 64).Select(i => (int)Noise(i % 64, i / 64)).ToArray()), DicomWriter.JpegBaseline)),
        };
        foreach (var syntax in DicomWriter.LosslessSyntaxes)
        {
            var spec = new DicomSpec(72, 64, dicomValues) { BitsAllocated = 16, BitsStored = 12, HighBit = 11 };
            seeds.Add(($"dicom-12bit-{syntax}", DicomWriter.Write(spec, syntax)));
        }

        return seeds;
    }
}
