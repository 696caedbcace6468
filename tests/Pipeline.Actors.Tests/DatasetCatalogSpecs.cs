using Pipeline.Actors.Catalog;
using Pipeline.Actors.Contracts;
using System.Text;
using Microsoft.Extensions.Configuration;
using Pipeline.Actors.Persistence;
using Xunit;
using static Pipeline.Actors.Tests.Fixtures;

namespace Pipeline.Actors.Tests;

public sealed class DatasetCatalogSpecs
{
    [Fact]
    public void Should_map_a_path_to_run_variable_and_step_when_the_rule_has_date_and_run_groups()
    {
        var dataset = CatalogOf().Get(new DatasetId(DatasetName));

        var r = dataset.Classify("20261101/12/TMP_P024.grib2");

        Assert.Equal(new FileClassification(Run with { ReferenceTime = RefTime.AddHours(12) }, "TMP", "024", "TMP/024"), r.File);
    }

    [Fact]
    public void Should_parse_a_reftime_group_with_the_configured_format()
    {
        var catalog = CatalogOf(DatasetOptions() with
        {
            PathPatterns = [@"cansips_(?<reftime>\d{4}-\d{2})_(?<var>\w+)\.grib2$"],
            ReferenceTimeFormats = ["yyyy-MM"],
        });

        var r = catalog.Get(new DatasetId(DatasetName)).Classify("model/cansips_2026-11_TMP.grib2");

        Assert.Equal(RefTime, r.File!.RunId.ReferenceTime);
        Assert.Equal("model/cansips_2026-11_TMP.grib2", r.File.Key);
    }

    [Theory]
    [InlineData("20261101/00/readme.txt", "matches none")]
    [InlineData("20261301/00/TMP_P000.grib2", "is not yyyyMMdd")]
    [InlineData("20261101/25/TMP_P000.grib2", "not a time of day")]
    public void Should_explain_the_rejection_naming_dataset_and_path_when_a_path_does_not_fit(string path, string why)
    {
        var r = CatalogOf().Get(new DatasetId(DatasetName)).Classify(path);

        Assert.Null(r.File);
        Assert.Contains(why, r.Error);
        Assert.Contains(path, r.Error);
        Assert.Contains(DatasetName, r.Error);
    }

    [Fact]
    public void Should_name_every_bad_key_when_the_configuration_is_invalid()
    {
        var options = new DatasetCatalogOptions
        {
            Datasets =
            [
                new DatasetOptions { Id = "a/b", PathPatterns = ["(unclosed"] },
                DatasetOptions() with
                {
                    PathPatterns = [@"(?<var>\w+)"],
                    Completeness = new CompletenessOptions { ExpectedCount = 0 },
                    Outputs = new OutputOptions { Trigger = new WebhookOptions { Preset = WebhookOptions.GitHubRepositoryDispatchPreset } },
                },
                DatasetOptions() with { Outputs = new OutputOptions { Trigger = new WebhookOptions { Preset = "carrier-pigeon" } } },
            ],
        };

        var e = Assert.Throws<DatasetCatalogException>(() => DatasetCatalog.Create(options));

        Assert.Contains(e.Errors, m => m.StartsWith("Pipeline:Datasets:0:Id:") && m.Contains("'/'"));
        Assert.Contains(e.Errors, m => m.StartsWith("Pipeline:Datasets:0:PathPatterns:0:") && m.Contains("not a regular expression"));
        Assert.Contains(e.Errors, m => m.StartsWith("Pipeline:Datasets:0:Completeness:"));
        Assert.Contains(e.Errors, m => m.StartsWith("Pipeline:Datasets:1:PathPatterns:0:") && m.Contains("reftime"));
        Assert.Contains(e.Errors, m => m.StartsWith("Pipeline:Datasets:1:Completeness:ExpectedCount:"));
        Assert.Contains(e.Errors, m => m.StartsWith("Pipeline:Datasets:1:Outputs:Trigger:Repository:"));
        Assert.Contains(e.Errors, m => m.StartsWith("Pipeline:Datasets:2:Id:") && m.Contains("twice"));
        Assert.Contains(e.Errors, m => m.StartsWith("Pipeline:Datasets:2:Outputs:Trigger:Preset:") && m.Contains("carrier-pigeon"));
        Assert.False(new DatasetCatalogValidator().Validate(null, options).Succeeded);
    }

    [Fact]
    public void Should_name_the_key_and_the_allowed_values_when_the_file_zarr_mode_is_unknown()
    {
        var options = new DatasetCatalogOptions { Datasets = [DatasetOptions() with { Outputs = new OutputOptions { FileZarr = "chunks" } }] };

        var e = Assert.Throws<DatasetCatalogException>(() => DatasetCatalog.Create(options));

        var error = Assert.Single(e.Errors, m => m.StartsWith("Pipeline:Datasets:0:Outputs:FileZarr:"));
        Assert.Contains("full or staging", error);
        Assert.Contains("'chunks'", error);
        Assert.Equal(FileZarrModes.Staging, DatasetCatalog.Create(new DatasetCatalogOptions
        {
            Datasets = [DatasetOptions() with { Outputs = new OutputOptions { FileZarr = "Staging" } }],
        }).Get(new DatasetId(DatasetName)).Options.Outputs.FileZarr.ToLowerInvariant());
    }

    [Fact]
    public void Should_find_the_dataset_whose_rules_match_when_several_are_configured()
    {
        var catalog = CatalogOf(DatasetOptions(), DatasetOptions(id: "other") with { PathPatterns = [@"^other/(?<reftime>\d{10})/"] });

        var (dataset, file) = catalog.Match("other/2026110106/x.nc");

        Assert.Equal("other", dataset!.Id.Value);
        Assert.Equal(RefTime.AddHours(6), file!.RunId.ReferenceTime);
        Assert.Throws<KeyNotFoundException>(() => catalog.Get(new DatasetId("missing")));
    }

    [Fact]
    public void Should_bind_the_documented_appsettings_shape_when_read_from_json()
    {
        const string json = """
            {
              "Pipeline": {
                "Persistence": { "Provider": "PostgreSql", "ConnectionString": "Host=db;Database=pipeline", "JournalBatchSize": 200 },
                "Datasets": [
                  {
                    "Id": "msc.cansips.forecast.raw",
                    "PathPatterns": [ "cansips_forecast_raw_latlon[^_]*_(?<var>[A-Z]+)_.*_(?<reftime>\\d{4}-\\d{2})_allmembers\\.grib2$" ],
                    "ReferenceTimeFormats": [ "yyyy-MM" ],
                    "Completeness": { "ExpectedCount": 2, "QuietPeriod": "00:30:00" },
                    "Fetch": { "MaxAttempts": 5, "RetryDelay": "00:01:00", "Settings": { "UserAgent": "pipeline" } },
                    "Outputs": {
                      "Store": "s3://bucket/cansips", "Format": "zarr3", "WnmTopic": "origin/a/wis2/ca-eccc-msc/data/core/weather",
                      "Trigger": { "Preset": "github-repository-dispatch", "Repository": "octo/forecasts", "EventType": "cansips", "TokenVariable": "GITHUB_TOKEN" }
                    }
                  }
                ]
              }
            }
            """;
        var config = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();

        var options = config.GetSection(DatasetCatalogOptions.Section).Get<DatasetCatalogOptions>()!;
        var persistence = config.GetSection(PipelinePersistenceOptions.Section).Get<PipelinePersistenceOptions>()!;
        var catalog = DatasetCatalog.Create(options);

        var d = Assert.Single(catalog.All);
        Assert.Equal((2, TimeSpan.FromMinutes(30), 5), (d.Options.Completeness.ExpectedCount, d.Options.Completeness.QuietPeriod, d.Options.Fetch.MaxAttempts));
        Assert.Equal("pipeline", d.Options.Fetch.Settings["UserAgent"]);
        Assert.Equal("octo/forecasts", d.Options.Outputs.Trigger!.Repository);
        var file = d.Classify("20261101T00Z/cansips_forecast_raw_latlon1.0x1.0_TMP_TGL_2m_2026-11_allmembers.grib2").File!;
        Assert.Equal(("msc.cansips.forecast.raw/2026-11-01T00Z", "TMP"), (file.RunId.ToString(), file.Variable));
        Assert.Equal((PersistenceProvider.PostgreSql, 200), (persistence.Provider, persistence.JournalBatchSize));
    }
}
