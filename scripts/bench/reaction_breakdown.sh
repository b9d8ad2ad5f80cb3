#!/bin/sh
# Where the reaction time goes: runs the reaction part of vpp_sync_bench
# (300 flips under the 10,000-backend probe load) while `perf record`
# traces syscalls and scheduler events of the whole machine, then splits
# each flip into: flip backend's response write -> maglevd's read of it ->
# maglevd's lb_as_set_weight write -> vppsim's read. Not a test.
#
#   scripts/bench/reaction_breakdown.sh [FLIPS]
#
# Needs root (perf tracepoints, unshare --net) and a release build
# (cargo build --release --bin maglevd --example vpp_sync_bench).
set -eu
cd "$(dirname "$0")/../.."
REPO=$(pwd)
FLIPS=${1:-300}
if [ "${REACTION_IN_NETNS:-}" = "" ]; then
    export REACTION_IN_NETNS=1
    exec unshare --net sh -c "ip link set lo up && exec '$0' '$FLIPS'"
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$REPO/target/release/examples/vpp_sync_bench" --maglevd "$REPO/target/release/maglevd" \
    --only reaction --flips "$FLIPS" > "$TMP/bench.txt" 2>&1 &
bench=$!
while ! grep -q "backends up" "$TMP/bench.txt" 2>/dev/null; do sleep 0.2; done
# The bench first waits (up to 10 s) for a programming of the already-up
# flip backend that never comes; the flips start after that.
sleep 10.5
perf record -q -e syscalls:sys_enter_sendto -e syscalls:sys_enter_recvfrom \
    -e syscalls:sys_enter_read -e sched:sched_switch -e sched:sched_waking \
    -a --exclude-perf -o "$TMP/perf.data" -- sleep 3 >/dev/null 2>&1
wait $bench
grep -E "probe result|slow down" "$TMP/bench.txt"
perf script -i "$TMP/perf.data" -F comm,tid,cpu,time,event,trace 2>/dev/null \
    | grep -v '^ *perf ' > "$TMP/trace.txt"
python3 "$REPO/scripts/bench/reaction_breakdown.py" "$TMP/trace.txt"
