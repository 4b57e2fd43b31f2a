using System.Collections;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using CovidServerless.Core.Results;
using CovidServerless.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace CovidServerless.Functional.Tests;

/// <summary>
/// A patient-named blob goes through the local host (uploaded, scored, looked up by every results route, and once
/// rejected), with every log, span and metric the host exports captured in memory at Debug level: the name appears
/// in none of them.
/// </summary>
[Collection(ProcessWideTracing.Name)]
public sealed class TelemetryCanaryTests : IAsyncLifetime
{
    private const string Canary = "Jane-Doe-canary";
    private readonly CanaryPipeline pipeline = new();

    public Task InitializeAsync() => pipeline.InitializeAsync();

    public Task DisposeAsync() => pipeline.DisposeAsync();

    [Fact]
    public async Task A_patient_named_scan_scored_rejected_and_looked_up_leaves_its_name_in_no_exported_log_span_or_metric()
    {
        await pipeline.UploadAsync("chest", $"{Canary}.png", TestImages.Uniform(120));
        await pipeline.UploadAsync("chest", $"ward3/{Canary}-bad.png", [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        var scored = await pipeline.WaitForResultAsync("chest", $"{Canary}.png");
        var rejected = await pipeline.WaitForResultAsync("chest", $"ward3/{Canary}-bad.png");
        var responses = new List<HttpResponseMessage>();
        foreach (var route in new[]
        {
            $"/api/scans/chest/{Canary}.png", $"/api/scans/chest/{Canary}.png?history=true", $"/api/scans/chest/ward3/{Canary}-bad.png",
            "/api/scans", "/api/scans?modality=chest", $"/api/scans/chest/{Canary}-never-uploaded.png", "/api/models", "/api/health",
        })
        {
            responses.Add(await pipeline.Http.GetAsync(route));
        }

        var notFound = Assert.Single(responses, r => r.StatusCode == HttpStatusCode.NotFound);
        var records = pipeline.Exported();

        Assert.Equal((ScanStatus.Scored, ScanStatus.Rejected), (scored.Status, rejected.Status));
        Assert.DoesNotContain(Canary, await notFound.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);

        // The exporters saw the work: the scans' log lines (by id), the results API's spans, the pipeline's counter.
        Assert.Contains(records, r => r.StartsWith("log:", StringComparison.Ordinal) && r.Contains(scored.ScanId, StringComparison.Ordinal));
        Assert.Contains(records, r => r.StartsWith("log:", StringComparison.Ordinal) && r.Contains(rejected.ScanId, StringComparison.Ordinal));
        Assert.Contains(records, r => r.StartsWith("span:", StringComparison.Ordinal) && r.Contains("/api/scans/{modality}/{**blobName}", StringComparison.Ordinal));
        Assert.Contains(records, r => r.StartsWith("span:ProcessScan", StringComparison.Ordinal));
        Assert.Contains(records, r => r.StartsWith("metric:", StringComparison.Ordinal) && r.Contains("http.route", StringComparison.Ordinal));

        Assert.All(records, record => Assert.DoesNotContain(Canary, record, StringComparison.OrdinalIgnoreCase));
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task A_dicom_slice_whose_header_names_a_patient_leaves_its_uids_in_results_and_nothing_else_of_its_header_anywhere()
    {
        // Distinctive header values: the name is also written inside a nested sequence, the birth date is a date.
        string[] header = ["Zebediah^Quux^Canary", "ZQX-7734-CANARY", "19470101"];
        var series = $"1.2.826.0.1.3680043.2.1125.8.{Random.Shared.Next()}";
        var slice = new DicomSpec(64, 64, [.. Enumerable.Range(0, 64 * 64).Select(i => (i * 7) % 256)])
        {
            Modality = "CT",
            PatientName = header[0],
            PatientId = header[1],
            WindowCenter = "128",
            WindowWidth = "256",
            SeriesInstanceUid = series,
        };
        await pipeline.UploadAsync("ct", "series/slice1.dcm", DicomWriter.Write(slice, DicomWriter.ExplicitLittle));
        await pipeline.UploadAsync("ct", "series/slice2.dcm", DicomWriter.Write(slice with { SopInstanceUid = $"{series}.2" }, DicomWriter.Deflated));
        await pipeline.UploadAsync("ct", "series/mr.dcm", DicomWriter.Write(slice with { Modality = "MR", SopInstanceUid = $"{series}.3" }, DicomWriter.Rle));
        var scored = await pipeline.WaitForResultAsync("ct", "series/slice1.dcm");
        var rejected = await pipeline.WaitForResultAsync("ct", "series/mr.dcm");
        await pipeline.WaitForResultAsync("ct", "series/slice2.dcm");
        var seriesBody = await WaitForSeriesAsync(series);

        var bodies = new List<string> { seriesBody };
        foreach (var route in new[]
        {
            $"/api/results/{scored.ScanId}", $"/api/results/{rejected.ScanId}", $"/api/results/{scored.ScanId}/image", "/api/scans/ct/series/slice1.dcm",
            "/api/scans/ct/series/mr.dcm?history=true", "/api/scans?modality=ct", $"/api/series/{series}", "/api/series/1.2.3.404",
        })
        {
            using var response = await pipeline.Http.GetAsync(route);
            bodies.Add(System.Text.Encoding.Latin1.GetString(await response.Content.ReadAsByteArrayAsync()));
        }

        var messages = new StorageHarness(pipeline.Azurite);
        var queued = (await messages.ResultMessagesAsync()).Select(m => m.ToJson()).Concat(messages.SeriesMessages).ToList();
        var rows = new List<string>();
        await foreach (var row in messages.Clients.Tables.GetTableClient("ScanResults").QueryAsync<Azure.Data.Tables.TableEntity>())
        {
            rows.Add(string.Join(' ', row.Select(p => $"{p.Key}={p.Value}")));
        }

        var records = pipeline.Exported();

        Assert.Equal(ScanStatus.Scored, scored.Status);
        Assert.Equal((slice.StudyInstanceUid, series, slice.SopInstanceUid), (scored.Dicom?.StudyInstanceUid, scored.Dicom?.SeriesInstanceUid, scored.Dicom?.SopInstanceUid));
        Assert.Equal(ScanStatus.Rejected, rejected.Status);
        Assert.Equal(series, rejected.Dicom?.SeriesInstanceUid);
        Assert.Contains("\"kind\":\"series\"", seriesBody, StringComparison.Ordinal);
        Assert.Contains(queued, q => q.Contains(series, StringComparison.Ordinal) && q.Contains("\"kind\":\"series\"", StringComparison.Ordinal));
        Assert.Contains(records, r => r.StartsWith("log:", StringComparison.Ordinal) && r.Contains(scored.ScanId, StringComparison.Ordinal));
        Assert.Contains(records, r => r.StartsWith("span:AggregateSeries", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.Contains(series, StringComparison.Ordinal));
        foreach (var canary in header)
        {
            Assert.All(bodies, body => Assert.DoesNotContain(canary, body, StringComparison.OrdinalIgnoreCase));
            Assert.All(queued, message => Assert.DoesNotContain(canary, message, StringComparison.OrdinalIgnoreCase));
            Assert.All(rows, row => Assert.DoesNotContain(canary, row, StringComparison.OrdinalIgnoreCase));
            Assert.All(records, record => Assert.DoesNotContain(canary, record, StringComparison.OrdinalIgnoreCase));
        }
    }

    /// <summary>Polls GET /api/series/{uid} until the host's series loop (quiet period 1 s here) has written the result.</summary>
    private async Task<string> WaitForSeriesAsync(string seriesInstanceUid)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            using var response = await pipeline.Http.GetAsync($"/api/series/{seriesInstanceUid}");
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return await response.Content.ReadAsStringAsync();
            }

            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            await Task.Delay(250);
        }

        throw new TimeoutException("No series result within 60 s.");
    }

    /// <summary>The local pipeline with Debug logging and in-memory exporters on its OpenTelemetry providers.</summary>
    private sealed class CanaryPipeline : LocalPipeline
    {
        private readonly ConcurrentQueue<string> logs = new();
        private readonly LockedList<Activity> spans = new();
        private readonly LockedList<MetricSnapshot> metrics = new();

        protected override Task<IDictionary<string, string?>> HostSettingsAsync() =>
            Task.FromResult<IDictionary<string, string?>>(new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Debug",
                ["Series:QuietPeriodSeconds"] = "1",
                ["Series:PollSeconds"] = "1",
            });

        protected override void ConfigureServices(IServiceCollection services)
        {
            services.Configure<OpenTelemetryLoggerOptions>(options => options.AddProcessor(new LogText(logs)));
            services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(spans));
            services.ConfigureOpenTelemetryMeterProvider(meters => meters.AddInMemoryExporter(metrics));
        }

        /// <summary>Every exported record as text ("log:", "span:", "metric:" and what an exporter would send).</summary>
        public List<string> Exported()
        {
            Services.GetRequiredService<TracerProvider>().ForceFlush();
            Services.GetRequiredService<MeterProvider>().ForceFlush();
            return [.. logs, .. spans.Snapshot().Select(SpanText), .. metrics.Snapshot().Select(MetricText)];
        }

        private static string SpanText(Activity span)
        {
            var text = new StringBuilder($"span:{span.DisplayName} {span.OperationName} {span.StatusDescription}");
            foreach (var (key, value) in span.TagObjects)
            {
                text.Append(System.Globalization.CultureInfo.InvariantCulture, $" {key}={value}");
            }

            foreach (var e in span.Events)
            {
                text.Append(" event:").Append(e.Name);
                foreach (var (key, value) in e.Tags)
                {
                    text.Append(System.Globalization.CultureInfo.InvariantCulture, $" {key}={value}");
                }
            }

            foreach (var (key, value) in span.Baggage)
            {
                text.Append(System.Globalization.CultureInfo.InvariantCulture, $" baggage {key}={value}");
            }

            return text.ToString();
        }

        private static string MetricText(MetricSnapshot metric)
        {
            var text = new StringBuilder($"metric:{metric.Name} {metric.Description} {metric.Unit} {metric.MeterName}");
            foreach (var point in metric.MetricPoints)
            {
                foreach (var tag in point.Tags)
                {
                    text.Append(System.Globalization.CultureInfo.InvariantCulture, $" {tag.Key}={tag.Value}");
                }
            }

            return text.ToString();
        }
    }

    /// <summary>
    /// Writes each log record down as the OTLP exporter would send it (message, template, attributes, scopes,
    /// exception), when it is emitted: the SDK reuses LogRecord objects, so they cannot be kept.
    /// </summary>
    private sealed class LogText(ConcurrentQueue<string> into) : BaseProcessor<LogRecord>
    {
        public override void OnEnd(LogRecord data)
        {
            var text = new StringBuilder($"log:{data.CategoryName} {data.EventId.Name} {data.FormattedMessage} {data.Body}");
            foreach (var (key, value) in data.Attributes ?? [])
            {
                text.Append(System.Globalization.CultureInfo.InvariantCulture, $" {key}={value}");
            }

            data.ForEachScope<object?>((scope, _) =>
            {
                text.Append(" scope:").Append(scope.Scope);
                foreach (var (key, value) in scope)
                {
                    text.Append(System.Globalization.CultureInfo.InvariantCulture, $" {key}={value}");
                }
            }, null);
            text.Append(' ').Append(data.Exception);
            into.Enqueue(text.ToString());
        }
    }

    /// <summary>A list the exporters may add to from several threads at once.</summary>
    private sealed class LockedList<T> : ICollection<T>
    {
        private readonly List<T> items = [];

        public int Count
        {
            get
            {
                lock (items)
                {
                    return items.Count;
                }
            }
        }

        public bool IsReadOnly => false;

        public List<T> Snapshot()
        {
            lock (items)
            {
                return [.. items];
            }
        }

        public void Add(T item)
        {
            lock (items)
            {
                items.Add(item);
            }
        }

        public void Clear()
        {
            lock (items)
            {
                items.Clear();
            }
        }

        public bool Contains(T item) => Snapshot().Contains(item);

        public void CopyTo(T[] array, int arrayIndex) => Snapshot().CopyTo(array, arrayIndex);

        public bool Remove(T item)
        {
            lock (items)
            {
                return items.Remove(item);
            }
        }

        public IEnumerator<T> GetEnumerator() => Snapshot().GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
