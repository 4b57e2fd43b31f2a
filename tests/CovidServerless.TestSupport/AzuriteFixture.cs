namespace CovidServerless.TestSupport;

/// <summary>A private <see cref="Azurite"/> as an xunit class or collection fixture: started before the tests, stopped after.</summary>
public sealed class AzuriteFixture : Azurite, IAsyncLifetime
{
    Task IAsyncLifetime.InitializeAsync() => StartAsync();

    Task IAsyncLifetime.DisposeAsync() => DisposeAsync().AsTask();
}
