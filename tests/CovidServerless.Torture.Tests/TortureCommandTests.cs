using CovidServerless.Torture;

namespace CovidServerless.Torture.Tests;

public class TortureCommandTests
{
    [Fact]
    public async Task A_work_folder_holding_an_earlier_runs_files_is_refused_before_anything_starts()
    {
        var work = Directory.CreateTempSubdirectory("covidscan-torture-used-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(work.FullName, "host.log"), "an earlier run");
            var error = new StringWriter();
            var previous = Console.Error;
            Console.SetError(error);
            int exit;
            try
            {
                exit = await TortureCommand.Create(RepoPaths.Root).Parse(["--work", work.FullName]).InvokeAsync();
            }
            finally
            {
                Console.SetError(previous);
            }

            Assert.Equal(2, exit);
            Assert.Contains($"--work {work.FullName} is not empty", error.ToString(), StringComparison.Ordinal);
            Assert.Equal(["host.log"], work.EnumerateFileSystemInfos().Select(f => f.Name)); // no Azurite data, no logs
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }
}
