using System.Net.Http.Headers;

namespace Pipeline.Testing;

/// <summary>Polls until a condition holds, with a generous deadline (the machine may be loaded); never a fixed sleep.</summary>
public static class Eventually
{
    public static async Task<T> HoldsAsync<T>(Func<Task<T>> probe, Func<T, bool> condition, TimeSpan? within = null, string? what = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(60));
        T last;
        while (true)
        {
            try
            {
                last = await probe();
                if (condition(last)) return last;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                last = default!;
            }
            if (DateTime.UtcNow >= deadline)
                throw new TimeoutException($"{what ?? "condition"} did not hold within {within ?? TimeSpan.FromSeconds(60)}; last value: {last}");
            await Task.Delay(100);
        }
    }
}

/// <summary>An HttpClient for a node's management API, optionally with a bearer token.</summary>
public static class ManagementHttp
{
    public static HttpClient Client(Uri baseAddress, string? token = null)
    {
        var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (token is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}
