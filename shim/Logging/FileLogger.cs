using Microsoft.Extensions.Logging;

namespace Containerd.Shim.Logging;

/// <summary>One category's logger; the provider does the writing.</summary>
internal sealed class FileLogger(FileLoggerProvider provider, string category) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    // Level filtering is done by the logging framework (SetMinimumLevel / AddFilter).
    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
            return;
        provider.Write(logLevel, category, formatter(state, exception), state as IEnumerable<KeyValuePair<string, object?>>, exception);
    }
}
