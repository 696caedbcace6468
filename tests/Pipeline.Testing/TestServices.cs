namespace Pipeline.Testing;

/// <summary>A real service that the test harness (<c>./build.sh test</c>) starts on loopback.</summary>
public enum Service
{
    /// <summary>RabbitMQ; <c>PIPELINE_TEST_AMQP_URI</c>, e.g. <c>amqp://guest:guest@127.0.0.1:5673/</c>.</summary>
    RabbitMq,
    /// <summary>Mosquitto; <c>PIPELINE_TEST_MQTT</c>, <c>host:port</c>.</summary>
    Mosquitto,
    /// <summary>PostgreSQL; <c>PIPELINE_TEST_POSTGRES</c>, an Npgsql connection string.</summary>
    PostgreSql,
    /// <summary>An S3 API server (s3rver); <c>PIPELINE_TEST_S3_ENDPOINT</c>, e.g. <c>http://127.0.0.1:4569</c>.</summary>
    S3,
    /// <summary>Debian's python3 with ecCodes, xarray, zarr, cfgrib, netCDF4; <c>PIPELINE_TEST_PYTHON</c>.</summary>
    Python,
    /// <summary>Debian's headless Chromium; <c>PIPELINE_TEST_CHROMIUM</c>.</summary>
    Chromium,
}

/// <summary>
/// Where the harness's services are. The harness exports one environment variable per service and
/// <c>PIPELINE_TEST_HARNESS=1</c>; with the harness a test that needs a service runs (and fails if it cannot
/// reach it); without it, such a test is skipped with a message that says how to run it.
/// </summary>
public static class TestServices
{
    public const string HarnessVariable = "PIPELINE_TEST_HARNESS";

    public static bool UnderHarness => Environment.GetEnvironmentVariable(HarnessVariable) == "1";

    public static string VariableOf(Service service) => service switch
    {
        Service.RabbitMq => "PIPELINE_TEST_AMQP_URI",
        Service.Mosquitto => "PIPELINE_TEST_MQTT",
        Service.PostgreSql => "PIPELINE_TEST_POSTGRES",
        Service.S3 => "PIPELINE_TEST_S3_ENDPOINT",
        Service.Python => "PIPELINE_TEST_PYTHON",
        Service.Chromium => "PIPELINE_TEST_CHROMIUM",
        _ => throw new ArgumentOutOfRangeException(nameof(service), service, null),
    };

    /// <summary>The service's address. Under the harness a missing value is an error, not a skip.</summary>
    public static string Get(Service service)
    {
        var variable = VariableOf(service);
        var value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(value))
            throw new InvalidOperationException(
                $"{service} is not available: {variable} is not set. Run the tests with ./build.sh test, which starts it.");
        return value;
    }

    public static string AmqpUri => Get(Service.RabbitMq);

    public static (string Host, int Port) Mqtt
    {
        get
        {
            var value = Get(Service.Mosquitto);
            var colon = value.LastIndexOf(':');
            return (value[..colon], int.Parse(value[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    public static string PostgreSql => Get(Service.PostgreSql);

    public static string S3Endpoint => Get(Service.S3);

    /// <summary>Debian's python3, which has ecCodes, xarray, zarr, cfgrib and netCDF4 (a pyenv python3 may not).</summary>
    public static string Python => Get(Service.Python);

    /// <summary>Debian's Chromium, run headless by the status page test.</summary>
    public static string Chromium => Get(Service.Chromium);

    /// <summary>Null when every service is there (or the harness promises it); otherwise why the test is skipped.</summary>
    public static string? SkipReason(IEnumerable<Service> needs)
    {
        if (UnderHarness) return null;
        var missing = needs.Where(s => string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(VariableOf(s)))).ToList();
        if (missing.Count == 0) return null;
        return "needs " + string.Join(", ", missing.Select(s => $"{s} ({VariableOf(s)})")) +
               ": run ./build.sh test, which installs and starts them on loopback";
    }
}
