#!/usr/bin/env bash
# Kafka sink throughput: N Apache access lines in a file, `logferry run` (release build) with a file
# source and a Kafka sink (json, topic siem.{norm_id}, 3 partitions) into a local tansu broker
# (in-memory storage). Measures from the agent's start until /metrics shows every event delivered
# (acknowledged by the broker), RUNS times, and prints each run's events/s and the median.
#
#   cargo build --release && benches/kafka-sink.sh            # N=200000 RUNS=3 by default
#   N=500000 RUNS=5 COMPRESSION=lz4 benches/kafka-sink.sh
#
# tansu is taken from $LOGFERRY_TANSU, ~/.cache/logferry/tansu/bin (where .ci/run installs a debug
# build), PATH or ~/.cargo/bin; the broker's own speed is part of the result, so say which one.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-200000}
RUNS=${RUNS:-3}
COMPRESSION=${COMPRESSION:-none}
logferry=target/release/logferry
[ -x "$logferry" ] || { echo "build first: cargo build --release" >&2; exit 1; }
tansu=${LOGFERRY_TANSU:-}
for candidate in "$HOME/.cache/logferry/tansu/bin/tansu" "$(command -v tansu || true)" "$HOME/.cargo/bin/tansu"; do
  [ -z "$tansu" ] && [ -n "$candidate" ] && [ -x "$candidate" ] && tansu=$candidate
done
[ -n "$tansu" ] || { echo "no tansu (cargo install tansu --locked --features dynostore)" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "192.0.2.%d - - [26/Nov/2026:10:00:00 +0100] \"GET /item/%d?q=a%%20b HTTP/1.1\" 200 %d \"-\" \"Mozilla/5.0 (bench)\"\n", i % 250, i, 100 + i }' > "$work/access.log"
echo "tansu: $tansu; logferry: $logferry; $N events ($(du -h "$work/access.log" | cut -f1)), compression $COMPRESSION"

rates=()
for run in $(seq 1 "$RUNS"); do
  port=$(free_port)
  api=$(free_port)
  "$tansu" broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine memory://tansu/ >/dev/null 2>&1 &
  broker=$!
  pids+=("$broker")
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.05; done
  "$tansu" topic create siem.ApacheAccess --broker "tcp://127.0.0.1:$port" --partitions 3 >/dev/null
  rm -rf "$work/data"
  cat > "$work/bench.toml" <<EOF
data_dir = "$work/data"
[api]
address = "127.0.0.1:$api"
[sources.web]
type = "file"
include = ["$work/access.log"]
format = "apache_access"
device_name = "bench-host"
[sinks.bus]
type = "kafka"
inputs = ["web"]
brokers = "127.0.0.1:$port"
topic = "siem.{norm_id}"
compression = "$COMPRESSION"
EOF
  start=$(date +%s.%N)
  LOGFERRY_LOG=warn "$logferry" run --config "$work/bench.toml" &
  agent=$!
  pids+=("$agent")
  delivered=0
  while [ "$delivered" -lt "$N" ]; do
    sleep 0.05
    delivered=$(curl -s "http://127.0.0.1:$api/metrics" | awk '/^logferry_sink_events_total\{sink="bus"\}/ { print $2 }')
    delivered=${delivered:-0}
  done
  end=$(date +%s.%N)
  kill "$agent"; wait "$agent" 2>/dev/null || true
  kill "$broker"; wait "$broker" 2>/dev/null || true
  rate=$(awk -v n="$N" -v s="$start" -v e="$end" 'BEGIN { printf "%d", n / (e - s) }')
  echo "run $run: $N events in $(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }') s = $rate events/s"
  rates+=("$rate")
done
printf '%s\n' "${rates[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "median: %d events/s\n", a[int((NR + 1) / 2)] }'
