#!/usr/bin/env bash
# The demo: maglevd health-checks three local HTTP backends (two answer, one
# does not) and programs the VPP simulator; then one backend fails and the
# VIP's weights follow. Everything runs on loopback and is cleaned up.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh >/dev/null
cargo build --release --quiet --bins

work=$(mktemp -d /tmp/maglev-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

bin=target/release
ctl() { "$bin/maglevc" --socket "$work/maglevd.sock" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
wait_for() { # wait_for SECONDS COMMAND...: poll until the command succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "timed out waiting for: $*" >&2; exit 1; }
    sleep 0.2
  done
}

step "starting the VPP simulator"
"$bin/vppsim" --api-socket "$work/api.sock" 2>"$work/vppsim.log" &
pids+=($!)
wait_for 10 test -S "$work/api.sock"

step "starting backends web-1 and web-2 (web-3 stays down)"
for host in 127.0.77.1 127.0.77.2; do
  mkdir -p "$work/www-$host" && echo ok > "$work/www-$host/healthz"
  python3 -m http.server 18480 --bind "$host" --directory "$work/www-$host" >/dev/null 2>&1 &
  pids+=($!)
done

step "starting maglevd"
"$bin/maglevd" --config etc/demo.yaml --vpp-api-addr "$work/api.sock" \
  --control-socket "$work/maglevd.sock" --metrics-addr "" \
  --log-file "$work/maglevd.log" &
pids+=($!)
wait_for 10 ctl show version
# Warmup (startup-min-delay 1s, startup-max-delay 3s) ends, then VPP is programmed.
wait_for 15 grep -q 'event=vpp-lb-warmup-done' "$work/maglevd.log"
wait_for 10 grep -q 'event=vpp-lbsync.*trigger=warmup-end' "$work/maglevd.log"

step "maglevc show backends"
ctl show backends
step "maglevc show frontends web"
ctl show frontends web
step "maglevc show vpp lb state   (what the simulator now holds)"
ctl show vpp lb state

step "web-1 starts failing its health check"
rm "$work/www-127.0.77.1/healthz"
wait_for 10 sh -c "'$bin/maglevc' --socket '$work/maglevd.sock' show backends web-1 | grep -q '^state *down'"
ctl show frontends web
ctl show vpp lb state

step "the log (logfmt, stable event names)"
grep -E 'event=(backend-transition|frontend-transition|vpp-connect|vpp-lb-warmup|vpp-lbsync )' "$work/maglevd.log" | tail -n 12

step "done: stopping everything (VPP state is never touched on shutdown)"
