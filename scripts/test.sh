#!/usr/bin/env bash
# Runs every test of vpp-maglev: unit tests, the wire and stats fixtures,
# and the integration tests that drive the real maglevd against the VPP
# simulator, real backends on loopback and a real Prometheus.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Integration tests open many sockets (1,000 concurrent control clients).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cargo build --all-targets
cargo test --all-targets -- --test-threads="${TEST_THREADS:-4}"
# The build without HTTPS must stay green for tiny images.
cargo test --lib --no-default-features -- --test-threads="${TEST_THREADS:-4}" probe
