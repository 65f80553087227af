#!/usr/bin/env bash
# Syslog relay benchmark: TCP syslog in -> parse + normalise -> syslog over TLS out; logferry vs
# rsyslog (imtcp -> omfwd with the gtls driver), in one run, messages per CPU-second.
#
#   benches/syslog_ingest/run.sh [-n MESSAGES] [-r RUNS] [--no-build] [--no-install]
#
# Generates MESSAGES deterministic syslog lines (gen_syslog.py: RFC 3164 sshd/sudo/cron and RFC 5424
# lines from 200 hosts), then RUNS times each, contenders interleaved:
#   logferry   [sources] type = "syslog" (tcp) -> format syslog (sshd/sudo refined, kv payload)
#              -> [sinks] syslog over TLS (rustls)
#   rsyslog    imtcp -> omfwd over TLS (gtls), an RFC 5424 header in front of the message (no parsing),
#              DNS lookups of peers off (net.enableDNS) as on a busy relay
# A python sender writes every line over one TCP connection as fast as the contender takes it; the
# counting receiver (examples/bench_receiver.rs) terminates TLS. CPU = user+sys of the contender
# from the moment it listens to the receiver's last line (/proc/PID/stat), so startup is excluded;
# messages per CPU-second = MESSAGES / that CPU; CPU covers every thread of the process. Also
# shows the bytes each contender forwards per message. Prints medians and the ratio, writes
# $WORK/summary.md. Also records each contender's minor page faults (/proc/PID/stat) per run.
#
# Environment: N, RUNS, WORK (default /tmp/logferry-ingest), IN_PORT (15514), OUT_PORT (16515);
# CONTENDERS (default "logferry rsyslog"); LOGFERRY_B=path adds a contender "logferry-b" run from
# another build of logferry, interleaved with the others, to compare two builds in one run.
# Needs cargo, python3, openssl, rsyslog + rsyslog-gnutls (apt-get installed unless --no-install).
set -euo pipefail

N=${N:-1000000}
RUNS=${RUNS:-3}
WORK=${WORK:-/tmp/logferry-ingest}
IN_PORT=${IN_PORT:-15514}
OUT_PORT=${OUT_PORT:-16515}
BUILD=1
INSTALL=1
while [ $# -gt 0 ]; do
    case "$1" in
        -n) N=$2; shift 2 ;;
        -r) RUNS=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --no-install) INSTALL=0; shift ;;
        -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
HOST=127.0.0.1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/benches/syslog_ingest
LOGFERRY=$ROOT/target/release/logferry
CONTENDERS=${CONTENDERS:-logferry rsyslog}
if [ -n "${LOGFERRY_B:-}" ]; then CONTENDERS="$CONTENDERS logferry-b"; fi
RECEIVER=$ROOT/target/release/examples/bench_receiver
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
log() { printf '[ingest %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
    sleep 0.3
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -KILL "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

gtls() { ls /usr/lib/*/rsyslog/lmnsd_gtls.so /usr/lib/rsyslog/lmnsd_gtls.so 2>/dev/null | head -1; }
if ! command -v rsyslogd >/dev/null || [ -z "$(gtls)" ] || ! command -v openssl >/dev/null; then
    [ $INSTALL = 1 ] || { echo "missing rsyslog, rsyslog-gnutls or openssl" >&2; exit 1; }
    log "installing rsyslog rsyslog-gnutls openssl"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rsyslog rsyslog-gnutls openssl >/dev/null
fi
if [ $BUILD = 1 ]; then
    log "cargo build --release --bin logferry --example bench_receiver"
    (cd "$ROOT" && cargo build --release --bin logferry --example bench_receiver)
fi
for bin in "$LOGFERRY" "$RECEIVER" ${LOGFERRY_B:-}; do
    [ -x "$bin" ] || { echo "missing $bin: run without --no-build, or build it" >&2; exit 1; }
done

INPUT=$WORK/syslog-$N.log
[ -s "$INPUT" ] || { log "generating $N messages -> $INPUT"; python3 "$HERE/gen_syslog.py" "$N" "$INPUT"; }

PKI=$WORK/pki
if [ ! -s "$PKI/server.pem" ]; then
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

write_logferry() { # $1 file, $2 data dir
    cat >"$1" <<EOF
data_dir = "$2"
[sources.relay]
type = "syslog"
address = "$HOST:$IN_PORT"
transport = "tcp"
timezone = "UTC"
[sinks.out]
type = "syslog"
inputs = ["relay"]
address = "$HOST:$OUT_PORT"
transport = "tls"
encoding = "kv"
[sinks.out.tls]
ca_file = "$PKI/ca.pem"
server_name = "localhost"
EOF
}

write_rsyslog() { # $1 file, $2 work dir
    cat >"$1" <<EOF
global(workDirectory="$2" maxMessageSize="64k" net.enableDNS="off" DefaultNetstreamDriverCAFile="$PKI/ca.pem")
module(load="imtcp")
main_queue(queue.type="FixedArray" queue.size="100000" queue.dequeueBatchSize="1024" queue.workerThreads="1")
template(name="bench" type="string" string="<%PRI%>1 %TIMESTAMP:::date-rfc3339% %HOSTNAME% %APP-NAME% %PROCID% %MSGID% - %msg%")
ruleset(name="bench") {
  action(type="omfwd" target="$HOST" port="$OUT_PORT" protocol="tcp" TCP_Framing="traditional"
         template="bench" StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name"
         StreamDriverPermittedPeers="localhost")
}
input(type="imtcp" address="$HOST" port="$IN_PORT" ruleset="bench")
EOF
}

CLK_TCK=$(getconf CLK_TCK)
stat_fields() { # /proc/PID/stat after the command name (whose brackets may hold spaces): $1 = state
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    echo "${s##*) }"
}
proc_cpu() { # user+sys seconds of PID so far (0 once it has gone)
    stat_fields "$1" | awk -v t="$CLK_TCK" '{ c = ($12 + $13) / t } END { printf "%.2f", c }'
}
proc_minflt() { # minor page faults of PID so far (0 once it has gone)
    stat_fields "$1" | awk '{ f = $8 } END { print f + 0 }'
}
status_field() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" "$2" 2>/dev/null || true; }
listening() { python3 -c "import socket,sys; socket.create_connection(('$HOST', $IN_PORT), 0.2).close()" 2>/dev/null; }

RESULTS=$WORK/results.tsv
printf 'contender\trun\tmsgs_per_cpu_s\tcpu_s\tmsgs_per_s\treceived\tbytes_out_per_msg\tminor_faults\n' >"$RESULTS"

run_one() { # $1 contender, $2 run
    local c=$1 run=$2 dir=$WORK/run/$1-$2 i
    rm -rf "$dir"; mkdir -p "$dir"
    local st=$dir/receiver.status
    "$RECEIVER" --listen "$HOST:$OUT_PORT" --expect "$N" --status "$st" \
        --tls-cert "$PKI/server.pem" --tls-key "$PKI/server.key" >"$dir/receiver.out" 2>"$dir/receiver.err" &
    local rpid=$!; PIDS+=("$rpid")
    for i in $(seq 100); do grep -q READY "$dir/receiver.out" 2>/dev/null && break; sleep 0.05; done
    grep -q READY "$dir/receiver.out" || { cat "$dir/receiver.err" >&2; echo "the receiver did not start" >&2; exit 1; }
    local cmd
    case $c in
        logferry|logferry-b)
                  local bin=$LOGFERRY
                  [ "$c" = logferry ] || bin=$LOGFERRY_B
                  write_logferry "$dir/logferry.toml" "$dir/data"
                  cmd=(env LOGFERRY_LOG=warn "$bin" run --config "$dir/logferry.toml") ;;
        rsyslog) mkdir -p "$dir/work"; write_rsyslog "$dir/rsyslog.conf" "$dir/work"
                 cmd=(rsyslogd -n -f "$dir/rsyslog.conf" -i "$dir/rsyslogd.pid") ;;
    esac
    "${cmd[@]}" >"$dir/contender.out" 2>"$dir/contender.err" &
    local cpid=$!; PIDS+=("$cpid")
    for i in $(seq 200); do listening && break; sleep 0.05; done
    listening || { cat "$dir/contender.err" >&2; echo "$c does not listen on $IN_PORT" >&2; exit 1; }
    cat "$INPUT" >/dev/null
    local cpu0 t0 flt0
    cpu0=$(proc_cpu "$cpid"); flt0=$(proc_minflt "$cpid"); t0=$(date +%s%N)
    python3 - "$INPUT" "$HOST" "$IN_PORT" <<'PY' &
import socket, sys
path, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.create_connection((host, port))
with open(path, "rb") as f:
    while True:
        block = f.read(1 << 20)
        if not block:
            break
        s.sendall(block)
s.shutdown(socket.SHUT_WR)
s.close()
PY
    local spid=$!; PIDS+=("$spid")
    local done_ns=0 deadline=$((SECONDS + 300))
    while [ $SECONDS -lt $deadline ]; do
        done_ns=$(status_field done_ns "$st"); [ "${done_ns:-0}" -gt 0 ] && break
        kill -0 "$cpid" 2>/dev/null || break
        sleep 0.05
    done
    local cpu1 flt1; cpu1=$(proc_cpu "$cpid"); flt1=$(proc_minflt "$cpid")
    [ "${done_ns:-0}" -gt 0 ] || { log "$c $run: the receiver did not get all $N messages within 300 s"; kill "$spid" 2>/dev/null || true; }
    wait "$spid" 2>/dev/null || true
    kill -TERM "$cpid" 2>/dev/null || true; wait "$cpid" 2>/dev/null || true
    sleep 0.2
    local received out_bytes
    received=$(status_field count "$st"); out_bytes=$(status_field bytes "$st")
    kill -TERM "$rpid" 2>/dev/null || true; wait "$rpid" 2>/dev/null || true
    PIDS=()
    python3 - "$c" "$run" "$N" "$cpu0" "$cpu1" "$t0" "${done_ns:-0}" "$received" "${out_bytes:-0}" "$((flt1 - flt0))" >>"$RESULTS" <<'PY'
import sys
c, run, n, cpu0, cpu1, t0, done, rec, out, faults = sys.argv[1:]
n, cpu = int(n), float(cpu1) - float(cpu0)
rate = n / ((int(done) - int(t0)) / 1e9) if int(done) > 0 else 0
per_msg = int(out) / int(rec) if int(rec) > 0 else 0
print(f"{c}\t{run}\t{n / cpu if cpu > 0 else 0:.0f}\t{cpu:.2f}\t{rate:.0f}\t{rec}\t{per_msg:.0f}\t{faults}")
PY
    tail -1 "$RESULTS" | awk -F'\t' '{printf "  %-10s run %s: %9s msgs/CPU-s  cpu %6ss  %9s msgs/s  received %s  %s bytes out/msg  %s page faults\n", $1, $2, $3, $4, $5, $6, $7, $8}' >&2
}

log "N=$N, runs=$RUNS, work=$WORK"
for run in $(seq "$RUNS"); do
    for c in $CONTENDERS; do run_one "$c" "$run"; done
done
python3 - "$RESULTS" "$N" "$RUNS" "$WORK/summary.md" <<'PY'
import csv, statistics, sys
path, n, runs, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rows = list(csv.DictReader(open(path), delimiter="\t"))
med = {}
lines = [f"N = {n} messages, {runs} run(s) each; medians.", "",
         "| contender | msgs per CPU-second | CPU-s | msgs/s | received | bytes out per msg | page faults |", "|---|---:|---:|---:|---|---:|---:|"]
for c in dict.fromkeys(r["contender"] for r in rows):
    rs = [r for r in rows if r["contender"] == c]
    if not rs:
        continue
    m = {k: statistics.median(float(r[k]) for r in rs) for k in ("msgs_per_cpu_s", "cpu_s", "msgs_per_s", "bytes_out_per_msg", "minor_faults")}
    med[c] = m
    rec = ",".join(sorted(set(r["received"] for r in rs)))
    lines.append(f"| {c} | {m['msgs_per_cpu_s']:,.0f} | {m['cpu_s']:.2f} | {m['msgs_per_s']:,.0f} | {rec} | {m['bytes_out_per_msg']:.0f} | {m['minor_faults']:,.0f} |")
if "logferry" in med and "rsyslog" in med and med["rsyslog"]["msgs_per_cpu_s"] > 0:
    ratio = med["logferry"]["msgs_per_cpu_s"] / med["rsyslog"]["msgs_per_cpu_s"]
    lines += ["", f"logferry / rsyslog messages per CPU-second: {ratio:.2f}x (goal >= 3x): {'met' if ratio >= 3 else 'NOT met'}"]
text = "\n".join(lines) + "\n"
open(out, "w").write(text)
print(text)
PY
