#!/usr/bin/env bash
# Checks what packaging/build-packages.sh made in target/packages/: the files, conffiles, maintainer
# scripts and dependencies of the .deb (dpkg-deb) and the .rpm (rpm), an unpack of each into a
# throwaway root (never this machine's), the maintainer scripts run against stub commands, and the
# unit with systemd-analyze when it is available. Prints "packages: N passed, N failed"; exits 1 on a
# failure. Needs dpkg-deb and rpm (Debian package `rpm`). Usage: packaging/check-packages.sh [DIR]
set -uo pipefail
cd "$(dirname "$0")/.."

dir=${1:-target/packages}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
# has TEXT LABEL LINE-REGEX: some line of TEXT matches the extended regex.
has() { if grep -Eq -- "$3" <<<"$1"; then ok; else bad "$2: no line matching /$3/"; fi; }
# lacks TEXT LABEL LINE-REGEX: no line of TEXT matches.
lacks() { if grep -Eq -- "$3" <<<"$1"; then bad "$2: unexpected line matching /$3/"; else ok; fi; }
# same LABEL EXPECTED ACTUAL
same() { if [ "$2" = "$3" ]; then ok; else bad "$1: expected '$2', got '$3'"; fi; }

one_file() {
    local found=("$dir"/$1)
    if [ "${#found[@]}" -ne 1 ] || [ ! -f "${found[0]}" ]; then
        echo "FAIL: expected exactly one $1 in $dir (run packaging/build-packages.sh)" >&2
        exit 1
    fi
    echo "${found[0]}"
}
deb=$(one_file 'logferry_*.deb')
rpm=$(one_file 'logferry-*.rpm')
echo "checking $deb and $rpm"

# The unit as shipped: dedicated user, read-only system but the data directory, no privilege gain,
# restart on failure. Both packages carry packaging/logferry.service unchanged.
check_unit() {
    local unit=$1 label=$2
    has "$unit" "$label" '^User=logferry$'
    has "$unit" "$label" '^Group=logferry$'
    has "$unit" "$label" '^ExecStart=/usr/bin/logferry run --config /etc/logferry/logferry.toml$'
    has "$unit" "$label" '^ExecReload=/bin/kill -HUP \$MAINPID$'
    has "$unit" "$label" '^ProtectSystem=strict$'
    has "$unit" "$label" '^ReadWritePaths=/var/lib/logferry$'
    same "$label: ReadWritePaths lines" 1 "$(grep -c '^ReadWritePaths=' <<<"$unit")"
    has "$unit" "$label" '^NoNewPrivileges=yes$'
    has "$unit" "$label" '^Restart=on-failure$'
    has "$unit" "$label" '^CapabilityBoundingSet=$'
    has "$unit" "$label" '^WantedBy=multi-user.target$'
}

# systemd-analyze verify on a copy of the unit (plus drop-ins) whose ExecStart points at the binary
# unpacked under ROOT, so that the check needs nothing installed on this machine. The exposure score of
# `systemd-analyze security` is printed for the record.
analyze_unit() {
    local root=$1 label=$2 copy="$work/analyze-$2"
    command -v systemd-analyze >/dev/null || { echo "note: no systemd-analyze, unit not verified"; return; }
    mkdir -p "$copy"
    sed "s#^ExecStart=/usr/bin/logferry#ExecStart=$root/usr/bin/logferry#" \
        "$root/usr/lib/systemd/system/logferry.service" >"$copy/logferry.service"
    if [ -d "$root/usr/lib/systemd/system/logferry.service.d" ]; then
        cp -r "$root/usr/lib/systemd/system/logferry.service.d" "$copy/"
    fi
    local out
    if out=$(systemd-analyze verify "$copy/logferry.service" 2>&1) && [ -z "$out" ]; then ok; else
        bad "$label: systemd-analyze verify: $out"
    fi
    echo "$label: $(systemd-analyze security --offline=true "$copy/logferry.service" 2>/dev/null |
        grep 'Overall exposure level' | sed 's/^→ //')"
}

# Runs maintainer script SCRIPT with ARGS, with PATH holding only stubs that log their command line
# to $work/calls, so nothing touches this machine; prints the calls. `getent` finds nothing but group
# adm (a fresh Debian host).
run_stubbed() {
    local script=$1
    shift
    local stubs="$work/stubs"
    rm -rf "$stubs"
    mkdir -p "$stubs"
    local name
    for name in getent groupadd useradd usermod install rm systemctl deb-systemd-helper \
        deb-systemd-invoke; do
        printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\n' "$name" "$work" >"$stubs/$name"
        chmod 755 "$stubs/$name"
    done
    printf '#!/bin/sh\necho "getent $*" >>"%s/calls"\n[ "$*" = "group adm" ]\n' "$work" >"$stubs/getent"
    : >"$work/calls"
    if ! PATH="$stubs" /bin/sh "$script" "$@" >/dev/null 2>&1; then
        bad "$(basename "$script") $*: exited non-zero"
    fi
    cat "$work/calls"
}

# ---- .deb ----
info=$(dpkg-deb -I "$deb")
has "$info" "deb control" '^ Package: logferry$'
has "$info" "deb control" '^ Depends: .*libc6'
has "$info" "deb control" '^ Depends: .*passwd'
for member in conffiles postinst prerm postrm; do
    has "$info" "deb control members" " $member( |\$)"
done
same "deb conffiles" /etc/logferry/logferry.toml "$(dpkg-deb --info "$deb" conffiles)"

listing=$(dpkg-deb -c "$deb")
has "$listing" "deb files" '^-rwxr-xr-x 0/0 .* \./usr/bin/logferry$'
has "$listing" "deb files" '^-rw-r--r-- 0/0 .* \./etc/logferry/logferry\.toml$'
has "$listing" "deb files" '^-rw-r--r-- 0/0 .* \./usr/lib/systemd/system/logferry\.service$'
for doc in README.md install.md configuration.md operations.md output-format.md copyright; do
    has "$listing" "deb files" " \./usr/share/doc/logferry/$doc\$"
done
has "$listing" "deb files" '^-rw-r--r-- 0/0 .* \./usr/share/logferry/grafana/logferry\.json$'
lacks "$listing" "deb files" 'logferry\.service\.d'

# Unpacked into a throwaway dpkg database: registers the conffile without running any script.
droot="$work/deb-root"
mkdir -p "$droot/var/lib/dpkg/info" "$droot/var/lib/dpkg/updates"
touch "$droot/var/lib/dpkg/status"
if dpkg --root="$droot" --force-depends --unpack "$deb" >/dev/null 2>&1; then ok; else
    bad "dpkg --root --unpack failed"
fi
same "deb registered conffile" /etc/logferry/logferry.toml \
    "$(dpkg-query --root="$droot" -W -f='${Conffiles}\n' logferry | awk 'NF { print $1 }')"
same "deb binary runs" "logferry 0.1.0" "$("$droot/usr/bin/logferry" --version 2>&1)"
check_unit "$(cat "$droot/usr/lib/systemd/system/logferry.service")" "deb unit"
analyze_unit "$droot" deb

scripts="$work/deb-scripts"
mkdir -p "$scripts"
dpkg-deb -e "$deb" "$scripts"
for script in postinst prerm postrm; do
    if sh -n "$scripts/$script"; then ok; else bad "deb $script: shell syntax"; fi
done
calls=$(run_stubbed "$scripts/postinst" configure "")
has "$calls" "deb postinst (install)" '^groupadd --system logferry$'
has "$calls" "deb postinst (install)" '^useradd --system --gid logferry --home-dir /var/lib/logferry .*--shell /usr/sbin/nologin .*logferry$'
has "$calls" "deb postinst (install)" '^usermod --append --groups adm logferry$'
has "$calls" "deb postinst (install)" '^install -d -m 0750 -o logferry -g logferry /var/lib/logferry$'
has "$calls" "deb postinst (install)" '^deb-systemd-helper enable logferry\.service$'
lacks "$calls" "deb postinst (install)" 'start|restart'
calls=$(run_stubbed "$scripts/prerm" remove)
if [ -d /run/systemd/system ]; then
    has "$calls" "deb prerm (remove)" '^deb-systemd-invoke stop logferry\.service$'
fi
calls=$(run_stubbed "$scripts/prerm" upgrade 0.2.0)
lacks "$calls" "deb prerm (upgrade)" 'stop'
calls=$(run_stubbed "$scripts/postrm" remove)
lacks "$calls" "deb postrm (remove)" '^rm '
calls=$(run_stubbed "$scripts/postrm" purge)
has "$calls" "deb postrm (purge)" '^rm -rf /var/lib/logferry$'
has "$(cat "$scripts/prerm")" "deb prerm" 'deb-systemd-invoke stop'

# ---- .rpm ----
same "rpm name" logferry "$(rpm -qp --qf '%{NAME}' "$rpm")"
reqs=$(rpm -qp --requires "$rpm")
has "$reqs" "rpm requires" '^shadow-utils'
has "$reqs" "rpm requires" '^libc\.so\.6'
files=$(rpm -qlp "$rpm")
for path in /usr/bin/logferry /etc/logferry/logferry.toml /usr/lib/systemd/system/logferry.service \
    /usr/lib/systemd/system/logferry.service.d/log-access.conf /usr/share/doc/logferry/README.md \
    /usr/share/doc/logferry/install.md /usr/share/doc/logferry/configuration.md \
    /usr/share/logferry/grafana/logferry.json; do
    has "$files" "rpm files" "^${path//./\\.}\$"
done
same "rpm config files" /etc/logferry/logferry.toml "$(rpm -qcp "$rpm")"
same "rpm config noreplace" "/etc/logferry/logferry.toml noreplace" \
    "$(rpm -qp --qf '[%{FILENAMES} %{FILEFLAGS:fflags}\n]' "$rpm" | awk '$2 ~ /n/ { print $1, "noreplace" }')"
modes=$(rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME} %{FILENAMES}\n]' "$rpm")
has "$modes" "rpm modes" '^-rwxr-xr-x root /usr/bin/logferry$'
has "$modes" "rpm modes" '^-rw-r--r-- root /etc/logferry/logferry\.toml$'
rpm_scripts=$(rpm -qp --scripts "$rpm")
for phase in preinstall postinstall preuninstall postuninstall; do
    has "$rpm_scripts" "rpm scripts" "^$phase scriptlet"
done

rroot="$work/rpm-root"
mkdir -p "$rroot"
if rpm --root="$rroot" --nodeps --noscripts -i "$rpm" >/dev/null 2>&1; then ok; else
    bad "rpm --root -i failed"
fi
same "rpm installed config" /etc/logferry/logferry.toml "$(rpm --root="$rroot" -qc logferry)"
same "rpm binary runs" "logferry 0.1.0" "$("$rroot/usr/bin/logferry" --version 2>&1)"
check_unit "$(cat "$rroot/usr/lib/systemd/system/logferry.service")" "rpm unit"
dropin=$(cat "$rroot/usr/lib/systemd/system/logferry.service.d/log-access.conf")
has "$dropin" "rpm drop-in" '^AmbientCapabilities=CAP_DAC_READ_SEARCH$'
has "$dropin" "rpm drop-in" '^CapabilityBoundingSet=CAP_DAC_READ_SEARCH$'
has "$dropin" "rpm drop-in" '^SupplementaryGroups=$'
analyze_unit "$rroot" rpm

# Each scriptlet on its own, as rpm runs them ($1: instances left after the transaction).
rpm_script() { rpm -qp --qf "%{$1}" "$rpm" >"$work/$1.sh"; echo "$work/$1.sh"; }
pre=$(rpm_script PREIN)
post=$(rpm_script POSTIN)
preun=$(rpm_script PREUN)
postun=$(rpm_script POSTUN)
for script in "$pre" "$post" "$preun" "$postun"; do
    if sh -n "$script"; then ok; else bad "rpm $(basename "$script"): shell syntax"; fi
done
calls=$(run_stubbed "$pre" 1)
has "$calls" "rpm %pre" '^groupadd --system logferry$'
has "$calls" "rpm %pre" '^useradd --system --gid logferry --home-dir /var/lib/logferry .*--shell /usr/sbin/nologin .*logferry$'
lacks "$calls" "rpm %pre" 'usermod'
calls=$(run_stubbed "$post" 1)
has "$calls" "rpm %post (install)" '^install -d -m 0750 -o logferry -g logferry /var/lib/logferry$'
has "$calls" "rpm %post (install)" '^systemctl enable logferry\.service$'
lacks "$calls" "rpm %post (install)" 'start'
calls=$(run_stubbed "$post" 2)
lacks "$calls" "rpm %post (upgrade)" 'enable'
calls=$(run_stubbed "$preun" 0)
has "$calls" "rpm %preun (erase)" '^systemctl --no-reload disable --now logferry\.service$'
calls=$(run_stubbed "$preun" 1)
lacks "$calls" "rpm %preun (upgrade)" 'disable|stop'
calls=$(run_stubbed "$postun" 0)
lacks "$calls" "rpm %postun (erase)" '^rm |restart'

echo "packages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
