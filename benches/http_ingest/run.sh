#!/usr/bin/env bash
# HTTP ingest benchmark: wrk posts JSON arrays of 100 events to a logferry HTTP source, which
# normalises them (format json) and sends them over syslog TCP to the counting receiver
# (examples/bench_receiver.rs). A 200 comes only once the receiver's TCP stack acknowledged the
# events, so events/s is delivered events, end to end.
#
#   benches/http_ingest/run.sh [-r RUNS] [-d SECONDS] [-c CONNECTIONS] [--no-build]
#
# Prints each run's wrk summary (events/s, non-2xx answers, latency p50/p99) and the median.
# Environment: PORT (18088), OUT_PORT (16516), WORK (/tmp/logferry-http). Needs wrk (apt-get install wrk).
set -euo pipefail
RUNS=3; DURATION=20; CONNS=16; BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
        -r) RUNS=$2; shift 2 ;;
        -d) DURATION=$2; shift 2 ;;
        -c) CONNS=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
PORT=${PORT:-18088}
OUT_PORT=${OUT_PORT:-16516}
WORK=${WORK:-/tmp/logferry-http}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/benches/http_ingest
LOGFERRY=$ROOT/target/release/logferry
RECEIVER=$ROOT/target/release/examples/bench_receiver
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
if [ $BUILD = 1 ]; then
    (cd "$ROOT" && cargo build --release --bin logferry --example bench_receiver)
fi
mkdir -p "$WORK"
PIDS=()
cleanup() { local p; for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

export TOKEN=bench-token
results=()
for run in $(seq "$RUNS"); do
    dir=$WORK/run-$run; rm -rf "$dir"; mkdir -p "$dir"
    "$RECEIVER" --listen "127.0.0.1:$OUT_PORT" --expect 1000000000 --status "$dir/receiver.status" \
        >"$dir/receiver.out" 2>"$dir/receiver.err" &
    PIDS+=($!)
    cat >"$dir/logferry.toml" <<EOF
data_dir = "$dir/data"
[sources.api]
type = "http"
address = "127.0.0.1:$PORT"
timezone = "UTC"
[[sources.api.tokens]]
token = "$TOKEN"
application = "bench"
device_name = "bench01"
[sinks.out]
type = "syslog"
inputs = ["api"]
address = "127.0.0.1:$OUT_PORT"
transport = "tcp"
encoding = "kv"
EOF
    LOGFERRY_LOG=warn "$LOGFERRY" run --config "$dir/logferry.toml" >"$dir/logferry.out" 2>"$dir/logferry.err" &
    PIDS+=($!)
    for i in $(seq 100); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2).close()" 2>/dev/null && break
        sleep 0.05
    done
    line=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" -s "$HERE/post100.lua" "http://127.0.0.1:$PORT/v1/events" | tee "$dir/wrk.out" | grep events_per_s=)
    echo "run $run: $line" >&2
    results+=("$(sed -n 's/.*events_per_s=\([0-9]*\).*/\1/p' <<<"$line")")
    cleanup; wait 2>/dev/null || true; PIDS=()
done
printf '%s\n' "${results[@]}" | sort -n | awk '{a[NR]=$1} END {printf "median events/s over %d runs: %d\n", NR, a[int((NR+1)/2)]}'
