using CovidServerless.Core.Imaging;
using CovidServerless.TestSupport;
using SkiaSharp;

namespace CovidServerless.Core.Tests.Dicom;

/// <summary>
/// The DICOM reader against real files written by other tools (../shared/dicom, from pydicom's test set). Expected
/// values were computed with pydicom 2.3.1 (pixel_array, then the PS3.3 C.11.2.1.2 linear window in numpy).
/// </summary>
public class DicomRealFilesTests
{
    private readonly ScanDecoder decoder = new();

    public static TheoryData<string, int, int, int, int, double> Monochrome => new()
    {
        // file, width, height, grey at (0,0), grey at the centre, mean grey.
        // CT: HU = stored - 1024, no window in the file, so the default lung window (-600/1500).
        { "CT_small.dcm", 128, 128, 85, 255, 204.554 },

        // MR: window 600/1600 from the file; the same pixels in three transfer syntaxes.
        { "MR_small.dcm", 64, 64, 176, 61, 113.066 },
        { "MR_small_implicit.dcm", 64, 64, 176, 61, 113.066 },
        { "MR_small_RLE.dcm", 64, 64, 176, 61, 113.066 },

        // Deflated, 8-bit, no window: min-max of 0..255 is the identity.
        { "image_dfl.dcm", 512, 512, 213, 65, 127.116 },
    };

    [SkippableTheory]
    [MemberData(nameof(Monochrome))]
    public void Decodes_monochrome_files_from_other_tools_as_their_window_shows_them(string file, int width, int height, int corner, int centre, double mean)
    {
        using var scan = decoder.Decode(Read(file));

        Assert.Equal("dicom", scan.Format);
        Assert.Equal((width, height), (scan.Width, scan.Height));
        Assert.Equal(new SKColor((byte)corner, (byte)corner, (byte)corner), scan.Bitmap.GetPixel(0, 0));
        Assert.Equal(centre, scan.Bitmap.GetPixel(width / 2, height / 2).Red);
        Assert.Equal(mean, MeanRed(scan), 2);
    }

    [SkippableFact]
    public void Decodes_big_endian_planar_rgb()
    {
        using var scan = decoder.Decode(Read("ExplVR_BigEnd.dcm"));

        Assert.Equal((80, 60), (scan.Width, scan.Height));
        Assert.Equal(new SKColor(171, 171, 171), scan.Bitmap.GetPixel(0, 0));
        Assert.Equal(new SKColor(255, 255, 0), scan.Bitmap.GetPixel(40, 30));
        Assert.Equal(new SKColor(255, 232, 0), scan.Bitmap.GetPixel(79, 59));
    }

    public static TheoryData<string, int> ColourBars => new()
    {
        { "SC_rgb_rle.dcm", 0 },
        { "SC_rgb_jpeg_gdcm.dcm", 0 },

        // JPEG Baseline is lossy: the same bars within a tolerance.
        { "SC_rgb_jpeg_dcmtk.dcm", 6 },
        { "SC_rgb_dcmtk_+eb+cy+np.dcm", 6 },
    };

    [SkippableFact]
    public void A_jpeg_lossless_scan_naming_a_huffman_table_beyond_the_four_jpeg_allows_is_rejected_not_a_crash()
    {
        var file = Read("SC_rgb_jpeg_gdcm.dcm");
        var sos = Enumerable.Range(0, file.Length - 1).First(i => file[i] == 0xFF && file[i + 1] == 0xDA);
        file[sos + 6] = 0xF0; // first component's table selectors: DC table 15

        var error = Assert.Throws<ScanRejectedException>(() => decoder.Decode(file));

        Assert.Contains("Huffman table", error.Message, StringComparison.Ordinal);
    }

    [SkippableTheory]
    [MemberData(nameof(ColourBars))]
    public void Decodes_rle_jpeg_lossless_and_jpeg_baseline_colour_bars_to_their_rgb_colours(string file, int tolerance)
    {
        using var scan = decoder.Decode(Read(file));

        Assert.Equal((100, 100), (scan.Width, scan.Height));
        (int Row, SKColor Colour)[] bars =
        [
            (5, new SKColor(255, 0, 0)), (15, new SKColor(255, 128, 128)), (25, new SKColor(0, 255, 0)),
            (35, new SKColor(128, 255, 128)), (45, new SKColor(0, 0, 255)), (55, new SKColor(128, 128, 255)),
            (65, new SKColor(0, 0, 0)), (75, new SKColor(64, 64, 64)), (85, new SKColor(192, 192, 192)),
            (95, new SKColor(255, 255, 255)),
        ];
        foreach (var (row, colour) in bars)
        {
            var pixel = scan.Bitmap.GetPixel(50, row);
            Assert.InRange(pixel.Red, colour.Red - tolerance, colour.Red + tolerance);
            Assert.InRange(pixel.Green, colour.Green - tolerance, colour.Green + tolerance);
            Assert.InRange(pixel.Blue, colour.Blue - tolerance, colour.Blue + tolerance);
        }
    }

    [SkippableFact]
    public void Jpeg_lossless_from_gdcm_decodes_to_exactly_the_pixels_of_the_same_image_in_rle()
    {
        using var lossless = decoder.Decode(Read("SC_rgb_jpeg_gdcm.dcm"));
        using var rle = decoder.Decode(Read("SC_rgb_rle.dcm"));

        Assert.True(lossless.Bitmap.GetPixelSpan().SequenceEqual(rle.Bitmap.GetPixelSpan()));
    }

    [SkippableTheory]
    [InlineData("JPEG2000.dcm", "JPEG 2000 (1.2.840.10008.1.2.4.91)")]
    [InlineData("MR_small_jpeg_ls_lossless.dcm", "JPEG-LS Lossless (1.2.840.10008.1.2.4.80)")]
    public void Rejects_unsupported_transfer_syntaxes_naming_them(string file, string syntax)
    {
        var rejected = Assert.Throws<ScanRejectedException>(() => decoder.Decode(Read(file)));
        Assert.Contains($"encoded as {syntax}, which this pipeline does not decode", rejected.Message);

        // The remote scorer's pre-check rejects them alike, before anything is sent.
        Assert.Throws<ScanRejectedException>(() => decoder.Validate(Read(file)));
    }

    [SkippableFact]
    public void Rejects_a_file_whose_pixel_data_are_cut_short()
    {
        var rejected = Assert.Throws<ScanRejectedException>(() => decoder.Decode(Read("MR_truncated.dcm")));
        Assert.Contains("truncated", rejected.Message);
    }

    [SkippableTheory]
    [InlineData("MR_small.dcm", Modality.Chest, "The DICOM file's modality is MR; the chest container takes CR, DX.")]
    [InlineData("MR_small.dcm", Modality.Ct, "The DICOM file's modality is MR; the ct container takes CT.")]
    [InlineData("CT_small.dcm", Modality.Chest, "The DICOM file's modality is CT; the chest container takes CR, DX.")]
    [InlineData("ExplVR_BigEnd.dcm", Modality.Chest, "The DICOM file's modality is US; the chest container takes CR, DX.")]
    [InlineData("rtplan.dcm", Modality.Ct, "The DICOM file's modality is RTPLAN; the ct container takes CT.")]
    public void Rejects_a_modality_that_does_not_fit_the_container_naming_it(string file, Modality container, string reason)
    {
        Assert.Equal(reason, Assert.Throws<ScanRejectedException>(() => decoder.Decode(Read(file), container)).Message);
        Assert.Equal(reason, Assert.Throws<ScanRejectedException>(() => decoder.Validate(Read(file), container)).Message);
    }

    [SkippableFact]
    public void A_ct_slice_fits_the_ct_container()
    {
        decoder.Validate(Read("CT_small.dcm"), Modality.Ct);
        using var scan = decoder.Decode(Read("CT_small.dcm"), Modality.Ct);

        Assert.Equal(128, scan.Width);
    }

    [SkippableFact]
    public void Rejects_an_object_without_an_image()
    {
        var rejected = Assert.Throws<ScanRejectedException>(() => decoder.Decode(Read("rtplan.dcm")));

        Assert.Equal("The DICOM file holds no image (no pixel data); its modality is RTPLAN.", rejected.Message);
    }

    public static TheoryData<string> Supported =>
        ["CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm", "MR_small_RLE.dcm", "image_dfl.dcm", "ExplVR_BigEnd.dcm", "SC_rgb_rle.dcm", "SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_jpeg_gdcm.dcm"];

    [SkippableTheory]
    [MemberData(nameof(Supported))]
    public void A_truncated_real_file_is_rejected_unless_only_its_trailing_padding_was_cut(string file)
    {
        var bytes = Read(file);
        using var whole = decoder.Decode(bytes);
        var rejections = 0;
        for (var length = 1; length < bytes.Length; length += 7)
        {
            var cut = bytes[..length];
            try
            {
                // Only a cut after the pixel data (e.g. in a trailing padding element) may still decode, to the same pixels.
                using var scan = decoder.Decode(cut);
                Assert.True(scan.Bitmap.GetPixelSpan().SequenceEqual(whole.Bitmap.GetPixelSpan()), $"a cut at {length} bytes decoded to other pixels");
            }
            catch (ScanRejectedException rejected)
            {
                Assert.False(string.IsNullOrWhiteSpace(rejected.Message));
                rejections++;
            }
        }

        Assert.True(rejections > bytes.Length / 7 / 2, $"only {rejections} cuts were rejected");
    }

    [SkippableTheory]
    [MemberData(nameof(Supported))]
    public void Mutated_bytes_in_a_real_file_are_decoded_or_rejected_never_a_crash(string file)
    {
        var bytes = Read(file);
        var random = new Random(34);
        for (var trial = 0; trial < 300; trial++)
        {
            var mutated = (byte[])bytes.Clone();
            for (var flips = 0; flips < 1 + (trial % 4); flips++)
            {
                // Mostly the header, where lengths and attributes are.
                var at = trial % 2 == 0 ? random.Next(128, Math.Min(bytes.Length, 1200)) : random.Next(bytes.Length);
                mutated[at] = (byte)random.Next(256);
            }

            try
            {
                using var scan = decoder.Decode(mutated);
                Assert.True(scan.Width > 0 && scan.Height > 0);
            }
            catch (ScanRejectedException)
            {
                // A clear rejection is the other acceptable outcome.
            }
        }
    }

    internal static byte[] Read(string file)
    {
        Skip.If(RepoPaths.SharedDicom is null, RepoPaths.NoSharedDicomMessage);
        return File.ReadAllBytes(Path.Combine(RepoPaths.SharedDicom!, file));
    }

    private static double MeanRed(DecodedScan scan)
    {
        var pixels = scan.Bitmap.GetPixelSpan();
        double sum = 0;
        for (var i = 0; i < pixels.Length; i += 4)
        {
            sum += pixels[i];
        }

        return sum / (pixels.Length / 4);
    }
}
