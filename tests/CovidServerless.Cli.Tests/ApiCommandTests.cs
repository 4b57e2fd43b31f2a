using System.Net;
using System.Net.Sockets;
using System.Text;
using CovidServerless.TestSupport;

namespace CovidServerless.Cli.Tests;

/// <summary>The commands that ask the pipeline's HTTP API, against APIs that refuse, fail or are not there.</summary>
[Collection(ConsoleCapture.Collection)]
public sealed class ApiCommandTests
{
    [Fact]
    public async Task Results_from_an_api_that_refuses_without_a_body_say_what_to_set()
    {
        await using var api = new OneAnswerServer("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");

        var (exit, output, error) = await ConsoleCapture.RunAsync("results", "-m", "chest", "scan.png", "--api", api.Url);

        Assert.Equal(1, exit);
        Assert.Contains("401", error, StringComparison.Ordinal);
        Assert.Contains("COVIDSCAN_FUNCTION_KEY", error, StringComparison.Ordinal);
        Assert.Empty(output);
    }

    [Fact]
    public async Task Results_from_an_api_that_answers_a_page_of_html_print_it_as_it_came()
    {
        const string page = "<html>502 Bad Gateway</html>";
        await using var api = new OneAnswerServer($"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: {page.Length}\r\nConnection: close\r\n\r\n{page}");

        var (exit, output, error) = await ConsoleCapture.RunAsync("results", "-m", "chest", "scan.png", "--api", api.Url);

        Assert.Equal(1, exit);
        Assert.Contains("502", error, StringComparison.Ordinal);
        Assert.Contains(page, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Results_send_the_token_as_a_bearer_token_and_the_function_key_when_they_are_set()
    {
        await using var api = new OneAnswerServer("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
        Environment.SetEnvironmentVariable("COVIDSCAN_FUNCTION_KEY", "a-function-key");
        Environment.SetEnvironmentVariable("COVIDSCAN_TOKEN", "an-entra-token");
        try
        {
            var (exit, _, _) = await ConsoleCapture.RunAsync("results", "-m", "chest", "scan.png", "--api", api.Url);

            Assert.Equal(0, exit);
            Assert.Contains("Authorization: Bearer an-entra-token", api.HeaderLines);
            Assert.Contains("x-functions-key: a-function-key", api.HeaderLines);
        }
        finally
        {
            Environment.SetEnvironmentVariable("COVIDSCAN_FUNCTION_KEY", null);
            Environment.SetEnvironmentVariable("COVIDSCAN_TOKEN", null);
        }
    }

    [Fact]
    public async Task A_token_is_never_sent_over_plain_http_to_another_machine()
    {
        Environment.SetEnvironmentVariable("COVIDSCAN_TOKEN", "not-a-real-token");
        try
        {
            var (exit, output, error) = await ConsoleCapture.RunAsync("results", "--api", "http://api.example.net");

            Assert.Equal(2, exit);
            Assert.Contains("Refusing to send COVIDSCAN_TOKEN over plain http", error, StringComparison.Ordinal);
            Assert.DoesNotContain("not-a-real-token", error + output, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("COVIDSCAN_TOKEN", null);
        }
    }

    [Theory]
    [InlineData("results", "-m", "chest", "scan.png", "--api", "http://api.example.net")]
    [InlineData("results", "--api", "http://10.1.2.3:7071")]
    public async Task A_function_key_is_never_sent_over_plain_http_to_another_machine(params string[] args)
    {
        Environment.SetEnvironmentVariable("COVIDSCAN_FUNCTION_KEY", "not-a-real-key");
        try
        {
            var (exit, output, error) = await ConsoleCapture.RunAsync(args);

            Assert.Equal(2, exit); // refused before any request (no answer would be 3)
            Assert.Contains("Refusing to send COVIDSCAN_FUNCTION_KEY over plain http", error, StringComparison.Ordinal);
            Assert.DoesNotContain("not-a-real-key", error + output, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("COVIDSCAN_FUNCTION_KEY", null);
        }
    }

    [Fact]
    public async Task A_function_key_may_go_over_plain_http_to_a_local_api()
    {
        await using var api = new OneAnswerServer("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
        Environment.SetEnvironmentVariable("COVIDSCAN_FUNCTION_KEY", "not-a-real-key");
        try
        {
            var (exit, _, _) = await ConsoleCapture.RunAsync("results", "-m", "chest", "scan.png", "--api", api.Url);

            Assert.Equal(0, exit);
        }
        finally
        {
            Environment.SetEnvironmentVariable("COVIDSCAN_FUNCTION_KEY", null);
        }
    }

    [Fact]
    public async Task Results_listed_with_a_verdict_ask_the_api_for_that_verdict_only_and_print_its_page()
    {
        const string page = "{\"items\":[{\"scanId\":\"abc\",\"verdict\":\"indeterminate\"}],\"continuationToken\":null}";
        await using var api = new OneAnswerServer($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {page.Length}\r\nConnection: close\r\n\r\n{page}");

        var (exit, output, error) = await ConsoleCapture.RunAsync("results", "-m", "chest", "--verdict", "indeterminate", "--api", api.Url);

        Assert.True(exit == 0, error);
        Assert.Equal("GET /api/scans?top=20&modality=chest&verdict=indeterminate HTTP/1.1", Assert.Single(api.RequestLines));
        Assert.Contains("\"verdict\": \"indeterminate\"", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Results_from_no_api_at_all_ask_whether_the_pipeline_runs()
    {
        var (exit, _, error) = await ConsoleCapture.RunAsync("results", "-m", "chest", "scan.png", "--api", $"http://127.0.0.1:{Azurite.FreePort()}");

        Assert.Equal(3, exit);
        Assert.Contains("is ./run.sh running?", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upload_and_wait_keeps_asking_an_api_that_does_not_answer_until_its_timeout_and_says_why()
    {
        await using var azurite = new Azurite();
        await azurite.StartAsync();
        var file = Path.Combine(Path.GetTempPath(), $"covidscan-wait-{Guid.NewGuid():N}.png");
        File.WriteAllBytes(file, TestImages.Uniform(80));

        var (exit, _, error) = await WithStorage(azurite.ConnectionString, () => ConsoleCapture.RunAsync(
            "upload", file, "-m", "chest", "--wait", "--timeout", "2", "--api", $"http://127.0.0.1:{Azurite.FreePort()}"));
        File.Delete(file);

        Assert.Equal(1, exit);
        Assert.Contains("Uploaded", error, StringComparison.Ordinal);
        Assert.Contains("within 2 s (the API did not answer", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upload_and_wait_that_only_finds_another_versions_result_says_the_blob_was_overwritten()
    {
        await using var azurite = new Azurite();
        await azurite.StartAsync();
        const string body = """{"scanId":"s","modality":"chest","blobName":"scan.png","blobVersion":"0x8DD0000000000000","status":"scored"}""";
        await using var api = new OneAnswerServer($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}");
        var file = Path.Combine(Path.GetTempPath(), $"covidscan-other-{Guid.NewGuid():N}.png");
        File.WriteAllBytes(file, TestImages.Uniform(80));

        var (exit, _, error) = await WithStorage(azurite.ConnectionString, () => ConsoleCapture.RunAsync(
            "upload", file, "-m", "chest", "--name", "scan.png", "--wait", "--timeout", "2", "--api", api.Url));
        File.Delete(file);

        Assert.Equal(1, exit);
        Assert.Contains("another version of this blob, which was overwritten", error, StringComparison.Ordinal);
        Assert.DoesNotContain("is ./run.sh running?", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("localhost:7071")]
    [InlineData("not a url")]
    [InlineData("ftp://127.0.0.1:7071")]
    public async Task An_api_address_that_is_not_an_http_url_is_a_usage_error_naming_it(string address)
    {
        var (exit, output, error) = await ConsoleCapture.RunAsync("results", "-m", "chest", "scan.png", "--api", address);

        Assert.Equal(1, exit);
        Assert.Contains($"--api must be an http:// or https:// URL, e.g. http://127.0.0.1:7071 (got '{address}')", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", error + output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Results_print_timestamps_and_messages_as_they_are_not_as_json_escapes()
    {
        const string body = """{"blobName":"it's.png","processedAt":"2026-11-26T14:05:22+00:00"}""";
        await using var api = new OneAnswerServer($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}");

        var (exit, output, _) = await ConsoleCapture.RunAsync("results", "-m", "chest", "it's.png", "--api", api.Url);

        Assert.Equal(0, exit);
        Assert.Contains("\"processedAt\": \"2026-11-26T14:05:22+00:00\"", output, StringComparison.Ordinal);
        Assert.Contains("\"blobName\": \"it's.png\"", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "--name must not be empty.")]
    [InlineData("ward 3/", "--name must not end with '/' (got 'ward 3/')")]
    [InlineData("ward\u00013.png", "--name must not contain control characters")]
    public async Task Upload_under_a_name_blob_storage_refuses_is_a_usage_error_before_any_storage_request(string name, string message)
    {
        var file = Path.Combine(Path.GetTempPath(), $"covidscan-name-{Guid.NewGuid():N}.png");
        File.WriteAllBytes(file, TestImages.Uniform(80));
        var nowhere = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:{Azurite.FreePort()}/devstoreaccount1;";

        var (exit, _, error) = await WithStorage(nowhere, () => ConsoleCapture.RunAsync("upload", file, "-m", "chest", "--name", name));
        File.Delete(file);

        Assert.Equal(1, exit);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.DoesNotContain("Cannot reach the scan storage", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upload_of_a_file_whose_own_name_has_a_control_character_asks_for_a_name_before_any_storage_request()
    {
        var folder = Directory.CreateTempSubdirectory("covidscan-control-");
        var file = Path.Combine(folder.FullName, "scan\u0007.png");
        File.WriteAllBytes(file, TestImages.Uniform(80));

        var (exit, _, error) = await ConsoleCapture.RunAsync("upload", file, "-m", "chest");
        folder.Delete(recursive: true);

        Assert.Equal(2, exit);
        Assert.Contains("must not contain control characters (the local storage emulator cannot list a container holding one); upload it with --name", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upload_of_a_missing_file_is_a_usage_error_before_any_storage_request()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"covidscan-missing-{Guid.NewGuid():N}.png");

        var (exit, _, error) = await ConsoleCapture.RunAsync("upload", missing, "-m", "chest");

        Assert.Equal(2, exit);
        Assert.Contains($"No such file: {missing}", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upload_without_reachable_storage_says_so_instead_of_crashing()
    {
        var nowhere = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:{Azurite.FreePort()}/devstoreaccount1;";

        var file = Path.Combine(Path.GetTempPath(), $"covidscan-nowhere-{Guid.NewGuid():N}.png");
        File.WriteAllBytes(file, TestImages.Uniform(80));

        var (exit, _, error) = await WithStorage(nowhere, () => ConsoleCapture.RunAsync("upload", file, "-m", "chest"));
        File.Delete(file);

        Assert.Equal(3, exit);
        Assert.Contains("Cannot reach the scan storage", error, StringComparison.Ordinal);
    }

    /// <summary>The CLI reads its storage from AzureWebJobsStorage, as the hosts do; console tests run one at a time.</summary>
    private static async Task<T> WithStorage<T>(string connectionString, Func<Task<T>> run)
    {
        Environment.SetEnvironmentVariable("AzureWebJobsStorage", connectionString);
        try
        {
            return await run();
        }
        finally
        {
            Environment.SetEnvironmentVariable("AzureWebJobsStorage", null);
        }
    }

    /// <summary>A loopback HTTP server that answers every request with the same raw response.</summary>
    private sealed class OneAnswerServer : IAsyncDisposable
    {
        private readonly TcpListener listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource stop = new();
        private readonly Task serving;

        public OneAnswerServer(string response)
        {
            listener.Start();
            serving = ServeAsync(Encoding.ASCII.GetBytes(response));
        }

        public string Url => $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";

        /// <summary>The request line ("GET /path HTTP/1.1") of every request answered so far.</summary>
        public System.Collections.Concurrent.ConcurrentQueue<string> RequestLines { get; } = new();

        /// <summary>The header lines of every request answered so far.</summary>
        public System.Collections.Concurrent.ConcurrentQueue<string> HeaderLines { get; } = new();

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            listener.Stop();
            await serving;
            stop.Dispose();
        }

        private async Task ServeAsync(byte[] response)
        {
            try
            {
                while (true)
                {
                    using var client = await listener.AcceptTcpClientAsync(stop.Token);
                    var stream = client.GetStream();
                    var request = new byte[8192];
                    var read = 0;
                    while (!Encoding.ASCII.GetString(request, 0, read).Contains("\r\n\r\n", StringComparison.Ordinal))
                    {
                        read += await stream.ReadAsync(request.AsMemory(read), stop.Token);
                    }

                    var lines = Encoding.ASCII.GetString(request, 0, read).Split("\r\n");
                    RequestLines.Enqueue(lines[0]);
                    foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
                    {
                        HeaderLines.Enqueue(line);
                    }

                    await stream.WriteAsync(response, stop.Token);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException or IOException)
            {
            }
        }
    }
}
