#!/usr/bin/env bash
# Fuzz the stats segment parser (src/vpp/stats) with cargo-fuzz/libFuzzer.
#
#   scripts/fuzz-stats.sh [SECONDS]      default 600
#
# Needs a nightly toolchain (`rustup toolchain install nightly`) and
# cargo-fuzz (`cargo install cargo-fuzz`). Runs one job at low priority so
# it can share a machine. Crashes land in fuzz/artifacts/stats_segment/.
set -euo pipefail

seconds="${1:-600}"
cd "$(dirname "$0")/../fuzz"

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz

# Seed corpus: the synthetic sample segment and a few variants.
CARGO_BUILD_JOBS=1 cargo +nightly run --quiet --bin seed_corpus -- corpus/stats_segment

# -max_len: the sample segment is ~3 KiB; room for larger raw inputs too.
# -rss_limit_mb: an unbounded allocation in the parser fails the run.
CARGO_BUILD_JOBS=1 nice -n 19 cargo +nightly fuzz run stats_segment corpus/stats_segment -- \
    -max_total_time="$seconds" -max_len=16384 -rss_limit_mb=512 -print_final_stats=1
