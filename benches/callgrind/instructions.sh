#!/usr/bin/env bash
# Instructions per line of parse + normalise + encode, per bench group, under callgrind: a figure that
# does not move with the machine's load, for comparing two builds of the processing stage.
#
#   benches/callgrind/instructions.sh [GROUP...]     # default: apache_access syslog syslog_rfc5424
#
# Builds `cargo bench --bench process`, runs each group for 1 s of (simulated) time under
# `valgrind --tool=callgrind`, collecting only inside criterion's `Bencher::iter` (the release profile's
# fat LTO inlines `Pipeline::run` into it; the timing calls around it add nothing measurable: both
# toggles gave the same count on a thin-LTO build), and divides the instructions by
# the number of `Normaliser::normalise` calls. Needs valgrind (apt-get install valgrind).
set -euo pipefail
cd "$(dirname "$0")/../.."
groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(apache_access syslog syslog_rfc5424)
bin=$(cargo bench --bench process --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "process" and m.get("executable"):
        print(m["executable"])')
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for group in "${groups[@]}"; do
    valgrind --tool=callgrind --callgrind-out-file="$out/$group" --collect-atstart=no \
        --toggle-collect='*Bencher*iter*' "$bin" --bench "^$group/" --profile-time 1 >/dev/null 2>&1
    # The profile names each function once as `fn=(id) name` and then only by `(id)`; `calls=N`
    # follows the `cfn=` line of each call site.
    python3 - "$group" "$out/$group" <<'PY'
import re, sys
group, path = sys.argv[1], sys.argv[2]
names, calls, total, callee = {}, {}, 0, None
for line in open(path):
    m = re.match(r'(c?fn)=\((\d+)\)(?: (.*))?', line)
    if m:
        kind, ident, name = m.groups()
        if name:
            names[ident] = name.strip()
        callee = ident if kind == 'cfn' else None
        continue
    m = re.match(r'calls=(\d+)', line)
    if m and callee:
        calls[callee] = calls.get(callee, 0) + int(m.group(1))
        callee = None
        continue
    m = re.match(r'summary: (\d+)', line)
    if m:
        total = int(m.group(1))
lines = sum(n for i, n in calls.items() if 'Normaliser::normalise' in names.get(i, ''))
if not lines:
    sys.exit(f'{group}: no lines processed (is the group name right?)')
print(f'{group:<16} {total / lines:>8,.0f} instructions per line ({lines:,} lines)')
PY
done
