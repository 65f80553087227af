-- wrk script: POST batches of 100 JSON events to a logferry HTTP source (benches/http_ingest/run.sh).
-- TOKEN (environment) is the bearer token. Prints "events_per_s=N non2xx=M" at the end.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "bench-token")
local events = {}
for i = 1, 100 do
  events[i] = string.format(
    '{"timestamp":"2026-12-03T10:00:%02d.%03dZ","level":"info","user":"user%d","client_ip":"10.0.%d.%d","method":"POST","status":200,"message":"case %d opened by user%d"}',
    i % 60, i, i % 17, i % 7, i % 250, 4700 + i, i % 17)
end
wrk.body = "[" .. table.concat(events, ",") .. "]"

done = function(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  local ok = summary.requests - summary.errors.status
  io.write(string.format("events_per_s=%.0f non2xx=%d errors=%d p50_ms=%.1f p99_ms=%.1f\n",
    ok * 100 / (summary.duration / 1e6), summary.errors.status, bad,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
