using CovidServerless.TestSupport;
using CovidServerless.Torture;

namespace CovidServerless.Torture.Tests;

[Collection(ConsoleOutput.Collection)]
public class TortureCommandTests
{
    [Fact]
    public async Task A_work_folder_holding_an_earlier_runs_files_is_refused_before_anything_starts()
    {
        var work = Directory.CreateTempSubdirectory("covidscan-torture-used-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(work.FullName, "host.log"), "an earlier run");

            // --scans 1 is refused too, with another message: without the check the test fails at once, not after a run.
            var (exit, _, error) = await ConsoleOutput.CaptureAsync(
                () => TortureCommand.Create(RepoPaths.Root).Parse(["--work", work.FullName, "--scans", "1"]).InvokeAsync());

            Assert.Equal(2, exit);
            Assert.Contains($"--work {work.FullName} is not empty", error, StringComparison.Ordinal);
            Assert.Equal(["host.log"], work.EnumerateFileSystemInfos().Select(f => f.Name)); // no Azurite data, no logs
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }
}
