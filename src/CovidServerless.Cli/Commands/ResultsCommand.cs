using System.CommandLine;
using System.Net;
using System.Text.Json;

namespace CovidServerless.Cli.Commands;

/// <summary><c>covidscan results --modality M [BLOB] [--history] [--top N] [--verdict V]</c>: asks the running pipeline.</summary>
internal static class ResultsCommand
{
    public static Command Create()
    {
        var blob = new Argument<string?>("blob") { Description = "Blob name; omit to list recent results.", Arity = ArgumentArity.ZeroOrOne };
        var modality = new Option<string?>("--modality", "-m") { Description = "chest or ct (required with a blob name)." };
        var history = new Option<bool>("--history") { Description = "Every version of the blob, newest first." };
        var top = new Option<int>("--top") { Description = "Page size when listing.", DefaultValueFactory = _ => 20 };
        var token = new Option<string?>("--continuation-token") { Description = "Token from the previous page." };
        var verdict = new Option<string?>("--verdict")
        {
            Description = "When listing: only results with this verdict: covid, noncovid or indeterminate (the ensemble abstained: needs a radiologist).",
        };
        var api = CommonOptions.Api();
        var command = new Command("results", "Query results from the running pipeline's HTTP API.") { blob, modality, history, top, token, verdict, api };
        command.SetAction(async (parse, cancellationToken) =>
        {
            string path;
            if (parse.GetValue(blob) is { } name)
            {
                if (parse.GetValue(modality) is not { } m)
                {
                    await Console.Error.WriteLineAsync("--modality is required with a blob name.");
                    return 2;
                }

                path = ApiClient.ScanPath(m, name) + (parse.GetValue(history) ? "?history=true" : string.Empty);
            }
            else
            {
                var query = new List<string> { $"top={parse.GetValue(top)}" };
                if (parse.GetValue(modality) is { } m)
                {
                    query.Add($"modality={Uri.EscapeDataString(m)}");
                }

                // The API checks the value and names the three it knows.
                if (parse.GetValue(verdict) is { } v)
                {
                    query.Add($"verdict={Uri.EscapeDataString(v)}");
                }

                if (parse.GetValue(token) is { } t)
                {
                    query.Add($"continuationToken={Uri.EscapeDataString(t)}");
                }

                path = "scans?" + string.Join('&', query);
            }

            if (ApiClient.KeyRefusal(parse.GetValue(api)!) is { } refusal)
            {
                await Console.Error.WriteLineAsync(refusal);
                return 2;
            }

            using var client = new ApiClient(parse.GetValue(api)!);
            HttpStatusCode status;
            string body;
            try
            {
                (status, body) = await client.GetAsync(path, cancellationToken);
            }
            catch (Exception ex) when (ApiClient.DidNotAnswer(ex, cancellationToken))
            {
                await Console.Error.WriteLineAsync($"Cannot reach {parse.GetValue(api)} ({ex.Message}): is ./run.sh running?");
                return 3;
            }

            if (status != HttpStatusCode.OK)
            {
                await Console.Error.WriteLineAsync($"The API answered {(int)status} {status}{ApiClient.Hint(status)}.");
            }

            if (body.Length > 0)
            {
                Console.WriteLine(CliJson.Pretty(body));
            }

            return status == HttpStatusCode.OK ? 0 : 1;
        });
        return command;
    }
}
