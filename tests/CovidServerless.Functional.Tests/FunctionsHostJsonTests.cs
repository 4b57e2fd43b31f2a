using System.Reflection;
using System.Text.Json.Nodes;
using CovidServerless.Functions;
using CovidServerless.TestSupport;
using Microsoft.Azure.Functions.Worker;

namespace CovidServerless.Functional.Tests;

/// <summary>The function app's host.json keeps the host's per-invocation lines at Warning but every function's own logs.</summary>
public sealed class FunctionsHostJsonTests
{
    [Fact]
    public void Every_function_s_own_logs_pass_the_host_s_log_filter_at_information()
    {
        var functions = typeof(RetentionFunctions).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods())
            .Select(m => m.GetCustomAttribute<FunctionAttribute>()?.Name)
            .OfType<string>()
            .ToList();
        var levels = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "functions", "CovidServerless.Functions", "host.json")))!["logging"]!["logLevel"]!;

        Assert.Contains("SweepExpiredResults", functions);
        Assert.Equal("Warning", levels["Function"]!.GetValue<string>());
        Assert.All(functions, name => Assert.Equal("Information", levels[$"Function.{name}.User"]?.GetValue<string>()));
    }
}
