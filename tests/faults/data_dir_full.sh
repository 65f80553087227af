#!/bin/sh
# Fault case 13 (data_dir full) where the test cannot mount a filesystem itself (not root): runs
# tests/faults_data_dir_full.rs in a user and mount namespace of its own (`unshare -rm`), where an
# unprivileged user may mount a tmpfs if the kernel allows user namespaces. Prints the FAULT lines.
#
#   tests/faults/data_dir_full.sh
set -eu
cd "$(dirname "$0")/../.."
bin=$(cargo test --test faults_data_dir_full --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*faults_data_dir_full[^"]*\)".*/\1/p' | tail -1)
[ -x "$bin" ] || { echo "cannot build tests/faults_data_dir_full.rs" >&2; exit 1; }
unshare --user --map-root-user --mount "$bin" --nocapture --test-threads 2 2>&1 |
    grep -E 'FAULT|skipped|panicked|^test |test result'
