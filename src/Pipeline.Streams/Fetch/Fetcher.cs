using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pipeline.Streams.Fetch;

/// <summary>
/// The fetch core, without streams: polite (per-host rate, connections, bandwidth, urgent first), persistent (retries
/// by error class until a deadline), resumable (Range + If-Range), verified (size, checksum, signature) and atomic
/// (content-addressed cache, temp file + rename). Concurrent fetches of the same URL share one download.
/// Thread-safe; one instance per process (it owns the HttpClient).
/// </summary>
public sealed class Fetcher : IAsyncDisposable
{
    public const string MeterName = "Pipeline.Fetch";
    private const int BufferSize = 64 * 1024;
    private const int MaxIdxLength = 16 << 20;

    private readonly FetchSettings _settings;
    private readonly HttpTransport _http;
    private readonly IS3ObjectReader? _s3;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<string, HostGate> _gates = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, Task<Outcome>> _inFlight = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _lifetime = new();
    private readonly BlockingIoScheduler _io = new(Math.Clamp(Environment.ProcessorCount * 2, 4, 16), "fetch-io");
    private readonly Counter<long> _attempts;
    private readonly Counter<long> _bytes;
    private readonly Counter<long> _outcomes;
    private readonly Histogram<double> _duration;

    public Fetcher(FetchSettings settings, ILoggerFactory? loggers = null, IS3ObjectReader? s3 = null,
        TimeProvider? time = null, HttpMessageHandler? handler = null)
    {
        _settings = settings.EnsureValid();
        Cache = new ContentCache(settings.CacheDirectory);
        Cache.DeleteStalePartials(TimeSpan.FromHours(1));
        _http = new HttpTransport(settings, handler);
        _s3 = s3;
        _time = time ?? TimeProvider.System;
        _log = (loggers ?? NullLoggerFactory.Instance).CreateLogger("Pipeline.Fetch");
        Meter = new Meter(MeterName, "0.1");
        _attempts = Meter.CreateCounter<long>("pipeline.fetch.attempts", "{attempt}", "HTTP/S3 attempts by host and result");
        _bytes = Meter.CreateCounter<long>("pipeline.fetch.bytes", "By", "Body bytes received by host");
        _outcomes = Meter.CreateCounter<long>("pipeline.fetch.outcomes", "{file}", "Files finished by dataset and outcome");
        _duration = Meter.CreateHistogram<double>("pipeline.fetch.duration", "s", "Time from first attempt to outcome");
    }

    /// <summary>This fetcher's meter (name <see cref="MeterName"/>).</summary>
    public Meter Meter { get; }

    public ContentCache Cache { get; }

    public FetchSettings Settings => _settings;

    /// <summary>
    /// Fetches one file to its outcome. Never throws for a failed fetch: the failure is a
    /// <see cref="FetchResult.Failed"/> naming its class and reason. Cancelling <paramref name="ct"/> abandons the wait
    /// (a shared download continues for the other requesters).
    /// </summary>
    public async Task<FetchResult> FetchAsync(FetchRequest request, CancellationToken ct = default)
    {
        var options = _settings.For(request.Dataset);
        if (options is null)
            return Finish(request, new Outcome.Fail(0, FetchErrorClass.Refused, $"dataset '{request.Dataset}' has no fetch options and there are no defaults"), 0);
        var refusal = CheckLocation(request.Announcement.Location, options);
        if (refusal is not null)
            return Finish(request, new Outcome.Fail(0, FetchErrorClass.Refused, refusal), 0);

        var key = request.Announcement.Location.AbsoluteUri + (request.GribMatch is null ? "" : "#match=" + request.GribMatch);
        var started = _time.GetTimestamp();
        var mine = new TaskCompletionSource<Outcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        var task = _inFlight.GetOrAdd(key, mine.Task);
        if (ReferenceEquals(task, mine.Task))
            RunShared(key, request, options, mine);
        else
            _log.LogDebug("Fetch {Url} joins a download already in flight", key);
        try
        {
            var outcome = await task.WaitAsync(ct).ConfigureAwait(false);
            return Finish(request, outcome, _time.GetElapsedTime(started).TotalSeconds);
        }
        catch (OperationCanceledException)
        {
            return Finish(request, new Outcome.Fail(0, FetchErrorClass.Cancelled, "cancelled while fetching"), _time.GetElapsedTime(started).TotalSeconds);
        }
    }

    private void RunShared(string key, FetchRequest request, FetchOptions options, TaskCompletionSource<Outcome> tcs)
    {
        // Started only by the requester whose task won the in-flight slot: one download per key.
        _ = Task.Run(async () =>
        {
            Outcome outcome;
            try
            {
                outcome = await RunAsync(key, request, options, _lifetime.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_lifetime.IsCancellationRequested)
            {
                outcome = new Outcome.Fail(0, FetchErrorClass.Cancelled, "fetcher shut down");
            }
            catch (Exception e)
            {
                _log.LogError(e, "Fetch {Url} failed unexpectedly", key);
                outcome = new Outcome.Fail(0, FetchErrorClass.Transient, $"unexpected {e.GetType().Name}: {e.Message}");
            }
            _inFlight.TryRemove(key, out _);
            tcs.SetResult(outcome);
        });
    }

    private FetchResult Finish(FetchRequest request, Outcome outcome, double seconds)
    {
        FetchResult result = outcome switch
        {
            Outcome.File f => new FetchResult.Cached(request, f.Attempts, f.Path, f.Size, f.Sha256Hex),
            Outcome.Memory m => new FetchResult.InMemory(request, m.Attempts, m.Data, m.Sha256Hex),
            Outcome.Fail x => new FetchResult.Failed(request, x.Attempts, x.Error, x.Reason),
            _ => throw new UnreachableException(),
        };
        var label = result is FetchResult.Failed failed ? failed.Error.ToString() : "ok";
        _outcomes.Add(1, new KeyValuePair<string, object?>("dataset", request.Dataset), new KeyValuePair<string, object?>("outcome", label));
        _duration.Record(seconds, new KeyValuePair<string, object?>("outcome", label));
        if (result is FetchResult.Failed { Error: FetchErrorClass.NotYetPublished } notYet)
            _log.LogInformation("Fetch {Url} for {Dataset}: not published yet ({Reason})", request.Announcement.Location, request.Dataset, notYet.Reason);
        else if (result is FetchResult.Failed fail)
            _log.LogWarning("Fetch {Url} for {Dataset} failed ({Error}) after {Attempts} attempts: {Reason}",
                request.Announcement.Location, request.Dataset, fail.Error, fail.Attempts, fail.Reason);
        else
            _log.LogInformation("Fetch {Url} for {Dataset} ok after {Attempts} attempts", request.Announcement.Location, request.Dataset, result.Attempts);
        return result;
    }

    /// <summary>Null when the location may be fetched under these options, else why not.</summary>
    internal string? CheckLocation(Uri uri, FetchOptions options)
    {
        if (!uri.IsAbsoluteUri) return $"location '{uri}' is not absolute";
        if (uri.Scheme is not ("http" or "https" or "s3"))
            return $"scheme '{uri.Scheme}' of {uri} is not allowed (only http, https, s3)";
        var host = uri.Scheme == "s3" ? uri.Authority : uri.IdnHost;
        if (string.IsNullOrEmpty(host)) return $"location {uri} has no host";
        if (!options.AllowsHost(host))
            return $"host '{host}' of {uri} is not on the dataset's allow-list";
        if (uri.Scheme == "s3" && _s3 is null) return $"s3 location {uri} but no S3 reader is configured";
        if (!string.IsNullOrEmpty(uri.UserInfo)) return $"location {uri.Host} carries credentials in its URI";
        return null;
    }

    /// <summary>Requests waiting for a connection slot of <paramref name="host"/> (diagnostics, tests).</summary>
    internal int WaitingFor(string host) => _gates.TryGetValue(host, out var g) ? g.Waiting : 0;

    private HostGate GateFor(string host, FetchOptions options) =>
        _gates.GetOrAdd(host, static (h, s) => new HostGate(h,
            s.Self._settings.Hosts.TryGetValue(h, out var l) ? l : s.Options.Limits, s.Self._time), (Self: this, Options: options));

    // ---------------------------------------------------------------- the retry loop

    private async Task<Outcome> RunAsync(string key, FetchRequest request, FetchOptions options, CancellationToken ct)
    {
        var uri = request.Announcement.Location;
        var state = new DownloadState(Path.Combine(Cache.TempDirectory, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key))) + ".part"));
        File.Delete(state.PartPath); // a part file without its validator cannot be resumed safely
        var start = _time.GetTimestamp();
        var notFoundDelay = options.NotFoundInitialDelay;
        int attempts = 0, transient = 0, corrupt = 0;
        try
        {
            while (true)
            {
                attempts++;
                Step step;
                try
                {
                    step = await AttemptAsync(request, options, state, ct).ConfigureAwait(false);
                }
                catch (Exception e) when (!ct.IsCancellationRequested && Classify(e) is { } c)
                {
                    step = c;
                }
                _attempts.Add(1, new KeyValuePair<string, object?>("host", HostOf(uri)), new KeyValuePair<string, object?>("result", step.Kind.ToString()));
                TimeSpan delay;
                switch (step.Kind)
                {
                    case StepKind.Done:
                        return step.Outcome! with { Attempts = attempts };
                    case StepKind.NotYetPublished:
                    {
                        var waited = _time.GetElapsedTime(start);
                        if (waited + notFoundDelay > options.NotFoundDeadline)
                            return Fail(FetchErrorClass.NotYetPublished,
                                $"{uri}: {step.Reason} for {waited.TotalSeconds:0.#} s; the dataset's NotFoundDeadline of {options.NotFoundDeadline} passed");
                        delay = notFoundDelay;
                        notFoundDelay = Min(notFoundDelay * 2, options.NotFoundMaxDelay);
                        break;
                    }
                    case StepKind.Transient:
                        transient++;
                        if (transient > options.MaxTransientRetries)
                            return Fail(FetchErrorClass.Transient, $"{uri}: {step.Reason} (gave up after {transient} transient failures)");
                        delay = step.RetryAfter is { } ra
                            ? Min(ra, options.MaxRetryAfter)
                            : Jitter(Min(options.TransientInitialDelay * Math.Pow(2, Math.Min(transient - 1, 30)), options.TransientMaxDelay));
                        break;
                    case StepKind.Corrupt:
                        corrupt++;
                        state.Reset();
                        if (corrupt > options.MaxCorruptRetries)
                            return Fail(FetchErrorClass.Corrupt, $"{uri}: {step.Reason}");
                        delay = Jitter(options.TransientInitialDelay);
                        break;
                    default:
                        return Fail(step.Error, $"{uri}: {step.Reason}");
                }
                _log.LogInformation("Fetch {Url} attempt {Attempt}: {Result} ({Reason}); retrying in {DelayMs} ms",
                    uri, attempts, step.Kind, step.Reason, (long)delay.TotalMilliseconds);
                await Task.Delay(delay, _time, ct).ConfigureAwait(false);
            }
        }
        finally
        {
            File.Delete(state.PartPath);
        }

        Outcome Fail(FetchErrorClass error, string reason) => new Outcome.Fail(attempts, error, reason);
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>Full jitter between half and the whole delay.</summary>
    private static TimeSpan Jitter(TimeSpan d) => d * (0.5 + Random.Shared.NextDouble() * 0.5);

    private static string HostOf(Uri uri) => uri.Scheme == "s3" ? uri.Authority : uri.Host;

    private static Step? Classify(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
            if (x is RefusedAddressException r) return Step.Stop(FetchErrorClass.Refused, r.Message);
        return e switch
        {
            TimeoutException t => Step.Retry(t.Message),
            OperationCanceledException => Step.Retry("timed out"),
            HttpRequestException h => Step.Retry($"{(h.HttpRequestError == HttpRequestError.Unknown ? "request failed" : h.HttpRequestError.ToString())}: {Inner(h)}"),
            IOException io => Step.Retry($"connection broken: {Inner(io)}"),
            SocketException s => Step.Retry($"socket error {s.SocketErrorCode}"),
            _ => null,
        };

        static string Inner(Exception e)
        {
            while (e.InnerException is not null) e = e.InnerException;
            return e.Message;
        }
    }

    // ---------------------------------------------------------------- one attempt

    private async Task<Step> AttemptAsync(FetchRequest request, FetchOptions options, DownloadState state, CancellationToken ct)
    {
        var uri = request.Announcement.Location;
        var whole = request.GribMatch is null;
        if (state.Plan is null)
        {
            if (whole)
            {
                state.Plan = [new ByteRange(0, null)];
            }
            else
            {
                var (step, plan) = await PlanFromIdxAsync(request, options, ct).ConfigureAwait(false);
                if (step is not null) return step;
                state.Plan = plan;
            }
        }

        var partLength = File.Exists(state.PartPath) ? new FileInfo(state.PartPath).Length : 0;
        if (partLength > 0 && state.Validator is null)
        {
            File.Delete(state.PartPath);
            partLength = 0;
        }

        await using var file = new FileStream(state.PartPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
        file.SetLength(partLength);
        file.Position = partLength;

        // Locate the segment and offset to resume at.
        int segment = 0;
        long within = partLength;
        while (segment < state.Plan.Count && state.Plan[segment].Length is { } len && within >= len)
        {
            within -= len;
            segment++;
        }

        var a = request.Announcement;
        HashAlgorithmName? announcedAlg = whole && a.Integrity is { } integ ? ContentCheck.AlgorithmOf(integ.Method) : null;
        byte[]? expected = null;
        if (announcedAlg is { } alg)
        {
            try
            {
                expected = ContentCheck.DecodeDigest(alg, a.Integrity!.Value);
            }
            catch (FormatException e)
            {
                return Step.Stop(FetchErrorClass.Permanent, e.Message);
            }
        }
        else if (whole && a.Integrity is { } other)
        {
            _log.LogDebug("Fetch {Url}: checksum method {Method} is not verified here", a.Location, other.Method);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        using var hashes = new Hashes(announcedAlg);
        try
        {
            if (partLength > 0)
                await Offload(() => hashes.AppendFile(file.SafeFileHandle, partLength, buffer), ct).ConfigureAwait(false);
            for (; segment < state.Plan.Count; segment++, within = 0)
            {
                var seg = state.Plan[segment];
                ByteRange? range = whole && seg.Start + within == 0 ? null : new ByteRange(seg.Start + within, seg.End);
                var (response, lease, refused) = await SendAsync(uri, range, range is null ? null : state.Validator, options, ct).ConfigureAwait(false);
                if (refused is not null) return refused;
                using var _ = response;
                using var __ = lease;

                var status = response!.Status;
                if (status is 200 or 206)
                {
                    if (status == 200 && range is not null)
                    {
                        if (!whole)
                        {
                            if (state.Validator is null)
                                return Step.Stop(FetchErrorClass.Permanent, $"server ignored Range {range} (answered 200), cannot fetch selected GRIB messages");
                            state.Reset();
                            return Step.Retry($"file changed while fetching its messages (If-Range {state.Validator} answered 200); re-reading .idx");
                        }
                        _log.LogInformation("Fetch {Url}: validator changed or Range unsupported (200 to Range {Range}); restarting from zero", uri, range);
                        file.SetLength(0);
                        file.Position = 0;
                        partLength = 0;
                        hashes.Reset();
                    }
                    if (status == 206)
                    {
                        if (range is null || response.RangeStart != range.Value.Start)
                            return Step.Retry($"asked Range {range?.ToString() ?? "none"} but got 206 starting at {response.RangeStart}");
                        if (state.Validator is not null && response.Validator is not null && response.Validator != state.Validator)
                        {
                            state.Reset();
                            file.SetLength(0);
                            return Step.Retry($"validator changed from {state.Validator} to {response.Validator} with a 206; restarting");
                        }
                    }
                    if (status == 200 || state.Validator is null) state.Validator = response.Validator;

                    var total = whole ? response.TotalLength : null;
                    if (total > options.MaxSize)
                        return Step.Stop(FetchErrorClass.TooLarge, $"size {total} exceeds MaxSize {options.MaxSize}");
                    if (whole && total is { } t && request.Announcement.Size is { } announced && t != announced)
                        return Step.Corrupt($"server size {t} differs from announced size {announced}");

                    var expect = response.ContentLength;
                    var got = await CopyBodyAsync(response.Body!, file, hashes, buffer, options, GateFor(HostOf(uri), options), HostOf(uri), ct).ConfigureAwait(false);
                    if (file.Length > options.MaxSize)
                        return Step.Stop(FetchErrorClass.TooLarge, $"body passed MaxSize {options.MaxSize}");
                    if (expect is { } e && got < e)
                        return Step.Retry($"body ended after {got} of {e} bytes (Content-Length)");
                    var segLength = status == 206 ? range!.Value.Length : null;
                    if (segLength is { } sl && got != sl)
                        return Step.Retry($"range {range} delivered {got} of {sl} bytes");
                    if (!whole && seg.End is null)
                        state.Plan[segment] = new ByteRange(seg.Start, seg.Start + within + got - 1);
                    continue;
                }
                if (status is 412 or 416) state.Reset();
                return StepOf(status, response, options);
            }
            await file.FlushAsync(ct).ConfigureAwait(false);
            // fsync, sniff and rename block: off the shared pool, on a thread of their own.
            return await Offload(() => Complete(request, options, file, hashes, expected, whole), ct).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static Step StepOf(int status, TransportResponse response, FetchOptions options)
    {
        var what = response.Detail ?? $"HTTP {status}";
        return status switch
        {
            404 => Step.NotYet(what),
            403 when options.RetryForbiddenAsNotFound => Step.NotYet(what),
            412 => Step.Retry($"{what}: object changed (ETag no longer matches); restarting"),
            408 or 425 or 429 or >= 500 => Step.Retry(what, response.RetryAfter),
            416 => Step.Retry($"{what}: range not satisfiable; restarting from zero"),
            >= 300 and < 400 => Step.Stop(FetchErrorClass.Permanent, $"{what} without a usable Location"),
            _ => Step.Stop(FetchErrorClass.Permanent, what),
        };
    }

    private async Task<(TransportResponse? Response, HostGate.Lease? Lease, Step? Refused)> SendAsync(
        Uri uri, ByteRange? range, string? validator, FetchOptions options, CancellationToken ct)
    {
        var urgent = options.Urgent;
        for (var hop = 0; ; hop++)
        {
            var host = HostOf(uri);
            var lease = await GateFor(host, options).EnterAsync(urgent, ct).ConfigureAwait(false);
            TransportResponse response;
            try
            {
                if (uri.Scheme == "s3")
                    response = await _s3!.GetAsync(uri.Authority, Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')), range, validator, ct)
                        .WaitAsync(options.ResponseTimeout, ct).ConfigureAwait(false);
                else
                    response = await _http.SendAsync(uri, range, validator, options.ResponseTimeout, ct).ConfigureAwait(false);
            }
            catch
            {
                lease.Dispose();
                throw;
            }
            if (response.Status is >= 300 and < 400 and not 304 && response.Redirect is { } target)
            {
                response.Dispose();
                lease.Dispose();
                if (hop >= options.MaxRedirects)
                    return (null, null, Step.Stop(FetchErrorClass.Permanent, $"more than {options.MaxRedirects} redirects"));
                if (target.Scheme is not ("http" or "https") || !options.AllowsHost(target.IdnHost))
                    return (null, null, Step.Stop(FetchErrorClass.Refused, $"redirect from {uri.Host} to {target.Scheme}://{target.Authority} is not allowed (host not on the allow-list)"));
                _log.LogDebug("Fetch {Url} redirected to {Target}", uri, target);
                uri = target;
                continue;
            }
            return (response, lease, null);
        }
    }

    private Task<T> Offload<T>(Func<T> work, CancellationToken ct) => _io.Run(work, ct);

    private Task Offload(Action work, CancellationToken ct) => _io.Run(work, ct);

    private async Task<long> CopyBodyAsync(Stream body, FileStream file, Hashes hashes, byte[] buffer, FetchOptions options, HostGate gate, string host, CancellationToken ct)
    {
        long got = 0;
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var hostTag = new KeyValuePair<string, object?>("host", host);
        while (true)
        {
            idle.CancelAfter(options.ReadTimeout);
            int n;
            try
            {
                n = await body.ReadAsync(buffer.AsMemory(0, BufferSize), idle.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new TimeoutException($"no body bytes from {host} for {options.ReadTimeout.TotalSeconds:0.###} s after {got} bytes");
            }
            if (n == 0) return got;
            await file.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
            hashes.Append(buffer.AsSpan(0, n));
            got += n;
            _bytes.Add(n, hostTag);
            if (file.Position > options.MaxSize) return got;
            await gate.ConsumeBandwidthAsync(n, ct).ConfigureAwait(false);
        }
    }

    private Step Complete(FetchRequest request, FetchOptions options, FileStream file, Hashes hashes, byte[]? expected, bool whole)
    {
        var a = request.Announcement;
        var size = file.Length;
        if (whole && a.Size is { } announced && size != announced)
            return Step.Corrupt($"received {size} bytes, announced {announced}");
        if (size == 0 && whole && a.Size is not 0)
            return Step.Corrupt("empty body");

        if (options.SniffContent)
        {
            Span<byte> head = stackalloc byte[ContentCheck.HeadLength];
            Span<byte> tail = stackalloc byte[4];
            var headLength = RandomAccess.Read(file.SafeFileHandle, head, 0);
            var tailLength = size >= 4 ? RandomAccess.Read(file.SafeFileHandle, tail, size - 4) : 0;
            var kind = ContentCheck.KindOf(a.RelPath.Length > 0 ? a.RelPath : a.Location.AbsolutePath);
            if (kind == ContentKind.Unknown) kind = ContentCheck.KindOf(a.Location.AbsolutePath);
            if (!whole) kind = ContentKind.Grib;
            var problem = ContentCheck.Sniff(kind, head[..headLength], tail[..tailLength], size);
            if (problem is not null) return Step.Corrupt(problem);
        }

        Span<byte> digest = stackalloc byte[32];
        Span<byte> announcedDigest = stackalloc byte[64];
        var announcedLength = hashes.Finish(digest, announcedDigest);
        var shaHex = Convert.ToHexStringLower(digest);
        if (expected is not null)
        {
            var actual = announcedLength == 0 ? digest : announcedDigest[..announcedLength];
            if (!actual.SequenceEqual(expected))
                return Step.Corrupt($"{a.Integrity!.Method} checksum mismatch: announced {Convert.ToHexStringLower(expected)}, received {Convert.ToHexStringLower(actual)}");
        }

        if (size <= options.InMemoryThreshold)
        {
            var data = new byte[size];
            RandomAccess.Read(file.SafeFileHandle, data, 0);
            return Step.Success(new Outcome.Memory(0, data, shaHex));
        }
        if (_settings.FlushToDisk) file.Flush(flushToDisk: true);
        file.Dispose();
        var path = Cache.Commit(file.Name, shaHex);
        return Step.Success(new Outcome.File(0, path, size, shaHex));
    }

    private async Task<(Step? Step, List<ByteRange> Plan)> PlanFromIdxAsync(FetchRequest request, FetchOptions options, CancellationToken ct)
    {
        var uri = request.Announcement.Location;
        var idxUri = new UriBuilder(uri) { Path = uri.AbsolutePath + ".idx" }.Uri;
        var (response, lease, refused) = await SendAsync(idxUri, null, null, options, ct).ConfigureAwait(false);
        if (refused is not null) return (refused, []);
        using var _ = response;
        using var __ = lease;
        if (response!.Status != 200) return (StepOf(response.Status, response, options) with { Reason = $"index {idxUri}: {response.Detail}" }, []);
        if (response.ContentLength > MaxIdxLength)
            return (Step.Stop(FetchErrorClass.TooLarge, $"index {idxUri} is {response.ContentLength} bytes (limit {MaxIdxLength})"), []);
        using var reader = new StreamReader(response.Body!, Encoding.ASCII);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.ReadTimeout);
        var text = await reader.ReadToEndAsync(timeout.Token).ConfigureAwait(false);
        IReadOnlyList<GribIdxEntry> entries;
        try
        {
            entries = GribIdx.Parse(text, idxUri.ToString());
        }
        catch (FormatException e)
        {
            return (Step.Corrupt(e.Message), []);
        }
        var ranges = GribIdx.Select(entries, request.GribMatch!);
        if (ranges.Count == 0)
            return (Step.Stop(FetchErrorClass.Permanent, $"no message in {idxUri} matches '{request.GribMatch}'"), []);
        _log.LogDebug("Fetch {Url}: {Count} byte ranges selected by '{Match}'", uri, ranges.Count, request.GribMatch);
        return (null, ranges.ToList());
    }

    public async ValueTask DisposeAsync()
    {
        await _lifetime.CancelAsync().ConfigureAwait(false);
        foreach (var t in _inFlight.Values)
            await ((Task)t).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _http.Dispose();
        _io.Dispose();
        Meter.Dispose();
        _lifetime.Dispose();
    }

    // ---------------------------------------------------------------- state and results

    private sealed class DownloadState(string partPath)
    {
        public string PartPath { get; } = partPath;
        public List<ByteRange>? Plan { get; set; }
        public string? Validator { get; set; }

        public void Reset()
        {
            Plan = null;
            Validator = null;
            File.Delete(PartPath);
        }
    }

    /// <summary>SHA-256 (the cache key) and the announced method, fed as bytes arrive.</summary>
    private sealed class Hashes(HashAlgorithmName? announced) : IDisposable
    {
        private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly IncrementalHash? _announced =
            announced is { } a && a != HashAlgorithmName.SHA256 ? IncrementalHash.CreateHash(a) : null;

        public void Append(ReadOnlySpan<byte> data)
        {
            _sha256.AppendData(data);
            _announced?.AppendData(data);
        }

        /// <summary>Hashes the first <paramref name="length"/> bytes already on disk (a resumed download).</summary>
        public void AppendFile(Microsoft.Win32.SafeHandles.SafeFileHandle handle, long length, byte[] buffer)
        {
            for (long offset = 0; offset < length;)
            {
                var n = RandomAccess.Read(handle, buffer.AsSpan(0, (int)Math.Min(BufferSize, length - offset)), offset);
                if (n == 0) throw new IOException($"partial file ended at {offset} of {length} bytes");
                Append(buffer.AsSpan(0, n));
                offset += n;
            }
        }

        public void Reset()
        {
            Span<byte> scratch = stackalloc byte[64];
            _sha256.GetHashAndReset(scratch);
            _announced?.GetHashAndReset(scratch);
        }

        /// <summary>Writes SHA-256 to <paramref name="sha256"/> and the announced digest (if another method) to <paramref name="other"/>; returns its length or 0.</summary>
        public int Finish(Span<byte> sha256, Span<byte> other)
        {
            _sha256.GetHashAndReset(sha256);
            return _announced?.GetHashAndReset(other) ?? 0;
        }

        public void Dispose()
        {
            _sha256.Dispose();
            _announced?.Dispose();
        }
    }

    private enum StepKind { Done, NotYetPublished, Transient, Corrupt, Stop }

    private sealed record Step(StepKind Kind, string Reason, FetchErrorClass Error = FetchErrorClass.Permanent, TimeSpan? RetryAfter = null, Outcome? Outcome = null)
    {
        public static Step Success(Outcome o) => new(StepKind.Done, "ok", Outcome: o);
        public static Step NotYet(string why) => new(StepKind.NotYetPublished, why);
        public static Step Retry(string why, TimeSpan? after = null) => new(StepKind.Transient, why, RetryAfter: after);
        public static Step Corrupt(string why) => new(StepKind.Corrupt, why);
        public static Step Stop(FetchErrorClass error, string why) => new(StepKind.Stop, why, error);
    }

    private abstract record Outcome(int Attempts)
    {
        public sealed record File(int Attempts, string Path, long Size, string Sha256Hex) : Outcome(Attempts);
        public sealed record Memory(int Attempts, byte[] Data, string Sha256Hex) : Outcome(Attempts);
        public sealed record Fail(int Attempts, FetchErrorClass Error, string Reason) : Outcome(Attempts);
    }
}
