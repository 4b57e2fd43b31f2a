using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using SkiaSharp;

namespace CovidServerless.TestSupport;

/// <summary>Images generated in code for decoder and bad-input tests (never the licensed data).</summary>
public static class TestImages
{
    /// <summary>A uniform grey image encoded by Skia (PNG, JPEG or WebP).</summary>
    public static byte[] Uniform(byte grey, int width = 64, int height = 64, SKEncodedImageFormat format = SKEncodedImageFormat.Png) =>
        Encode(width, height, (_, _) => new SKColor(grey, grey, grey), format);

    /// <summary>An image whose left half is white and right half black (orientation tests).</summary>
    public static byte[] LeftWhiteRightBlack(int width, int height, SKEncodedImageFormat format = SKEncodedImageFormat.Png) =>
        Encode(width, height, (x, _) => x < width / 2 ? SKColors.White : SKColors.Black, format);

    public static byte[] Encode(int width, int height, Func<int, int, SKColor> pixel, SKEncodedImageFormat format, SKColorType colorType = SKColorType.Rgba8888)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, colorType, SKAlphaType.Unpremul));
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                bitmap.SetPixel(x, y, pixel(x, y));
            }
        }

        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, 95) ?? throw new InvalidOperationException($"Skia cannot encode {format}.");
        return data.ToArray();
    }

    /// <summary>A 24-bit uncompressed BMP (Skia has no BMP encoder).</summary>
    public static byte[] Bmp(int width, int height, byte grey)
    {
        var rowBytes = ((width * 3) + 3) & ~3;
        var file = new byte[54 + (rowBytes * height)];
        var span = file.AsSpan();
        "BM"u8.CopyTo(span);
        BinaryPrimitives.WriteInt32LittleEndian(span[2..], file.Length);
        BinaryPrimitives.WriteInt32LittleEndian(span[10..], 54);
        BinaryPrimitives.WriteInt32LittleEndian(span[14..], 40);
        BinaryPrimitives.WriteInt32LittleEndian(span[18..], width);
        BinaryPrimitives.WriteInt32LittleEndian(span[22..], height);
        BinaryPrimitives.WriteInt16LittleEndian(span[26..], 1);
        BinaryPrimitives.WriteInt16LittleEndian(span[28..], 24);
        BinaryPrimitives.WriteInt32LittleEndian(span[34..], rowBytes * height);
        for (var y = 0; y < height; y++)
        {
            span.Slice(54 + (y * rowBytes), width * 3).Fill(grey);
        }

        return file;
    }

    /// <summary>A two-frame GIF: the first frame is <paramref name="first"/> grey, the second <paramref name="second"/>.</summary>
    public static byte[] TwoFrameGif(int width, int height, byte first, byte second)
    {
        using var gif = new MemoryStream();
        gif.Write("GIF89a"u8);
        Span<byte> screen = stackalloc byte[7];
        BinaryPrimitives.WriteUInt16LittleEndian(screen, (ushort)width);
        BinaryPrimitives.WriteUInt16LittleEndian(screen[2..], (ushort)height);
        screen[4] = 0x80; // global colour table of 2 entries
        gif.Write(screen);
        gif.Write([first, first, first, second, second, second]);
        gif.Write([0x21, 0xFF, 0x0B, .. "NETSCAPE2.0"u8, 0x03, 0x01, 0x00, 0x00, 0x00]);
        WriteGifFrame(gif, width, height, colourIndex: 0);
        WriteGifFrame(gif, width, height, colourIndex: 1);
        gif.WriteByte(0x3B);
        return gif.ToArray();
    }

    private static void WriteGifFrame(MemoryStream gif, int width, int height, byte colourIndex)
    {
        gif.Write([0x21, 0xF9, 0x04, 0x00, 0x0A, 0x00, 0x00, 0x00]); // graphic control: 100 ms delay
        Span<byte> descriptor = stackalloc byte[10];
        descriptor[0] = 0x2C;
        BinaryPrimitives.WriteUInt16LittleEndian(descriptor[5..], (ushort)width);
        BinaryPrimitives.WriteUInt16LittleEndian(descriptor[7..], (ushort)height);
        gif.Write(descriptor);
        gif.WriteByte(2); // LZW minimum code size

        // Uncompressed LZW: a clear code before every two literals keeps codes at 3 bits.
        var bits = new List<bool>();
        void Code(int code)
        {
            for (var b = 0; b < 3; b++)
            {
                bits.Add(((code >> b) & 1) == 1);
            }
        }

        for (var i = 0; i < width * height; i++)
        {
            if (i % 2 == 0)
            {
                Code(4);
            }

            Code(colourIndex);
        }

        Code(5);
        var packed = new byte[(bits.Count + 7) / 8];
        for (var i = 0; i < bits.Count; i++)
        {
            if (bits[i])
            {
                packed[i / 8] |= (byte)(1 << (i % 8));
            }
        }

        foreach (var chunk in packed.Chunk(255))
        {
            gif.WriteByte((byte)chunk.Length);
            gif.Write(chunk);
        }

        gif.WriteByte(0);
    }

    /// <summary>A 16-bit greyscale PNG with every sample = <paramref name="level16"/>.</summary>
    public static byte[] Png16BitGrey(int width, int height, ushort level16)
    {
        var rows = new MemoryStream();
        for (var y = 0; y < height; y++)
        {
            rows.WriteByte(0);
            for (var x = 0; x < width; x++)
            {
                rows.WriteByte((byte)(level16 >> 8));
                rows.WriteByte((byte)level16);
            }
        }

        return Png(width, height, bitDepth: 16, colourType: 0, rows.ToArray());
    }

    /// <summary>A PNG whose header declares the given size but carries a tiny (wrong) body: a decompression-bomb stand-in.</summary>
    public static byte[] PngDeclaring(int width, int height) => Png(width, height, 8, 0, [0, 0]);

    /// <summary>
    /// A valid all-black 8-bit greyscale PNG of the given size: a few KB that decode to width x height RGBA pixels, a
    /// decompression bomb within the limits.
    /// </summary>
    public static byte[] BlackPngBomb(int width, int height)
    {
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            var row = new byte[width + 1]; // filter type 0, then zeros
            for (var y = 0; y < height; y++)
            {
                zlib.Write(row);
            }
        }

        return PngWithIdat(width, height, 8, 0, compressed.ToArray());
    }

    /// <summary>A small real JPEG whose frame header (SOF0) is changed to declare the given size.</summary>
    public static byte[] JpegDeclaring(int width, int height)
    {
        var jpeg = Uniform(128, 64, 64, SKEncodedImageFormat.Jpeg);
        for (var at = 2; at + 8 < jpeg.Length; at++)
        {
            if (jpeg[at] == 0xFF && jpeg[at + 1] is 0xC0 or 0xC1 or 0xC2)
            {
                BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(at + 5), (ushort)height);
                BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(at + 7), (ushort)width);
                return jpeg;
            }
        }

        throw new InvalidOperationException("The encoder wrote no SOF0/1/2 segment.");
    }

    private static byte[] Png(int width, int height, byte bitDepth, byte colourType, byte[] rawRows)
    {
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            zlib.Write(rawRows);
        }

        return PngWithIdat(width, height, bitDepth, colourType, compressed.ToArray());
    }

    private static byte[] PngWithIdat(int width, int height, byte bitDepth, byte colourType, byte[] idat)
    {
        using var png = new MemoryStream();
        png.Write([0x89, .. "PNG"u8, 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = bitDepth;
        header[9] = colourType;
        WriteChunk(png, "IHDR", header);
        WriteChunk(png, "IDAT", idat);
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void WriteChunk(Stream png, string type, byte[] data)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        png.Write(length);
        var typeAndData = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        png.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(length, Crc32(typeAndData));
        png.Write(length);
    }

    internal static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
            }
        }

        return ~crc;
    }

    /// <summary>Inserts an EXIF APP1 segment with the given orientation (1-8) right after a JPEG's SOI marker.</summary>
    public static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        byte[] tiff =
        [
            .. "MM"u8, 0x00, 0x2A, 0x00, 0x00, 0x00, 0x08, // big-endian TIFF header, IFD at offset 8
            0x00, 0x01, // one entry
            0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, (byte)(orientation >> 8), (byte)orientation, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, // no next IFD
        ];
        byte[] payload = [.. "Exif"u8, 0, 0, .. tiff];
        var segmentLength = payload.Length + 2;
        byte[] app1 = [0xFF, 0xE1, (byte)(segmentLength >> 8), (byte)segmentLength, .. payload];
        return [.. jpeg.AsSpan(0, 2), .. app1, .. jpeg.AsSpan(2)];
    }

    /// <summary>The first <paramref name="fraction"/> of a file, as an interrupted upload leaves it.</summary>
    public static byte[] Truncated(byte[] file, double fraction = 0.5) => file[..(int)(file.Length * fraction)];

    /// <summary>A noisy image (so JPEG/PNG bodies are large enough that truncation cuts pixel data).</summary>
    public static byte[] Noise(int width, int height, SKEncodedImageFormat format, int seed = 1)
    {
        var random = new Random(seed);
        return Encode(width, height, (_, _) =>
        {
            var v = (byte)random.Next(256);
            return new SKColor(v, v, v);
        }, format);
    }

    // A valid ICO wrapping a 64x64 PNG: an image Skia reads, but not a format a scan should come in.
    public static byte[] Ico()
    {
        var png = Uniform(100, 64, 64);
        var header = new byte[22];
        header[2] = 1;
        header[4] = 1;
        header[6] = 64;
        header[7] = 64;
        header[10] = 1;
        header[12] = 32;
        BitConverter.GetBytes(png.Length).CopyTo(header, 14);
        BitConverter.GetBytes(22).CopyTo(header, 18);
        return [.. header, .. png];
    }
}
