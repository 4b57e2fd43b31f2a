using System.CommandLine;
using System.Net;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using CovidServerless.Core;
using CovidServerless.Core.Results;
using CovidServerless.Core.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace CovidServerless.Cli.Commands;

/// <summary><c>covidscan upload FILES --modality M [--name NAME] [--wait]</c>: drops scans into the pipeline's container.</summary>
internal static class UploadCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("files") { Description = "Image files to upload.", Arity = ArgumentArity.OneOrMore };
        var modality = CommonOptions.Modality();
        var name = new Option<string?>("--name")
        {
            Description = "Blob name (one file only); default: the file's own name.",
            Validators =
            {
                result =>
                {
                    if (result.GetValueOrDefault<string?>() is { } given && BlobNameProblem(given) is { } problem)
                    {
                        result.AddError($"--name {problem}.");
                    }
                },
            },
        };
        var wait = new Option<bool>("--wait") { Description = "Wait for each result and print it as JSON." };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for a result with --wait.", DefaultValueFactory = _ => 120 };
        var api = CommonOptions.Api();
        var command = new Command("upload", "Upload scans to the pipeline's storage (AzureWebJobsStorage; default: local Azurite).")
        {
            files, modality, name, wait, timeout, api,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var paths = parse.GetValue(files)!;
            if (parse.GetValue(name) is not null && paths.Length != 1)
            {
                await Console.Error.WriteLineAsync("--name needs exactly one file.");
                return 2;
            }

            if (paths.Where(p => !File.Exists(p)).ToList() is { Count: > 0 } missing)
            {
                await Console.Error.WriteLineAsync($"No such file: {string.Join(", ", missing)}");
                return 2;
            }

            if (parse.GetValue(name) is null
                && paths.Select(p => (Path: p, Problem: BlobNameProblem(Path.GetFileName(p)))).FirstOrDefault(p => p.Problem is not null) is { Problem: { } problem } unnamable)
            {
                await Console.Error.WriteLineAsync($"The file name of {unnamable.Path} {problem}; upload it with --name.");
                return 2;
            }

            if (ApiClient.KeyRefusal(parse.GetValue(api)!) is { } refusal)
            {
                await Console.Error.WriteLineAsync(refusal);
                return 2;
            }

            var scanModality = ModalityNames.Parse(parse.GetValue(modality)!);
            using var services = CliServices.Create(storage: true);
            var container = services.GetRequiredService<StorageClients>().Blobs.GetBlobContainerClient(ScanContainers.For(scanModality));
            try
            {
                await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            }
            catch (Exception ex) when (ex is RequestFailedException or AggregateException && !cancellationToken.IsCancellationRequested)
            {
                await Console.Error.WriteLineAsync($"Cannot reach the scan storage ({ex.Message.Split('\n')[0]}): is ./run.sh running?");
                return 3;
            }

            using var client = new ApiClient(parse.GetValue(api)!);
            var exit = 0;
            foreach (var path in paths)
            {
                var blobName = parse.GetValue(name) ?? Path.GetFileName(path);
                var blob = container.GetBlobClient(blobName);
                var uploaded = await blob.UploadAsync(path, overwrite: true, cancellationToken);
                var version = uploaded.Value.ETag.ToString().Trim('"');
                Console.Error.WriteLine($"Uploaded {path} to {container.Name}/{blobName} (version {version}).");
                if (parse.GetValue(wait))
                {
                    exit |= await WaitAsync(client, scanModality, blobName, version, parse.GetValue(timeout), cancellationToken);
                }
            }

            return exit;
        });
        return command;
    }

    private const string OtherVersion =
        "the latest result is for another version of this blob, which was overwritten: a version overwritten before it was read is not scored";

    /// <summary>Why a blob could not be uploaded, or listed, under this name (Blob Storage answers 400 with its headers), or null.</summary>
    private static string? BlobNameProblem(string name) => name switch
    {
        "" => "must not be empty",
        { Length: > 1024 } => "must be at most 1024 characters (Blob Storage's limit)",
        _ when name.Any(char.IsControl) => "must not contain control characters (the local storage emulator cannot list a container holding one)",
        _ when name.EndsWith('/') => $"must not end with '/' (got '{name}'): Blob Storage has no blob by such a name",
        _ => null,
    };

    /// <summary>Polls until the uploaded version has its result; an API not answering yet (still starting) is waited for too.</summary>
    private static async Task<int> WaitAsync(ApiClient client, Modality modality, string blobName, string version, int seconds, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        var lastProblem = "no result yet";
        var overwritten = false;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                var (status, body) = await client.GetAsync(ApiClient.ScanPath(modality.ToName(), blobName), cancellationToken);
                if (status == HttpStatusCode.OK && ScanResult.FromJson(body).BlobVersion == version)
                {
                    Console.WriteLine(CliJson.Pretty(body));
                    return 0;
                }

                if (ApiClient.Hint(status) is { Length: > 0 } hint)
                {
                    await Console.Error.WriteLineAsync($"The API answered {(int)status} {status}{hint}.");
                    return 1;
                }

                overwritten = status == HttpStatusCode.OK;
                lastProblem = overwritten ? OtherVersion : $"the API answered {(int)status}";
            }
            catch (Exception ex) when (ApiClient.DidNotAnswer(ex, cancellationToken))
            {
                overwritten = false;
                lastProblem = $"the API did not answer: {ex.Message}";
            }

            await Task.Delay(500, cancellationToken);
        }

        await Console.Error.WriteLineAsync(
            $"No result for {blobName} within {seconds} s ({lastProblem}){(overwritten ? "." : ": is ./run.sh running?")}");
        return 1;
    }
}
