using Azure;

namespace CovidServerless.Core.Storage;

/// <summary>
/// Creates a table, queue or container that may exist already. The deployment creates them and scopes each identity's
/// role to them, so a create call can be refused (403) where using the resource is allowed: then the resource's own
/// operations, which follow, say whether it is really there.
/// </summary>
internal static class CreateIfAllowed
{
    public static async Task RunAsync(Func<Task> create)
    {
        try
        {
            await create().ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 403)
        {
        }
    }
}
