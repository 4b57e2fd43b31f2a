using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace CovidServerless.Functional.Tests;

/// <summary>Collects the formatted messages logged at Information and above, for tests that wait on one.</summary>
public sealed class LogMessages : ILoggerProvider
{
    private readonly ConcurrentQueue<string> messages = new();

    public IReadOnlyCollection<string> All => messages;

    public async Task WaitForAsync(Func<string, bool> match, int withinSeconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(withinSeconds);
        while (!messages.Any(match))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"No such log message within {withinSeconds} s; logged: {string.Join(" | ", messages)}");
            }

            await Task.Delay(20);
        }
    }

    public ILogger CreateLogger(string categoryName) => new Collector(messages);

    public void Dispose()
    {
    }

    private sealed class Collector(ConcurrentQueue<string> messages) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                messages.Enqueue(formatter(state, exception));
            }
        }
    }
}
