using System.Buffers.Binary;
using System.Text;

namespace CovidServerless.Core.Heatmaps;

/// <summary>
/// The members' class-activation maps of one scored scan in the compact binary form kept in its result's table row
/// (the overlay is drawn from it on the first request). Layout, little-endian: format byte (1), member count byte,
/// then per member a name (length byte, UTF-8), width and height (ushort each), pCovid (float) and width x height
/// floats row by row. Floats are stored as their bits, so the maps come back exactly.
/// </summary>
public static class HeatmapMaps
{
    /// <summary>Half of Table storage's 64 KiB limit on a binary property, so a row never fails to save over it.</summary>
    public const int MaxBytes = 32 * 1024;

    public const int MaxMembers = 16;

    public const int MaxNameBytes = 64;

    private const byte Format = 1;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The maps' bytes, or null where they cannot be kept: over <see cref="MaxBytes"/>, too many members, a name too long, or a value that is not finite.</summary>
    public static byte[]? Encode(IReadOnlyList<MemberHeatmap> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        if (members.Count is 0 or > MaxMembers)
        {
            return null;
        }

        long size = 2;
        foreach (var member in members)
        {
            var nameBytes = Encoding.UTF8.GetByteCount(member.Model);
            var map = member.Map;
            if (nameBytes is 0 or > MaxNameBytes || map.Width is < 1 or > ushort.MaxValue || map.Height is < 1 or > ushort.MaxValue
                || map.Values.Length != (long)map.Width * map.Height || !float.IsFinite(member.PCovid) || !map.Values.All(float.IsFinite))
            {
                return null;
            }

            size += 1 + nameBytes + 4 + 4 + (4L * map.Values.Length);
            if (size > MaxBytes)
            {
                return null;
            }
        }

        var bytes = new byte[size];
        var span = bytes.AsSpan();
        span[0] = Format;
        span[1] = (byte)members.Count;
        var at = 2;
        foreach (var member in members)
        {
            var written = Encoding.UTF8.GetBytes(member.Model, span[(at + 1)..]);
            span[at] = (byte)written;
            at += 1 + written;
            BinaryPrimitives.WriteUInt16LittleEndian(span[at..], (ushort)member.Map.Width);
            BinaryPrimitives.WriteUInt16LittleEndian(span[(at + 2)..], (ushort)member.Map.Height);
            BinaryPrimitives.WriteSingleLittleEndian(span[(at + 4)..], member.PCovid);
            at += 8;
            foreach (var value in member.Map.Values)
            {
                BinaryPrimitives.WriteSingleLittleEndian(span[at..], value);
                at += 4;
            }
        }

        return bytes;
    }

    /// <summary>
    /// The maps stored in <paramref name="bytes"/>, or false where they are not exactly what <see cref="Encode"/>
    /// writes (over the size bound, truncated, trailing bytes, an unknown format, a name that is not UTF-8, a map
    /// larger than the bytes hold, a value that is not finite): nothing is allocated from a size before it is checked.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> bytes, out IReadOnlyList<MemberHeatmap> members)
    {
        members = [];
        if (bytes.Length is < 2 or > MaxBytes || bytes[0] != Format || bytes[1] is 0 or > MaxMembers)
        {
            return false;
        }

        var result = new List<MemberHeatmap>(bytes[1]);
        var at = 2;
        for (var m = 0; m < bytes[1]; m++)
        {
            if (at >= bytes.Length || bytes[at] is 0 or > MaxNameBytes || bytes.Length - at - 1 < bytes[at] + 8)
            {
                return false;
            }

            string name;
            try
            {
                name = StrictUtf8.GetString(bytes.Slice(at + 1, bytes[at]));
            }
            catch (DecoderFallbackException)
            {
                return false;
            }

            at += 1 + bytes[at];
            int width = BinaryPrimitives.ReadUInt16LittleEndian(bytes[at..]);
            int height = BinaryPrimitives.ReadUInt16LittleEndian(bytes[(at + 2)..]);
            var pCovid = BinaryPrimitives.ReadSingleLittleEndian(bytes[(at + 4)..]);
            at += 8;
            if (width < 1 || height < 1 || !float.IsFinite(pCovid) || (long)width * height * 4 > bytes.Length - at)
            {
                return false;
            }

            var values = new float[width * height];
            for (var i = 0; i < values.Length; i++, at += 4)
            {
                values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[at..]);
                if (!float.IsFinite(values[i]))
                {
                    return false;
                }
            }

            result.Add(new MemberHeatmap(name, pCovid, new CamMap(width, height, values)));
        }

        if (at != bytes.Length)
        {
            return false;
        }

        members = result;
        return true;
    }
}
