using Xunit;

namespace Pipeline.Testing;

/// <summary>
/// A fact that needs real services. Under the harness it always runs (an unreachable service fails it);
/// under plain <c>dotnet test</c> it is skipped with a message naming the missing services.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ServiceFactAttribute : FactAttribute
{
    public ServiceFactAttribute(params Service[] needs)
    {
        Skip = TestServices.SkipReason(needs);
    }
}

/// <summary>A theory that needs real services; see <see cref="ServiceFactAttribute"/>.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ServiceTheoryAttribute : TheoryAttribute
{
    public ServiceTheoryAttribute(params Service[] needs)
    {
        Skip = TestServices.SkipReason(needs);
    }
}

/// <summary>A fact over the shared corpus (<c>../shared/data</c>); skipped, saying so, where the corpus is absent.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class SharedDataFactAttribute : FactAttribute
{
    public SharedDataFactAttribute(params Service[] needs)
    {
        Skip = SharedData.Root is null
            ? $"the shared corpus is not here: {SharedData.Explain()}"
            : TestServices.SkipReason(needs);
    }
}

/// <summary>A theory over the shared corpus; see <see cref="SharedDataFactAttribute"/>.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class SharedDataTheoryAttribute : TheoryAttribute
{
    public SharedDataTheoryAttribute(params Service[] needs)
    {
        Skip = SharedData.Root is null
            ? $"the shared corpus is not here: {SharedData.Explain()}"
            : TestServices.SkipReason(needs);
    }
}
