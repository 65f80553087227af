#!/bin/sh
# CPU cost of following many idle files: makes FILES files of one line each under one glob, runs
# `logferry run` (console sink to /dev/null) until they are all read, then measures the agent's
# CPU-seconds (user + system, from /proc/PID/stat) over SECONDS_IDLE seconds in which nothing is
# written, or (HOT_WRITES_PER_S > 0) in which one of the files gets that many lines a second.
#
#   tests/faults/many_files.sh [FILES] [SECONDS_IDLE] [MAX_OPEN_FILES] [HOT_WRITES_PER_S]
#
# Defaults: 10000 files, 60 s, max_open_files 1024, 0. LOGFERRY_BIN picks the binary (default:
# target/release/logferry if built, else target/debug/logferry). Prints one result line.
set -eu
files=${1:-10000}
idle=${2:-60}
max_open=${3:-1024}
hot=${4:-0}
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${LOGFERRY_BIN:-}
if [ -z "$bin" ]; then
    if [ -x "$here/target/release/logferry" ]; then bin=$here/target/release/logferry; else bin=$here/target/debug/logferry; fi
fi
work=$(mktemp -d)
writer=
trap 'kill "$pid" $writer 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir "$work/logs"
i=0
while [ "$i" -lt "$files" ]; do
    echo "line of file $i" > "$work/logs/f$i.log"
    i=$((i + 1))
done
cat > "$work/logferry.toml" <<TOML
data_dir = "$work/data"

[sources.many]
type = "file"
include = ["$work/logs/*.log"]
format = "kv"
max_open_files = $max_open

[sinks.null]
type = "console"
inputs = ["many"]
TOML
LOGFERRY_LOG=warn "$bin" run --config "$work/logferry.toml" > "$work/out" 2> "$work/err" &
pid=$!
start=$(date +%s)
while [ "$(wc -l < "$work/out")" -lt "$files" ]; do
    sleep 1
    if [ $(($(date +%s) - start)) -gt 600 ]; then echo "not all files read in 600 s" >&2; exit 1; fi
done
read_in=$(($(date +%s) - start))
sleep 5
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
if [ "$hot" -gt 0 ]; then
    pause=$(awk -v n="$hot" 'BEGIN { printf "%.4f", 1 / n }')
    (while :; do echo "hot line" >> "$work/logs/f0.log"; sleep "$pause"; done) &
    writer=$!
fi
before=$(ticks)
sleep "$idle"
after=$(ticks)
[ -z "$writer" ] || kill "$writer"
fds=$(ls "/proc/$pid/fd" | wc -l)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
echo "files=$files max_open_files=$max_open hot_writes_per_s=$hot read_all_in=${read_in}s idle=${idle}s cpu_seconds=$(awk -v a="$before" -v b="$after" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }') open_fds=$fds rss_kib=$rss binary=$bin"
