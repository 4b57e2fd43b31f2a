namespace CovidServerless.Core.Imaging;

/// <summary>
/// Finds JPEG files whose compressed image data holds a marker that cannot occur there. The JPEG decoder only
/// warns about such data and goes on, filling what it could not decode, so a file damaged in the middle would
/// otherwise be scored as a plausible, flat-grey scan.
/// </summary>
internal static class JpegStructure
{
    private const byte Marker = 0xFF;

    /// <summary>
    /// The first marker in a JPEG's compressed data that no valid file has there, or null when every marker is one
    /// that may follow a scan's data. A file that ends early is left to the decoder, which calls it truncated.
    /// </summary>
    public static byte? InvalidMarkerInScanData(ReadOnlySpan<byte> file)
    {
        var position = 2; // after SOI
        while (NextMarker(file, ref position) is { } marker)
        {
            if (marker == 0xD9)
            {
                return null; // EOI: anything after it is not image data
            }

            if (!HasLength(marker))
            {
                continue; // TEM, RSTn, and SOI: no length to skip
            }

            if (position + 2 > file.Length)
            {
                return null;
            }

            var length = (file[position] << 8) | file[position + 1];
            position += length;
            if (marker == 0xDA && SkipScanData(file, ref position) is { } next && !MayFollowScanData(next))
            {
                return next;
            }
        }

        return null;
    }

    /// <summary>Moves past entropy-coded data to the marker that ends it and returns that marker (position is at it).</summary>
    private static byte? SkipScanData(ReadOnlySpan<byte> file, ref int position)
    {
        while (position < file.Length)
        {
            var found = file[position..].IndexOf(Marker);
            if (found < 0 || position + found + 1 >= file.Length)
            {
                return null;
            }

            position += found;
            var next = file[position + 1];
            if (next == 0x00 || next is >= 0xD0 and <= 0xD7)
            {
                position += 2; // a stuffed 0xFF byte or a restart marker: still scan data
                continue;
            }

            if (next == Marker)
            {
                position += 1; // fill byte
                continue;
            }

            return next;
        }

        return null;
    }

    private static byte? NextMarker(ReadOnlySpan<byte> file, ref int position)
    {
        while (position + 1 < file.Length && file[position] == Marker && file[position + 1] == Marker)
        {
            position++; // fill bytes before a marker
        }

        if (position + 1 >= file.Length || file[position] != Marker)
        {
            return null;
        }

        var marker = file[position + 1];
        position += 2;
        return marker;
    }

    private static bool HasLength(byte marker) => marker is not (0x01 or 0xD8) && marker is not (>= 0xD0 and <= 0xD7);

    /// <summary>
    /// What ends a scan's data: the end of the image, another scan, or the tables, restart interval, line count,
    /// comments and application data that may come between scans.
    /// </summary>
    private static bool MayFollowScanData(byte marker) =>
        marker is 0xD9 or 0xDA or 0xC4 or 0xCC or 0xDB or 0xDC or 0xDD or 0xFE or (>= 0xE0 and <= 0xEF);
}
