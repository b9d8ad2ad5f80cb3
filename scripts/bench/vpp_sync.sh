#!/bin/sh
# Dataplane benchmarks of maglevd against vppsim (see scripts/bench/README.md):
# full sync of 1,000 VIPs x 64 ASes (maglevd vs a raw client), a steady full
# pass over the converged state, and reaction latency under probe load.
# Not a test: prints figures, saves them to scripts/bench/results/.
#
#   scripts/bench/vpp_sync.sh [vpp_sync_bench flags...]
#   e.g. --reps 1 --flips 200 --load 2000
#
# Runs in a private network namespace when possible (root + unshare), so
# nginx's port and the probe connections cannot collide with anything.
set -eu
cd "$(dirname "$0")/../.."
REPO=$(pwd)
if [ "${VPP_SYNC_IN_NETNS:-}" = "" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1; then
    export VPP_SYNC_IN_NETNS=1
    exec unshare --net sh -c "ip link set lo up && exec '$0' \"\$@\"" "$0" "$@"
fi
CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1} cargo build --release --bin maglevd --example vpp_sync_bench >&2
mkdir -p scripts/bench/results
OUT=scripts/bench/results/vpp_sync-$(date -u +%Y-%m-%d).txt
{
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(git rev-parse --short HEAD 2>/dev/null || echo '?') netns=${VPP_SYNC_IN_NETNS:-0}"
    echo "# command: scripts/bench/vpp_sync.sh $*"
    echo "# $(uname -srm); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    echo
    echo "### weight 100 (default): the simulator rebuilds each VIP's Maglev table from 64x100 replicas per AS add"
    "$REPO/target/release/examples/vpp_sync_bench" --maglevd "$REPO/target/release/maglevd" "$@"
    echo
    echo "### weight 1: a cheap Maglev rebuild, so the simulator is ~6x faster and maglevd's own overhead shows"
    "$REPO/target/release/examples/vpp_sync_bench" --maglevd "$REPO/target/release/maglevd" --weight 1 --only raw,sync "$@"
} 2>&1 | tee "$OUT"
echo "saved to $OUT" >&2
