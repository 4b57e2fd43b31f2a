using System.Diagnostics;
using CovidServerless.Benchmarks;

namespace CovidServerless.Benchmarks.Tests;

public sealed class CpuAffinityTests
{
    [Fact]
    public void Pinning_a_process_confines_every_one_of_its_threads_to_the_cores_given()
    {
        var lastCore = Environment.ProcessorCount - 1;
        using var process = Process.Start(new ProcessStartInfo("sleep", "30") { UseShellExecute = false })!;
        try
        {
            CpuAffinity.Pin(process.Id, [lastCore]);

            var allowed = Directory.EnumerateDirectories($"/proc/{process.Id}/task")
                .Select(task => File.ReadLines(Path.Combine(task, "status")).Single(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal)).Split(':')[1].Trim())
                .Distinct();
            Assert.Equal([lastCore.ToString(System.Globalization.CultureInfo.InvariantCulture)], allowed);
        }
        finally
        {
            process.Kill();
        }
    }
}
