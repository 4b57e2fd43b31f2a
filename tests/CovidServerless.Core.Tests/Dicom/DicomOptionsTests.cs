using CovidServerless.Core.Imaging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CovidServerless.Core.Tests.Dicom;

public class DicomOptionsTests
{
    [Fact]
    public void Dicom_options_bind_from_images_dicom()
    {
        using var services = Services(("Images:Dicom:ChestModalities", "CR,DX,OT"), ("Images:Dicom:DefaultWindows:CT:Center", "40"), ("Images:Dicom:DefaultWindows:CT:Width", "400"));

        var dicom = services.GetRequiredService<IOptions<ImageLimitsOptions>>().Value.Dicom;

        Assert.Equal(["CR", "DX", "OT"], dicom.ModalitiesFor(Modality.Chest));
        Assert.Equal((40, 400), (dicom.DefaultWindows["ct"].Center, dicom.DefaultWindows["ct"].Width));
    }

    [Theory]
    [InlineData("Images:Dicom:DefaultWindows:CT:Width", "0")]
    [InlineData("Images:Dicom:CtModalities", " , ")]
    [InlineData("Images:Dicom:MaxInflatedBytes", "0")]
    public void Invalid_dicom_options_stop_the_host_at_start(string key, string value)
    {
        using var services = Services((key, value));

        var error = Assert.ThrowsAny<Exception>(() => services.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("Images:Dicom", error.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider Services(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();
        return new ServiceCollection().AddLogging().AddCovidScoring(configuration).BuildServiceProvider();
    }
}
