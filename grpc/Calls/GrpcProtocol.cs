using System.Text;

namespace Containerd.LeanGrpc.Calls;

/// <summary>The gRPC-over-HTTP/2 details that are not HTTP/2: grpc-timeout and grpc-message encoding.</summary>
internal static class GrpcProtocol
{
    /// <summary>Received messages above this are refused (RESOURCE_EXHAUSTED): a peer cannot make the shim buffer more.</summary>
    public const int MaxReceiveMessageSize = 16 * 1024 * 1024;

    /// <summary>1 byte compressed flag + 4 byte big-endian length.</summary>
    public const int PrefixLength = 5;

    /// <summary>grpc-timeout: up to 8 ASCII digits and a unit (H M S m u n); null when absent or malformed.</summary>
    public static TimeSpan? ParseTimeout(string value)
    {
        if (value.Length < 2 || value.Length > 9 || !long.TryParse(value.AsSpan(0, value.Length - 1), System.Globalization.NumberStyles.None, null, out var amount))
            return null;
        return value[^1] switch
        {
            'H' => TimeSpan.FromHours(amount),
            'M' => TimeSpan.FromMinutes(amount),
            'S' => TimeSpan.FromSeconds(amount),
            'm' => TimeSpan.FromMilliseconds(amount),
            'u' => TimeSpan.FromTicks(amount * 10),
            'n' => TimeSpan.FromTicks(amount / 100),
            _ => null,
        };
    }

    /// <summary>grpc-message is percent-encoded UTF-8: everything outside printable ASCII, and '%' itself.</summary>
    public static string EncodeMessage(string message)
    {
        var plain = true;
        foreach (var c in message)
        {
            if (c < 0x20 || c > 0x7E || c == '%')
            {
                plain = false;
                break;
            }
        }
        if (plain)
            return message;
        var bytes = Encoding.UTF8.GetBytes(message);
        var text = new StringBuilder(bytes.Length * 3);
        foreach (var b in bytes)
        {
            if (b < 0x20 || b > 0x7E || b == '%')
                text.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            else
                text.Append((char)b);
        }
        return text.ToString();
    }
}
