#!/usr/bin/env bash
# Builds the release binary once, then the .deb (cargo-deb) and the .rpm (cargo-generate-rpm) around
# it, into target/packages/ (emptied first, so it holds exactly this build's two packages). Installs
# either tool, pinned with --locked, only when it is missing; as a debug build, which compiles in
# 1.5 min instead of 15 on 2 cores and packs one binary just as well. Usage: packaging/build-packages.sh
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in cargo-deb cargo-generate-rpm; do
    if ! cargo "${tool#cargo-}" --version >/dev/null 2>&1; then
        cargo install --locked --debug "$tool"
    fi
done

out=target/packages
rm -rf "$out"
mkdir -p "$out"
cargo build --release --locked --bin logferry
cargo deb --no-build --locked --output "$out/"
cargo generate-rpm --output "$out/"
ls -l "$out"
