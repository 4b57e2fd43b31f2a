using CovidServerless.TestSupport;

namespace CovidServerless.Benchmarks.Tests;

/// <summary>The benchmark's command line: each option lands in <see cref="BenchSettings"/>, and nothing runs on --help or a mistake.</summary>
[Collection(ConsoleOutput.Collection)]
public sealed class BenchCommandTests : IDisposable
{
    private readonly DirectoryInfo repo = Directory.CreateTempSubdirectory("bench-repo-");

    [Fact]
    public async Task Every_option_is_passed_to_the_run_with_full_paths()
    {
        var data = repo.CreateSubdirectory("data").FullName;
        var (exit, settings, _) = await RunAsync("--quick", "--gpu", "--json", "out.json", "--models", "m/manifest.json", "--data", data);

        Assert.Equal(7, exit);
        Assert.NotNull(settings);
        Assert.True(settings.Quick);
        Assert.True(settings.Gpu);
        Assert.Equal("out.json", settings.JsonPath);
        Assert.Equal(Path.GetFullPath("m/manifest.json"), settings.ManifestPath);
        Assert.Equal(data, settings.DataFolder);
        Assert.Equal(repo.FullName, settings.RepoRoot);
    }

    [Fact]
    public async Task Without_options_it_measures_on_the_cpu_with_the_repository_manifest()
    {
        var (exit, settings, _) = await RunAsync();

        Assert.Equal(7, exit);
        Assert.NotNull(settings);
        Assert.False(settings.Quick);
        Assert.False(settings.Gpu);
        Assert.Null(settings.JsonPath);
        var expected = Environment.GetEnvironmentVariable("Models__ManifestPath") ?? Path.Combine(repo.FullName, "models", "manifest.json");
        Assert.Equal(Path.GetFullPath(expected), settings.ManifestPath);
    }

    [Fact]
    public async Task A_data_folder_that_does_not_exist_leaves_the_run_on_synthetic_scans()
    {
        var (_, explicitMissing, _) = await RunAsync("--data", Path.Combine(repo.FullName, "missing"));
        var (_, defaultMissing, _) = await RunAsync(); // the temporary repository has no ../shared/data

        Assert.Null(explicitMissing!.DataFolder);
        Assert.Null(defaultMissing!.DataFolder);
    }

    [Fact]
    public async Task Help_names_every_option_and_runs_nothing()
    {
        var (exit, settings, output) = await RunAsync("--help");

        Assert.Equal(0, exit);
        Assert.Null(settings);
        foreach (var option in new[] { "--gpu", "--quick", "--json <FILE>", "--models <MANIFEST>", "--data <SHARED_DATA>" })
        {
            Assert.Contains(option, output, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("--fast")]
    [InlineData("--json")]
    public async Task A_mistyped_or_incomplete_command_line_is_refused_and_runs_nothing(string arg)
    {
        var (exit, settings, _) = await RunAsync(arg);

        Assert.NotEqual(0, exit);
        Assert.Null(settings);
    }

    public void Dispose() => repo.Delete(recursive: true);

    private async Task<(int Exit, BenchSettings? Settings, string Output)> RunAsync(params string[] args)
    {
        BenchSettings? received = null;
        var command = BenchCommand.Create(repo.FullName, settings =>
        {
            received = settings;
            return Task.FromResult(7);
        });
        var (exit, output, error) = await ConsoleOutput.CaptureAsync(() => command.Parse(args).InvokeAsync());
        return (exit, received, output + error);
    }
}
