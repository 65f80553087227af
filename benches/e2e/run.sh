#!/usr/bin/env bash
# End-to-end throughput / CPU / memory benchmark: logferry vs rsyslog, file -> syslog TCP(/TLS).
#
#   benches/e2e/run.sh [-n LINES] [-r RUNS] [-c CONTENDERS] [--no-build] [--no-install]
#
# Generates LINES deterministic Apache combined lines, then, RUNS times each (contenders interleaved
# round-robin so drifting machine load hits all of them alike):
#   logferry-tcp   logferry run: file -> apache_access parse + LogPoint normalisation -> kv -> syslog TCP
#   logferry-tls   the same over TLS (rustls; the receiver terminates TLS with a CA made here)
#   logferry-disk  logferry-tcp with a disk buffer on the sink (every batch appended, fsynced, read back)
#   rsyslog-raw    rsyslogd: imfile -> omfwd TCP, the raw line in an RFC 5424 envelope (no parsing)
#   rsyslog-parse  rsyslogd: imfile -> mmnormalize (Apache combined rule base) -> JSON -> omfwd TCP
# into one counting receiver (examples/bench_receiver.rs) on 127.0.0.1. A run ends when the receiver
# has LINES lines; then the contender gets SIGTERM and must exit. CPU = user+sys of the contender's
# whole life (startup, work, shutdown) and peak RSS, both from GNU time (/usr/bin/time); lines/s =
# LINES / (time from launch to the receiver's LINES-th line). Prints a table of medians and the
# target ratios, and writes it to $WORK/summary.md.
#
# Environment: N, RUNS, CONTENDERS (comma list), WORK (default /tmp/logferry-e2e), PORT (default
# 16514, loopback only), SEED, RUN_TIMEOUT (seconds per run; default 120 + N/5000).
# Needs: cargo, python3, openssl, /usr/bin/time (Debian 'time'), rsyslog (installed with apt-get if
# missing, unless --no-install; Debian 12 ships mmnormalize inside the rsyslog package itself,
# older releases in rsyslog-mmnormalize).
set -euo pipefail

N=${N:-1000000}
RUNS=${RUNS:-3}
CONTENDERS=${CONTENDERS:-logferry-tcp,logferry-tls,rsyslog-raw,rsyslog-parse}
WORK=${WORK:-/tmp/logferry-e2e}
PORT=${PORT:-16514}
SEED=${SEED:-20240517}
BUILD=1
INSTALL=1
while [ $# -gt 0 ]; do
    case "$1" in
        -n) N=$2; shift 2 ;;
        -r) RUNS=$2; shift 2 ;;
        -c) CONTENDERS=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --no-install) INSTALL=0; shift ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
[[ $N =~ ^[0-9]+$ && $N -gt 0 ]] || { echo "N must be a positive integer" >&2; exit 2; }
[[ $RUNS =~ ^[0-9]+$ && $RUNS -gt 0 ]] || { echo "RUNS must be a positive integer" >&2; exit 2; }
[[ $PORT =~ ^[0-9]+$ && $PORT -gt 1023 && $PORT -lt 65536 ]] || { echo "PORT must be 1024..65535" >&2; exit 2; }
RUN_TIMEOUT=${RUN_TIMEOUT:-$((120 + N / 5000))}
HOST=127.0.0.1 # loopback only, by design

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/benches/e2e
LOGFERRY=$ROOT/target/release/logferry
RECEIVER=$ROOT/target/release/examples/bench_receiver
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

log() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---- cleanup: only the processes this script started, by pid -------------------------------------
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true
    done
    sleep 0.3
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill -KILL "$p" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- prerequisites -------------------------------------------------------------------------------
need_apt=()
[ -x /usr/bin/time ] || need_apt+=(time)
command -v openssl >/dev/null || need_apt+=(openssl)
[[ $CONTENDERS != *rsyslog* ]] || command -v rsyslogd >/dev/null || need_apt+=(rsyslog)
[ "${CALLGRIND:-0}" != 1 ] || command -v valgrind >/dev/null || need_apt+=(valgrind)
if [ ${#need_apt[@]} -gt 0 ]; then
    [ $INSTALL = 1 ] || { echo "missing: ${need_apt[*]} (run without --no-install)" >&2; exit 1; }
    log "installing ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
mmnorm() { ls /usr/lib/*/rsyslog/mmnormalize.so /usr/lib/rsyslog/mmnormalize.so 2>/dev/null | head -1; }
if [[ $CONTENDERS == *rsyslog-parse* && -z $(mmnorm) ]]; then
    [ $INSTALL = 1 ] || { echo "rsyslog's mmnormalize module is missing" >&2; exit 1; }
    log "installing rsyslog-mmnormalize"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rsyslog-mmnormalize >/dev/null
fi
command -v python3 >/dev/null || { echo "python3 is needed (input generator, summary)" >&2; exit 1; }

# ---- build ---------------------------------------------------------------------------------------
if [ $BUILD = 1 ]; then
    log "cargo build --release --bin logferry --example bench_receiver"
    (cd "$ROOT" && cargo build --release --bin logferry --example bench_receiver)
fi
[ -x "$LOGFERRY" ] && [ -x "$RECEIVER" ] || { echo "missing $LOGFERRY or $RECEIVER" >&2; exit 1; }

# ---- input ---------------------------------------------------------------------------------------
INPUT=$WORK/access-$N-$SEED.log
if [ ! -s "$INPUT" ] || [ ! -e "$INPUT.ok" ]; then
    log "generating $N Apache combined lines -> $INPUT"
    rm -f "$INPUT.ok"
    python3 "$HERE/gen_apache.py" "$N" "$INPUT" --seed "$SEED"
    touch "$INPUT.ok"
fi
[ "$(wc -l <"$INPUT")" -eq "$N" ] || { echo "$INPUT does not have $N lines" >&2; exit 1; }
INPUT_BYTES=$(stat -c %s "$INPUT")

# ---- TLS material: a CA and a server certificate for localhost / 127.0.0.1 -----------------------
PKI=$WORK/pki
if [ ! -s "$PKI/server.pem" ]; then
    log "making a CA and a server certificate in $PKI"
    mkdir -p "$PKI"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj "/CN=logferry bench CA" -keyout "$PKI/ca.key" -out "$PKI/ca.pem" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
        -keyout "$PKI/server.key" -out "$PKI/server.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' >"$PKI/ext.cnf"
    openssl x509 -req -in "$PKI/server.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial \
        -days 3650 -extfile "$PKI/ext.cnf" -out "$PKI/server.pem" 2>/dev/null
fi

# ---- contender configurations --------------------------------------------------------------------
write_logferry_config() { # $1 = tcp|tls, $2 = file, $3 = data dir
    cat >"$2" <<EOF
data_dir = "$3"
[sources.web]
type = "file"
include = ["$INPUT"]
format = "apache_access"
timezone = "UTC"
device_name = "bench"
[sinks.out]
type = "syslog"
inputs = ["web"]
address = "$HOST:$PORT"
transport = "$1"
framing = "lf"
encoding = "kv"
EOF
    if [ "$1" = tls ]; then
        printf '[sinks.out.tls]\nca_file = "%s"\nserver_name = "localhost"\n' "$PKI/ca.pem" >>"$2"
    fi
}

write_logferry_disk_config() { # $1 = file, $2 = data dir
    write_logferry_config tcp "$1" "$2"
    printf '[sinks.out.buffer]\ntype = "disk"\n' >>"$1"
}

# rsyslog: its own work directory (imfile state), the main queue at its default size with large
# dequeue batches, one ruleset (so rsyslog's own messages are not forwarded), omfwd over plain TCP
# with LF ("traditional") framing. Both rsyslog variants put an RFC 5424 header in front, as
# logferry does. imfile: inotify mode, from the beginning of the file (freshStartTail off, no state
# file), no per-message file metadata.
write_rsyslog_config() { # $1 = raw|parse, $2 = file, $3 = work dir
    local parse="" tpl_body='%rawmsg%'
    if [ "$1" = parse ]; then
        parse="  action(type=\"mmnormalize\" ruleBase=\"$HERE/apache_combined.rulebase\")"
        tpl_body='%$!all-json-plain%'
    fi
    cat >"$2" <<EOF
global(workDirectory="$3" maxMessageSize="64k")
module(load="imfile" mode="inotify")
$([ "$1" = parse ] && echo 'module(load="mmnormalize")')
main_queue(queue.type="FixedArray" queue.size="100000" queue.dequeueBatchSize="1024" queue.workerThreads="1")
template(name="bench" type="string" string="<%PRI%>1 %TIMESTAMP:::date-rfc3339% %HOSTNAME% %APP-NAME% - - - $tpl_body")
ruleset(name="bench") {
$parse
  action(type="omfwd" target="$HOST" port="$PORT" protocol="tcp" TCP_Framing="traditional" template="bench")
}
input(type="imfile" file="$INPUT" tag="apache" facility="local0" severity="info"
      freshStartTail="off" readMode="0" addMetadata="off" ruleset="bench")
EOF
}

# ---- one run -------------------------------------------------------------------------------------
RESULTS=$WORK/results.tsv
printf 'contender\trun\tlines_per_s\tcpu_s\tcpu_s_per_1M\trss_mib\treceived\texit\tcpu_s_at_last_line\n' >"$RESULTS"

# user+sys CPU seconds of a live process so far (all its threads), from /proc/PID/stat.
CLK_TCK=$(getconf CLK_TCK)
proc_cpu() {
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    s=${s##*) }
    # shellcheck disable=SC2086
    set -- $s
    awk -v u="${12}" -v k="${13}" -v t="$CLK_TCK" 'BEGIN { printf "%.2f", (u + k) / t }'
}

status_field() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" "$2" 2>/dev/null || true; }

run_one() { # $1 = contender, $2 = run number
    local c=$1 run=$2 dir=$WORK/run/$1-$2
    rm -rf "$dir"
    mkdir -p "$dir"
    local st=$dir/receiver.status tls_args=() cmd=()
    case $c in
        logferry-tls) tls_args=(--tls-cert "$PKI/server.pem" --tls-key "$PKI/server.key") ;;
    esac
    "$RECEIVER" --listen "$HOST:$PORT" --expect "$N" --status "$st" --sample "$dir/received.sample" \
        "${tls_args[@]}" >"$dir/receiver.out" 2>"$dir/receiver.err" &
    local rpid=$!
    PIDS+=("$rpid")
    local i
    for i in $(seq 100); do
        grep -q READY "$dir/receiver.out" 2>/dev/null && break
        kill -0 "$rpid" 2>/dev/null || { cat "$dir/receiver.err" >&2; echo "receiver failed to start (port $PORT busy?)" >&2; exit 1; }
        sleep 0.05
    done

    # CALLGRIND=1: run the contender under callgrind and count its instructions (all threads), a
    # figure that does not move with the machine's load the way CPU-seconds do.
    local wrap=()
    [ "${CALLGRIND:-0}" = 1 ] && wrap=(valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out")
    case $c in
        logferry-tcp | logferry-tls)
            write_logferry_config "${c#logferry-}" "$dir/logferry.toml" "$dir/data"
            cmd=(env LOGFERRY_LOG=warn "${wrap[@]}" "$LOGFERRY" run --config "$dir/logferry.toml") ;;
        logferry-disk)
            write_logferry_disk_config "$dir/logferry.toml" "$dir/data"
            cmd=(env LOGFERRY_LOG=warn "${wrap[@]}" "$LOGFERRY" run --config "$dir/logferry.toml") ;;
        rsyslog-raw | rsyslog-parse)
            mkdir -p "$dir/work"
            write_rsyslog_config "${c#rsyslog-}" "$dir/rsyslog.conf" "$dir/work"
            cmd=("${wrap[@]}" rsyslogd -n -f "$dir/rsyslog.conf" -i "$dir/rsyslogd.pid") ;;
        *) echo "unknown contender $c" >&2; exit 2 ;;
    esac
    cat "$INPUT" >/dev/null # same warm page cache for every contender

    local t0 tpid cpid=""
    t0=$(date +%s%N)
    /usr/bin/time -f '%U %S %M %e %x' -o "$dir/time" "${cmd[@]}" >"$dir/contender.out" 2>"$dir/contender.err" &
    tpid=$!
    PIDS+=("$tpid")
    # The contender itself (child of time; env execs into it), to signal it directly.
    for i in $(seq 200); do
        cpid=$(pgrep -P "$tpid" | head -1 || true)
        [ -n "$cpid" ] && break
        kill -0 "$tpid" 2>/dev/null || break
        sleep 0.01
    done
    [ -n "$cpid" ] && PIDS+=("$cpid")

    local done_ns=0 deadline=$((SECONDS + RUN_TIMEOUT)) note=""
    while [ $SECONDS -lt $deadline ]; do
        done_ns=$(status_field done_ns "$st")
        [ "${done_ns:-0}" -gt 0 ] && break
        if ! kill -0 "$tpid" 2>/dev/null; then note="contender exited early"; break; fi
        sleep 0.05
    done
    [ "${done_ns:-0}" -gt 0 ] || { [ -n "$note" ] || note="timeout after ${RUN_TIMEOUT}s"; }
    local cpu_at_done=0
    [ -n "$cpid" ] && cpu_at_done=$(proc_cpu "$cpid")
    # Let a duplicate burst (if any) arrive before stopping, then stop gracefully.
    sleep 1
    [ -n "$cpid" ] && kill -TERM "$cpid" 2>/dev/null || true
    for i in $(seq 600); do
        kill -0 "$tpid" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$tpid" 2>/dev/null; then
        note="${note:+$note; }did not exit within 30 s of SIGTERM"
        [ -n "$cpid" ] && kill -KILL "$cpid" 2>/dev/null || true
    fi
    wait "$tpid" 2>/dev/null || true
    for i in $(seq 100); do # the receiver closes its side after the contender's close
        [ "$(status_field conns "$st")" = 0 ] && break
        sleep 0.05
    done
    sleep 0.15 # one more status tick
    local received
    received=$(status_field count "$st")
    kill -TERM "$rpid" 2>/dev/null || true
    wait "$rpid" 2>/dev/null || true
    PIDS=() # all reaped: never signal a recycled pid from the exit trap

    local u s rss_kib wall xit
    read -r u s rss_kib wall xit < <(tail -1 "$dir/time" | awk '{print $1, $2, $3, $4, $5}')
    if ! [[ ${xit:-x} =~ ^[0-9]+$ ]]; then xit=$(tail -1 "$dir/time"); fi
    python3 - "$c" "$run" "$N" "$t0" "${done_ns:-0}" "$u" "$s" "$rss_kib" "$received" "$xit" "$note" "$cpu_at_done" >>"$RESULTS" <<'PY'
import sys
c, run, n, t0, done, u, s, rss, rec, xit, note, cpu_done = sys.argv[1:]
n, t0, done = int(n), int(t0), int(done)
cpu = float(u) + float(s)
lps = n / ((done - t0) / 1e9) if done > 0 else 0.0
exit_txt = xit + (" (" + note + ")" if note else "")
print(f"{c}\t{run}\t{lps:.0f}\t{cpu:.2f}\t{cpu * 1e6 / n:.2f}\t{int(rss) / 1024:.1f}\t{rec}\t{exit_txt}\t{cpu_done}")
PY
    tail -1 "$RESULTS" | awk -F'\t' '{printf "  %-14s run %s: %9s lines/s  cpu %6ss  %7s cpu-s/1M  rss %6s MiB  received %s  exit %s  (cpu at last line %ss)\n", $1, $2, $3, $4, $5, $6, $7, $8, $9}' >&2
    if [ "${CALLGRIND:-0}" = 1 ]; then
        local ir
        ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$dir/contender.err" | tail -1)
        log "$c run $run: ${ir:-?} instructions, $(( ${ir:-0} / N )) per line"
    fi
    if [ "$received" != "$N" ]; then
        log "WARNING: $c run $run: receiver got $received lines, expected $N (see $dir)"
    fi
}

# ---- main loop -----------------------------------------------------------------------------------
IFS=',' read -r -a LIST <<<"$CONTENDERS"
log "N=$N ($(( INPUT_BYTES / 1048576 )) MiB), runs=$RUNS, contenders=${LIST[*]}, work=$WORK, port=$PORT"
for run in $(seq "$RUNS"); do
    for c in "${LIST[@]}"; do
        run_one "$c" "$run"
    done
done

# ---- summary -------------------------------------------------------------------------------------
python3 - "$RESULTS" "$N" "$RUNS" "$WORK/summary.md" <<'PY'
import csv, statistics, sys
path, n, runs, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rows = list(csv.DictReader(open(path), delimiter="\t"))
order = []
for r in rows:
    if r["contender"] not in order:
        order.append(r["contender"])
med = {}
lines = [f"N = {n} lines, {runs} run(s) each; medians.", "",
         "| contender | lines/s | CPU-s per 1M lines | peak RSS MiB | lines received (all runs) | exit |",
         "|---|---:|---:|---:|---|---|"]
for c in order:
    rs = [r for r in rows if r["contender"] == c]
    m = {k: statistics.median(float(r[k]) for r in rs) for k in ("lines_per_s", "cpu_s_per_1M", "rss_mib")}
    med[c] = m
    rec = ",".join(sorted(set(r["received"] for r in rs)))
    ex = ",".join(sorted(set(r["exit"] for r in rs)))
    lines.append(f"| {c} | {m['lines_per_s']:,.0f} | {m['cpu_s_per_1M']:.2f} | {m['rss_mib']:.1f} | {rec} | {ex} |")
lines.append("")
lines.append("| target | value | goal | verdict |")
lines.append("|---|---:|---|---|")
def ratio(a, b):
    if a in med and b in med and med[b]["cpu_s_per_1M"] > 0:
        return med[a]["cpu_s_per_1M"] / med[b]["cpu_s_per_1M"]
def row(name, v, goal, ok):
    if v is None:
        lines.append(f"| {name} | n/a | {goal} | not measured |")
    else:
        lines.append(f"| {name} | {v:.3f} | {goal} | {'PASS' if ok(v) else 'FAIL'} |")
row("CPU logferry-tcp / rsyslog-parse", ratio("logferry-tcp", "rsyslog-parse"), "<= 0.20", lambda v: v <= 0.20)
row("CPU logferry-tcp / rsyslog-raw", ratio("logferry-tcp", "rsyslog-raw"), "<= 1.00", lambda v: v <= 1.0)
t = ratio("logferry-tls", "logferry-tcp")
row("TLS CPU overhead (logferry-tls / logferry-tcp - 1)", None if t is None else t - 1, "< 0.30", lambda v: v < 0.30)
d = ratio("logferry-disk", "logferry-tcp")
if d is not None:
    lines.append(f"| disk buffer CPU overhead (logferry-disk / logferry-tcp - 1) | {d - 1:.3f} | (measured) | |")
for c in ("logferry-tcp", "logferry-tls", "logferry-disk"):
    if c in med:
        v = med[c]["rss_mib"]
        lines.append(f"| peak RSS {c} (MiB) | {v:.1f} | < 50 | {'PASS' if v < 50 else 'FAIL'} |")
text = "\n".join(lines) + "\n"
open(out, "w").write(text)
print(text)
PY
log "per-run results: $RESULTS; summary: $WORK/summary.md; run directories: $WORK/run/"
