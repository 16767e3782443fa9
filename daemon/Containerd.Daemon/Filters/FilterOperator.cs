namespace Containerd.Daemon.Filters;

/// <summary>How a selector compares a field with its value.</summary>
public enum FilterOperator
{
    /// <summary>Just <c>field</c>: the field is present.</summary>
    Present,

    /// <summary><c>field==value</c>: present and equal.</summary>
    Equal,

    /// <summary><c>field!=value</c>: not equal (an absent field counts as empty, as in containerd).</summary>
    NotEqual,

    /// <summary><c>field~=regex</c>: the regular expression matches somewhere in the value.</summary>
    Matches,
}
