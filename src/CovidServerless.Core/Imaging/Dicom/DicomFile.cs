using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace CovidServerless.Core.Imaging.Dicom;

/// <summary>
/// The top-level attributes of a DICOM Part 10 file that rendering needs, and where its pixel data lie. Reads only
/// what screening uses: every other attribute (patient data included) is skipped, never kept. Every length is checked
/// against the bytes left and nested sequences against a depth bound, so a hostile file is rejected, never a crash.
/// </summary>
internal sealed class DicomFile
{
    public const uint PixelDataTag = 0x7FE00010;
    private const uint ItemTag = 0xFFFEE000;
    private const uint ItemDelimitationTag = 0xFFFEE00D;
    private const uint SequenceDelimitationTag = 0xFFFEE0DD;
    private const uint TransferSyntaxTag = 0x00020010;
    private const uint Undefined = 0xFFFFFFFF;
    private const int MaxSequenceDepth = 16;

    public const uint StudyInstanceUidTag = 0x0020000D;
    public const uint SeriesInstanceUidTag = 0x0020000E;
    public const uint SopInstanceUidTag = 0x00080018;

    // The attributes kept: nothing that identifies a patient (the instance UIDs are kept only in UID syntax, see Uid).
    private static readonly HashSet<uint> Kept =
    [
        SopInstanceUidTag,
        0x00080060, // Modality
        StudyInstanceUidTag,
        SeriesInstanceUidTag,
        0x00280002, // SamplesPerPixel
        0x00280004, // PhotometricInterpretation
        0x00280006, // PlanarConfiguration
        0x00280008, // NumberOfFrames
        0x00280010, // Rows
        0x00280011, // Columns
        0x00280100, // BitsAllocated
        0x00280101, // BitsStored
        0x00280102, // HighBit
        0x00280103, // PixelRepresentation
        0x00281050, // WindowCenter
        0x00281051, // WindowWidth
        0x00281052, // RescaleIntercept
        0x00281053, // RescaleSlope
    ];

    private static readonly HashSet<string> LongLengthVrs = ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV"];

    private readonly Dictionary<uint, (int Offset, int Length)> elements = [];

    private DicomFile(byte[] data, TransferSyntax syntax)
    {
        Data = data;
        Syntax = syntax;
    }

    /// <summary>The bytes the offsets below point into (the inflated data set for the deflated syntax).</summary>
    public byte[] Data { get; }

    public TransferSyntax Syntax { get; }

    /// <summary>Native pixel data: its place in <see cref="Data"/>; null when encapsulated or absent.</summary>
    public (int Offset, int Length)? NativePixelData { get; private set; }

    /// <summary>Encapsulated pixel data: the basic offset table's entries (may be empty) and each fragment's place.</summary>
    public (uint[] OffsetTable, List<(int Offset, int Length, int ItemStart)> Fragments)? Encapsulated { get; private set; }

    public bool HasPixelData => NativePixelData is not null || Encapsulated is not null;

    /// <summary>Whether the bytes are a DICOM file: the <c>DICM</c> magic after the 128-byte preamble, or a preamble-less data set starting with a group-0008 element.</summary>
    public static bool Recognises(ReadOnlySpan<byte> file) =>
        (file.Length >= 132 && file.Slice(128, 4).SequenceEqual("DICM"u8))
        || (file.Length >= 8 && file[0] == 0x08 && file[1] == 0x00 && file[3] == 0x00);

    /// <summary>Reads the file's structure; throws <see cref="ScanRejectedException"/> for anything it cannot read.</summary>
    public static DicomFile Read(ReadOnlySpan<byte> file, long maxInflatedBytes)
    {
        if (file.Length >= 132 && file.Slice(128, 4).SequenceEqual("DICM"u8))
        {
            var bytes = file.ToArray();
            var (syntaxUid, dataSetStart) = ReadFileMeta(bytes);
            var syntax = TransferSyntax.For(syntaxUid);
            if (!syntax.Supported)
            {
                throw new ScanRejectedException(
                    $"The DICOM file's pixel data are encoded as {syntax.Description}, which this pipeline does not decode; " +
                    "supported: uncompressed, deflated, RLE Lossless, JPEG Baseline 8-bit, JPEG Lossless (Process 14).");
            }

            if (syntax.Deflated)
            {
                var inflated = Inflate(bytes.AsSpan(dataSetStart), maxInflatedBytes);
                var deflated = new DicomFile(inflated, syntax);
                deflated.ReadDataSet(0, inflated.Length, syntax.ExplicitVr, depth: 0);
                return deflated;
            }

            var dicom = new DicomFile(bytes, syntax);
            dicom.ReadDataSet(dataSetStart, bytes.Length, syntax.ExplicitVr, depth: 0);
            return dicom;
        }

        // A preamble-less data set: explicit VR when the element's bytes 4-5 are a VR, else implicit (both little endian).
        var raw = file.ToArray();
        var explicitVr = raw.Length >= 6 && char.IsAsciiLetterUpper((char)raw[4]) && char.IsAsciiLetterUpper((char)raw[5]);
        var bare = new DicomFile(raw, TransferSyntax.For(explicitVr ? TransferSyntax.ExplicitLittleUid : TransferSyntax.ImplicitLittleUid));
        bare.ReadDataSet(0, raw.Length, explicitVr, depth: 0);
        return bare;
    }

    public string? String(uint tag)
    {
        if (!elements.TryGetValue(tag, out var at))
        {
            return null;
        }

        var text = Encoding.ASCII.GetString(Data, at.Offset, at.Length).TrimEnd(' ', '\0').Trim();
        return text.Length == 0 ? null : text;
    }

    /// <summary>
    /// A UID attribute's value when it has a UID's form (PS3.5 9.1: at most 64 characters, digit components separated
    /// by dots), else null: a malformed value is dropped, never passed on, so no other header text can travel as a UID.
    /// Leading zeros (which PS3.5 forbids but some devices write) are kept: digits alone identify no patient.
    /// </summary>
    public string? Uid(uint tag) => String(tag) is { } text && IsUid(text) ? text : null;

    public static bool IsUid(string? text) =>
        text is { Length: > 0 and <= 64 } && text.Split('.').All(part => part.Length > 0 && part.All(char.IsAsciiDigit));

    /// <summary>The first value of a multi-valued string (values are separated by a backslash).</summary>
    public string? FirstValue(uint tag) => String(tag)?.Split('\\')[0].Trim() is { Length: > 0 } first ? first : null;

    public int? UInt16(uint tag) =>
        elements.TryGetValue(tag, out var at) && at.Length >= 2 ? ReadUInt16(at.Offset) : null;

    public double? Decimal(uint tag) =>
        FirstValue(tag) is { } text && double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value)
        && double.IsFinite(value) ? value : null;

    public int? Integer(uint tag) =>
        FirstValue(tag) is { } text && int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? value : null;

    private static ScanRejectedException Truncated() =>
        new("The DICOM file is truncated: an element's length runs past the end of the file.");

    private static ScanRejectedException Malformed(string what) => new($"The DICOM file is malformed: {what}.");

    private static (string SyntaxUid, int DataSetStart) ReadFileMeta(byte[] bytes)
    {
        // The file meta group is always explicit VR little endian.
        var pos = 132;
        string? syntax = null;
        while (pos + 8 <= bytes.Length && BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(pos)) == 0x0002)
        {
            var tag = ((uint)BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(pos)) << 16) | BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(pos + 2));
            var vr = Vr(bytes, pos + 4) ?? throw Malformed("the file meta information is not explicit VR");
            int header;
            long length;
            if (LongLengthVrs.Contains(vr))
            {
                if (pos + 12 > bytes.Length)
                {
                    throw Truncated();
                }

                header = 12;
                length = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(pos + 8));
            }
            else
            {
                header = 8;
                length = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(pos + 6));
            }

            if (length > bytes.Length - pos - header)
            {
                throw Truncated();
            }

            if (tag == TransferSyntaxTag)
            {
                syntax = Encoding.ASCII.GetString(bytes, pos + header, (int)length).TrimEnd(' ', '\0').Trim();
            }

            pos += header + (int)length;
        }

        return (syntax ?? throw Malformed("the file meta information names no transfer syntax"), pos);
    }

    private static string? Vr(byte[] bytes, int at) =>
        char.IsAsciiLetterUpper((char)bytes[at]) && char.IsAsciiLetterUpper((char)bytes[at + 1])
            ? Encoding.ASCII.GetString(bytes, at, 2)
            : null;

    private static byte[] Inflate(ReadOnlySpan<byte> deflated, long maxInflatedBytes)
    {
        using var input = new MemoryStream(deflated.ToArray(), writable: false);
        using var inflater = new DeflateStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        var buffer = new byte[81920];
        try
        {
            int read;
            while ((read = inflater.Read(buffer, 0, buffer.Length)) > 0)
            {
                if (output.Length + read > maxInflatedBytes)
                {
                    throw new ScanRejectedException(
                        $"The DICOM file's deflated data set inflates past the {maxInflatedBytes:N0}-byte limit; it was not decoded.");
                }

                output.Write(buffer, 0, read);
            }
        }
        catch (InvalidDataException ex)
        {
            throw new ScanRejectedException("The DICOM file is corrupt: its deflated data set cannot be inflated.", ex);
        }

        return output.ToArray();
    }

    private ushort ReadUInt16(int at) => Syntax.BigEndian
        ? BinaryPrimitives.ReadUInt16BigEndian(Data.AsSpan(at))
        : BinaryPrimitives.ReadUInt16LittleEndian(Data.AsSpan(at));

    private uint ReadUInt32(int at) => Syntax.BigEndian
        ? BinaryPrimitives.ReadUInt32BigEndian(Data.AsSpan(at))
        : BinaryPrimitives.ReadUInt32LittleEndian(Data.AsSpan(at));

    /// <summary>One element's header at <paramref name="pos"/>: its tag, VR (null when implicit), value length and where the value starts.</summary>
    private (uint Tag, string? Vr, uint Length, int ValueStart) Header(int pos, int end, bool explicitVr)
    {
        if (end - pos < 8)
        {
            throw Truncated();
        }

        var tag = ((uint)ReadUInt16(pos) << 16) | ReadUInt16(pos + 2);
        if ((tag >> 16) == 0xFFFE || !explicitVr)
        {
            return (tag, null, ReadUInt32(pos + 4), pos + 8);
        }

        var vr = Vr(Data, pos + 4) ?? throw Malformed("an element has no valid value representation");
        if (!LongLengthVrs.Contains(vr))
        {
            return (tag, vr, ReadUInt16(pos + 6), pos + 8);
        }

        if (end - pos < 12)
        {
            throw Truncated();
        }

        return (tag, vr, ReadUInt32(pos + 8), pos + 12);
    }

    /// <summary>
    /// Reads elements from <paramref name="pos"/> to <paramref name="end"/>; at depth 0 keeps the wanted attributes
    /// and stops at the pixel data; nested (inside an undefined-length item), returns after the item delimiter.
    /// </summary>
    private int ReadDataSet(int pos, int end, bool explicitVr, int depth)
    {
        while (pos < end)
        {
            var (tag, vr, length, valueStart) = Header(pos, end, explicitVr);
            if (tag == ItemDelimitationTag && depth > 0)
            {
                return valueStart;
            }

            if ((tag >> 16) == 0xFFFE)
            {
                throw Malformed("an item tag occurs outside a sequence");
            }

            if (length == Undefined)
            {
                if (depth == 0 && tag == PixelDataTag)
                {
                    ReadEncapsulated(valueStart, end);
                    return end;
                }

                if (vr is not (null or "SQ" or "UN"))
                {
                    throw Malformed($"a {vr} element has an undefined length");
                }

                // A UN sequence's items are implicit VR little endian (PS3.5 6.2.2).
                pos = SkipSequence(valueStart, end, vr == "UN" ? false : explicitVr, depth + 1);
                continue;
            }

            if (length > (uint)(end - valueStart))
            {
                throw Truncated();
            }

            if (depth == 0)
            {
                if (tag == PixelDataTag)
                {
                    NativePixelData = (valueStart, (int)length);
                    return end;
                }

                if (Kept.Contains(tag))
                {
                    elements[tag] = (valueStart, (int)length);
                }
            }

            pos = valueStart + (int)length;
        }

        if (depth > 0)
        {
            throw Truncated();
        }

        return pos;
    }

    /// <summary>Skips an undefined-length sequence's items; returns the position after its delimiter.</summary>
    private int SkipSequence(int pos, int end, bool explicitVr, int depth)
    {
        if (depth > MaxSequenceDepth)
        {
            throw Malformed($"sequences are nested more than {MaxSequenceDepth} deep");
        }

        while (true)
        {
            var (tag, _, length, valueStart) = Header(pos, end, explicitVr);
            if (tag == SequenceDelimitationTag)
            {
                return valueStart;
            }

            if (tag != ItemTag)
            {
                throw Malformed("a sequence holds something other than items");
            }

            if (length == Undefined)
            {
                pos = ReadDataSet(valueStart, end, explicitVr, depth);
            }
            else if (length > (uint)(end - valueStart))
            {
                throw Truncated();
            }
            else
            {
                pos = valueStart + (int)length;
            }
        }
    }

    private void ReadEncapsulated(int pos, int end)
    {
        uint[]? offsetTable = null;
        var fragments = new List<(int Offset, int Length, int ItemStart)>();
        while (true)
        {
            var (tag, _, length, valueStart) = Header(pos, end, explicitVr: false);
            if (tag == SequenceDelimitationTag)
            {
                break;
            }

            if (tag != ItemTag || length == Undefined)
            {
                throw Malformed("the encapsulated pixel data hold something other than fragments");
            }

            if (length > (uint)(end - valueStart))
            {
                throw Truncated();
            }

            if (offsetTable is null)
            {
                offsetTable = new uint[length / 4];
                for (var i = 0; i < offsetTable.Length; i++)
                {
                    offsetTable[i] = ReadUInt32(valueStart + (4 * i));
                }
            }
            else
            {
                fragments.Add((valueStart, (int)length, pos));
            }

            pos = valueStart + (int)length;
        }

        Encapsulated = (offsetTable ?? [], fragments);
    }
}
