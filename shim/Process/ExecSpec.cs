using System.Text.Json;
using Containerd.Api.Types;

namespace Containerd.Shim.Process;

/// <summary>
/// What the shim needs from an OCI process spec (the JSON runc exec is given):
/// enough to validate it and to describe the process in Processes/State.
/// </summary>
internal sealed class ExecSpec
{
    private ExecSpec(string[] args, string[] env, string cwd, bool terminal, User? user)
    {
        Args = args;
        Env = env;
        Cwd = cwd;
        Terminal = terminal;
        User = user;
    }

    public string[] Args { get; }

    public string[] Env { get; }

    public string Cwd { get; }

    public bool Terminal { get; }

    public User? User { get; }

    /// <summary>Returns null and a reason when the bytes are not a JSON object with a non-empty string array "args".</summary>
    public static ExecSpec? TryParse(ReadOnlyMemory<byte> json, out string? problem)
    {
        problem = null;
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problem = "the process spec is not a JSON object";
                return null;
            }
            if (!root.TryGetProperty("args", out var argsElement) || argsElement.ValueKind != JsonValueKind.Array
                || argsElement.GetArrayLength() == 0)
            {
                problem = "the process spec needs a non-empty \"args\" array";
                return null;
            }
            var args = Strings(argsElement, "args", out problem);
            if (args is null)
                return null;
            var env = root.TryGetProperty("env", out var envElement) && envElement.ValueKind == JsonValueKind.Array
                ? Strings(envElement, "env", out problem)
                : [];
            if (env is null)
                return null;
            var cwd = root.TryGetProperty("cwd", out var cwdElement) && cwdElement.ValueKind == JsonValueKind.String
                ? cwdElement.GetString() ?? ""
                : "";
            var terminal = root.TryGetProperty("terminal", out var terminalElement)
                && terminalElement.ValueKind == JsonValueKind.True;
            User? user = null;
            if (root.TryGetProperty("user", out var userElement) && userElement.ValueKind == JsonValueKind.Object)
            {
                if (Id(userElement, "uid", out problem) is not { } uid || Id(userElement, "gid", out problem) is not { } gid)
                    return null;
                user = new User { Uid = uid, Gid = gid };
                if (userElement.TryGetProperty("additionalGids", out var gids) && gids.ValueKind == JsonValueKind.Array)
                {
                    foreach (var extra in gids.EnumerateArray())
                    {
                        if (extra.ValueKind != JsonValueKind.Number)
                        {
                            problem = "the process spec's \"user.additionalGids\" must hold only numbers";
                            return null;
                        }
                        if (extra.TryGetUInt32(out var value))
                            user.AdditionalGids.Add(value);
                    }
                }
            }
            return new ExecSpec(args, env, cwd, terminal, user);
        }
        catch (JsonException e)
        {
            problem = $"the process spec is not valid JSON: {e.Message}";
            return null;
        }
        catch (InvalidOperationException e)
        {
            // System.Text.Json reports a string that is not UTF-8 only when it is read.
            problem = $"the process spec is not valid UTF-8 JSON: {e.Message}";
            return null;
        }
    }

    private static string[]? Strings(JsonElement array, string name, out string? problem)
    {
        problem = null;
        var result = new string[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                problem = $"the process spec's \"{name}\" must hold only strings";
                return null;
            }
            result[i++] = item.GetString()!;
        }
        return result;
    }

    /// <summary>A uid or gid: absent is 0 (root, as runc reads it); present, it must be a number.</summary>
    private static uint? Id(JsonElement user, string name, out string? problem)
    {
        problem = null;
        if (!user.TryGetProperty(name, out var value))
            return 0;
        // Read as 0 (root), a negative or fractional id would run the process as root.
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetUInt32(out var number))
        {
            problem = $"the process spec's \"user.{name}\" must be a number from 0 to 4294967295";
            return null;
        }
        return number;
    }
}
