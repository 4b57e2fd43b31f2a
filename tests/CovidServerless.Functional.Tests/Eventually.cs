using Microsoft.Extensions.Time.Testing;

namespace CovidServerless.Functional.Tests;

/// <summary>Waits for something that must come true (polling), failing with what it waited for after a bound.</summary>
internal static class Eventually
{
    public static Task UntilAsync(Func<bool> condition, string what, int withinSeconds = 30) =>
        UntilAsync(() => Task.FromResult(condition()), what, withinSeconds);

    public static async Task UntilAsync(Func<Task<bool>> condition, string what, int withinSeconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(withinSeconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Not within {withinSeconds} s: {what}.");
            }

            await Task.Delay(20);
        }
    }
}

/// <summary>
/// A fake clock that counts the timers made on it and keeps the last one's due time: a loop's waits, so a test knows
/// that a round has ended and how long the loop means to wait.
/// </summary>
internal sealed class CountingTimeProvider(DateTimeOffset start) : FakeTimeProvider(start)
{
    private int timers;
    private long lastDueTicks = -1;

    public int TimersCreated => Volatile.Read(ref timers);

    public TimeSpan? LastDueTime => Interlocked.Read(ref lastDueTicks) is >= 0 and var ticks ? TimeSpan.FromTicks(ticks) : null;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        Interlocked.Exchange(ref lastDueTicks, dueTime.Ticks);
        Interlocked.Increment(ref timers);
        return base.CreateTimer(callback, state, dueTime, period);
    }
}
