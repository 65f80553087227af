#!/usr/bin/env bash
# Memory of logferry while its disk buffer fills: the collector is down, the whole input goes into
# the buffer, and the agent's peak RSS (VmHWM) is read once the source has read every line.
#
#   benches/e2e/buffer_rss.sh [INPUT] [MAX_SIZE]
#
# INPUT: a file of Apache combined lines (default: the one benches/e2e/run.sh generated in
# $WORK, /tmp/logferry-e2e/access-1000000-20240517.log); MAX_SIZE: the buffer's max_size (default "2GiB").
# Needs target/release/logferry (cargo build --release). Prints lines, buffer bytes, events and
# peak RSS. Runs in its own directory under $WORK (default /tmp/logferry-e2e) and removes it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-/tmp/logferry-e2e}
INPUT=${1:-$WORK/access-1000000-20240517.log}
MAX_SIZE=${2:-2GiB}
LOGFERRY=$ROOT/target/release/logferry
[ -x "$LOGFERRY" ] || { echo "build first: cargo build --release --bin logferry" >&2; exit 1; }
[ -f "$INPUT" ] || { echo "no input $INPUT (run benches/e2e/run.sh first, or pass a file)" >&2; exit 1; }

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
DIR=$(mktemp -d "$WORK/buffer-rss.XXXXXX")
API=127.0.0.1:$(free_port)
DOWN=127.0.0.1:$(free_port) # nothing listens here: the collector is down
LINES=$(wc -l <"$INPUT")
cat >"$DIR/logferry.toml" <<CONF
data_dir = "$DIR/data"
shutdown_timeout = "1s"
[api]
address = "$API"
[sources.web]
type = "file"
include = ["$INPUT"]
format = "apache_access"
timezone = "UTC"
[sinks.out]
type = "syslog"
inputs = ["web"]
address = "$DOWN"
transport = "tcp"
[sinks.out.buffer]
type = "disk"
max_size = "$MAX_SIZE"
CONF

LOGFERRY_LOG=error "$LOGFERRY" run --config "$DIR/logferry.toml" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
metric() { curl -s "http://$API/metrics" | awk -v s="$1" '$1 == s { print $2 }'; }
start=$(date +%s.%N)
until [ "$(metric 'logferry_source_events_total{source="web"}')" = "$LINES" ]; do
    kill -0 $PID || { echo "logferry exited" >&2; exit 1; }
    sleep 0.2
done
# The last batches reach the buffer a moment after the source counted them.
sleep 1
end=$(date +%s.%N)
printf 'lines %s in %.1f s; buffer %s bytes, %s events; peak RSS %s\n' "$LINES" \
    "$(echo "$end - $start - 1" | bc)" \
    "$(metric 'logferry_buffer_bytes{sink="out"}')" "$(metric 'logferry_buffer_events{sink="out"}')" \
    "$(awk '/VmHWM/ { print $2, $3 }' /proc/$PID/status)"
