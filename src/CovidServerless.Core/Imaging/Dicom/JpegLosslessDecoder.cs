namespace CovidServerless.Core.Imaging.Dicom;

/// <summary>
/// JPEG Lossless, Process 14 (ITU T.81 annex H; DICOM 1.2.840.10008.1.2.4.57 and .70, SV1): Huffman-coded
/// differences from a predicted neighbour, up to 16 bits, one or more interleaved components with no subsampling.
/// Nothing in the registries here decodes it, and CR/DX archives commonly hold it.
/// </summary>
internal static class JpegLosslessDecoder
{
    private sealed class Huffman
    {
        public readonly int[] MaxCode = new int[18];
        public readonly int[] ValPtr = new int[17];
        public readonly int[] MinCode = new int[17];
        public byte[] Values = [];
    }

    private static ScanRejectedException Corrupt(string what) => new($"The DICOM file is corrupt: its JPEG Lossless data {what}.");

    /// <summary>Decodes one frame to one array of values per component; its size must be the declared one.</summary>
    public static int[][] Decode(byte[] data, int rows, int columns, int samples)
    {
        var tables = new Huffman?[4];
        int precision = 0, height = 0, width = 0, restartInterval = 0;
        var componentIds = Array.Empty<int>();
        var pos = 0;
        if (data.Length < 4 || data[0] != 0xFF || data[1] != 0xD8)
        {
            throw Corrupt("do not start with a JPEG marker");
        }

        pos = 2;
        while (true)
        {
            while (pos < data.Length && data[pos] == 0xFF && pos + 1 < data.Length && data[pos + 1] == 0xFF)
            {
                pos++;
            }

            if (pos + 4 > data.Length || data[pos] != 0xFF)
            {
                throw Corrupt("end before the image");
            }

            var marker = data[pos + 1];
            var length = (data[pos + 2] << 8) | data[pos + 3];
            if (length < 2 || pos + 2 + length > data.Length)
            {
                throw Corrupt("hold a segment that runs past their end");
            }

            var segment = data.AsSpan(pos + 4, length - 2);
            switch (marker)
            {
                case 0xC3:
                    if (segment.Length < 6)
                    {
                        throw Corrupt("hold a short frame header");
                    }

                    precision = segment[0];
                    height = (segment[1] << 8) | segment[2];
                    width = (segment[3] << 8) | segment[4];
                    var count = segment[5];
                    if (segment.Length < 6 + (3 * count) || count != samples || height != rows || width != columns || precision is < 2 or > 16)
                    {
                        throw Corrupt("do not match the image's declared size");
                    }

                    componentIds = new int[count];
                    for (var c = 0; c < count; c++)
                    {
                        componentIds[c] = segment[6 + (3 * c)];
                        if (segment[7 + (3 * c)] != 0x11)
                        {
                            throw new ScanRejectedException("The DICOM image is not one this pipeline decodes: JPEG Lossless with subsampled components.");
                        }
                    }

                    break;
                case 0xC0 or 0xC1 or 0xC2 or 0xC5 or 0xC6 or 0xC7 or 0xC9 or 0xCA or 0xCB or 0xCD or 0xCE or 0xCF:
                    throw Corrupt("are not Process 14 (lossless, Huffman)");
                case 0xC4:
                    ReadHuffmanTables(segment, tables);
                    break;
                case 0xDD:
                    restartInterval = segment.Length >= 2 ? (segment[0] << 8) | segment[1] : 0;
                    break;
                case 0xDA:
                    if (componentIds.Length == 0)
                    {
                        throw Corrupt("start a scan before the frame header");
                    }

                    return Scan(data, pos + 2 + length, segment, tables, componentIds, precision, height, width, restartInterval);
            }

            pos += 2 + length;
        }
    }

    private static void ReadHuffmanTables(ReadOnlySpan<byte> segment, Huffman?[] tables)
    {
        var at = 0;
        while (at < segment.Length)
        {
            if (at + 17 > segment.Length)
            {
                throw Corrupt("hold a short Huffman table");
            }

            var id = segment[at] & 0x0F;
            var counts = segment.Slice(at + 1, 16);
            var total = 0;
            foreach (var n in counts)
            {
                total += n;
            }

            if (id > 3 || total > 256 || at + 17 + total > segment.Length)
            {
                throw Corrupt("hold a bad Huffman table");
            }

            var table = new Huffman { Values = segment.Slice(at + 17, total).ToArray() };
            int code = 0, k = 0;
            for (var l = 1; l <= 16; l++)
            {
                table.ValPtr[l] = k;
                table.MinCode[l] = code;
                code += counts[l - 1];
                k += counts[l - 1];
                table.MaxCode[l] = counts[l - 1] == 0 ? -1 : code - 1;
                code <<= 1;
            }

            table.MaxCode[17] = int.MaxValue;
            tables[id] = table;
            at += 17 + total;
        }
    }

    private static int[][] Scan(
        byte[] data, int start, ReadOnlySpan<byte> header, Huffman?[] tables, int[] componentIds, int precision, int height, int width, int restartInterval)
    {
        var count = header.Length > 0 ? header[0] : 0;
        if (count != componentIds.Length || header.Length < 1 + (2 * count) + 3)
        {
            throw Corrupt("scan a different set of components than the frame holds");
        }

        var scanTables = new Huffman[count];
        for (var c = 0; c < count; c++)
        {
            var selector = header[2 + (2 * c)] >> 4;
            scanTables[c] = (selector < tables.Length ? tables[selector] : null) ?? throw Corrupt("use a Huffman table they do not define");
        }

        var predictor = header[1 + (2 * count)];
        var pointTransform = header[3 + (2 * count)] & 0x0F;
        if (predictor is < 1 or > 7 || pointTransform >= precision)
        {
            throw Corrupt("name an invalid predictor");
        }

        var planes = Enumerable.Range(0, count).Select(_ => new int[width * height]).ToArray();
        var reader = new BitReader(data, start);
        var mask = (1 << precision) - 1;
        var initial = 1 << (precision - pointTransform - 1);
        var sinceRestart = 0;
        var restartRow = 0;
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                if (restartInterval > 0 && sinceRestart == restartInterval)
                {
                    reader.Restart();
                    sinceRestart = 0;
                    restartRow = y;
                }

                // After a restart, the first pixel and the rest of its row predict as at the image's start.
                var firstLine = y == restartRow;
                var restarted = restartInterval > 0 && sinceRestart == 0;
                for (var c = 0; c < count; c++)
                {
                    var plane = planes[c];
                    var i = (y * width) + x;
                    int prediction;
                    if (restarted || (y == 0 && x == 0))
                    {
                        prediction = initial;
                    }
                    else if (firstLine)
                    {
                        prediction = plane[i - 1];
                    }
                    else if (x == 0)
                    {
                        prediction = plane[i - width];
                    }
                    else
                    {
                        int a = plane[i - 1], b = plane[i - width], d = plane[i - width - 1];
                        prediction = predictor switch
                        {
                            1 => a,
                            2 => b,
                            3 => d,
                            4 => a + b - d,
                            5 => a + ((b - d) >> 1),
                            6 => b + ((a - d) >> 1),
                            _ => (a + b) >> 1,
                        };
                    }

                    plane[i] = (prediction + Difference(ref reader, scanTables[c])) & mask;
                }

                sinceRestart++;
            }
        }

        if (pointTransform > 0)
        {
            foreach (var plane in planes)
            {
                for (var i = 0; i < plane.Length; i++)
                {
                    plane[i] <<= pointTransform;
                }
            }
        }

        return planes;
    }

    private static int Difference(ref BitReader reader, Huffman table)
    {
        var code = reader.Bit();
        var length = 1;
        while (code > table.MaxCode[length])
        {
            code = (code << 1) | reader.Bit();
            if (++length > 16)
            {
                throw Corrupt("hold a code no Huffman table defines");
            }
        }

        var index = table.ValPtr[length] + code - table.MinCode[length];
        if (index < 0 || index >= table.Values.Length)
        {
            throw Corrupt("hold a code no Huffman table defines");
        }

        var category = table.Values[index];
        if (category == 0)
        {
            return 0;
        }

        if (category == 16)
        {
            return 32768;
        }

        if (category > 16)
        {
            throw Corrupt("hold an invalid difference category");
        }

        var bits = reader.Bits(category);

        // Differences whose top bit is 0 are negative (T.81 F.2.2.1, EXTEND).
        return bits < (1 << (category - 1)) ? bits - (1 << category) + 1 : bits;
    }

    private struct BitReader(byte[] data, int pos)
    {
        private int current;
        private int left;

        public int Bit()
        {
            if (left == 0)
            {
                if (pos >= data.Length)
                {
                    throw new ScanRejectedException("The DICOM file is truncated: its JPEG Lossless data end early.");
                }

                var value = data[pos++];
                if (value == 0xFF)
                {
                    var next = pos < data.Length ? data[pos] : 0;
                    if (next == 0x00)
                    {
                        pos++;
                    }
                    else
                    {
                        // A marker: no data are left; T.81 feeds zeros to finish the code in hand.
                        pos--;
                        value = 0;
                        if (++Padding > 64)
                        {
                            throw new ScanRejectedException("The DICOM file is truncated: its JPEG Lossless data end early.");
                        }
                    }
                }

                current = value;
                left = 8;
            }

            left--;
            return (current >> left) & 1;
        }

        private int Padding { get; set; }

        public int Bits(int n)
        {
            var value = 0;
            for (var i = 0; i < n; i++)
            {
                value = (value << 1) | Bit();
            }

            return value;
        }

        /// <summary>Skips to the next byte and past an RSTn marker.</summary>
        public void Restart()
        {
            left = 0;
            while (pos + 1 < data.Length && !(data[pos] == 0xFF && data[pos + 1] is >= 0xD0 and <= 0xD7))
            {
                pos++;
            }

            pos += 2;
        }
    }
}
