#!/usr/bin/env bash
# Counter-scrape and /metrics-render benchmark of maglevd (see
# scripts/bench/README.md, section "metrics.sh"):
#   1. one VPP counter scrape with 1,000 VIPs in vppsim's stats segment:
#      maglevd CPU per scrape (with stats vs. the same config without), and
#      the wall time of the segment read (`vpp-stats-scrape` debug lines);
#   2. a /metrics render with 10,000 HTTP backends (nginx on loopback, 1 s
#      interval) and 1,000 VIPs: client-side time and bytes per GET, maglevd
#      CPU per render, and probe-start lateness before and while scraping.
# Not a test: prints figures, saves them to scripts/bench/results/.
#
#   scripts/bench/metrics.sh            # full run, ~9 min
#   VIPS=200 BACKENDS=2000 PERIODS=4 SCRAPE_SECS=10 scripts/bench/metrics.sh   # quick
#
# Runs in a private network namespace when possible (root + unshare), so the
# probe load stays on a loopback of its own. Only 127.x addresses are
# connected to; the VIP addresses (198.18.0.0/15) are data in the simulator.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
if [ -z "${METRICS_BENCH_IN_NETNS:-}" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1 \
    && unshare --net true 2>/dev/null; then
    export METRICS_BENCH_IN_NETNS=1
    exec unshare --net bash -c "ip link set lo up && exec '$0' \"\$@\"" "$0" "$@"
fi

VIPS=${VIPS:-1000}
BACKENDS=${BACKENDS:-10000}
PERIODS=${PERIODS:-12}          # scrape periods (5 s each) per CPU window in part 1
SCRAPE_SECS=${SCRAPE_SECS:-30}  # part 2: idle window and scraping window (1 GET/s)
HTTP_PORT=${HTTP_PORT:-18480}
METRICS_PORT=${METRICS_PORT:-19091}
PARTS=${PARTS:-1 2a 2b 2c}      # which parts to run (e.g. PARTS=2b to repeat the lateness runs)
want() { case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1} cargo build --release --quiet --bins --example metrics_bench >&2
bin=$REPO/target/release
mkdir -p scripts/bench/results
OUT=$REPO/scripts/bench/results/metrics-$(date -u +%Y-%m-%d).txt
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true

work=$(mktemp -d /tmp/maglev-metrics-bench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ -n "${KEEP:-}" ]; then echo "logs kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

die() { echo "metrics.sh: $*" >&2; exit 1; }
wait_for() { # wait_for SECONDS COMMAND...
    local deadline=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || die "timed out waiting for: $*"
        sleep 0.2
    done
}
# CPU of a process: "<ns on CPU, all threads (schedstat)> <utime+stime ticks>".
cpu() {
    local ns=0 t
    for t in /proc/"$1"/task/*/schedstat; do
        ns=$((ns + $(cut -d' ' -f1 "$t" 2>/dev/null || echo 0)))
    done
    # Fields 14 and 15 of /proc/PID/stat, counted after the ")" of comm.
    echo "$ns $(sed 's/.*) //' /proc/"$1"/stat | awk '{print $12 + $13}')"
}
ticks_per_s=$(getconf CLK_TCK)
# Start maglevd: start_maglevd NAME CONFIG [extra args...]; sets $mpid.
start_maglevd() {
    local name=$1 cfg=$2; shift 2
    "$bin/maglevd" --config "$cfg" --vpp-api-addr "$work/api.sock" \
        --control-socket "$work/ctl-$name.sock" --log-file "$work/$name.log" "$@" &
    mpid=$!
    pids+=("$mpid")
    wait_for 30 "$bin/maglevc" --socket "$work/ctl-$name.sock" show version
}
stop_maglevd() { kill "$mpid"; wait "$mpid" 2>/dev/null || true; }
# Warmup is over: the full sync that programs VIPs and ASes has started (it
# logs `vpp-lbsync` at info only when it changed something).
wait_synced() { wait_for "$2" grep -q 'event=vpp-lb-warmup-done' "$work/$1.log"; }

exec > >(tee -a "$OUT") 2>&1
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(git rev-parse --short HEAD 2>/dev/null || echo '?') netns=${METRICS_BENCH_IN_NETNS:-0}"
echo "# command: VIPS=$VIPS BACKENDS=$BACKENDS PERIODS=$PERIODS SCRAPE_SECS=$SCRAPE_SECS PARTS=\"$PARTS\" scripts/bench/metrics.sh"
echo "# $(uname -srm); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(nproc) cpus; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# open files: soft $(ulimit -Sn) hard $(ulimit -Hn)"

"$bin/examples/metrics_bench" sim --api-socket "$work/api.sock" --stats-socket "$work/stats.sock" \
    --vips "$VIPS" 2>"$work/sim.log" &
pids+=($!)
wait_for 10 test -S "$work/stats.sock"

if want 1; then
echo
echo "## 1. counter scrape: $VIPS VIPs x 4 static ASes, stats segment of vppsim"
"$bin/examples/metrics_bench" config --vips "$VIPS" --backends 0 --ases-per-vip 4 >"$work/static.yaml"
window=$((PERIODS * 5))
# CPU over one window of $window s, after the daemon has settled; sets
# $used_ns and $used_ticks.
measure_cpu() { # measure_cpu NAME [maglevd args...]
    local name=$1; shift
    start_maglevd "$name" "$work/static.yaml" --metrics-addr "" "$@"
    wait_synced "$name" 60
    sleep 7   # first scrape (5 s after connect) resolves the indexes
    local a b
    a=$(cpu "$mpid"); sleep "$window"; b=$(cpu "$mpid")
    stop_maglevd
    read -r used_ns used_ticks < <(echo "$a $b" | awk '{print $3 - $1, $4 - $2}')
}
measure_cpu nostats --vpp-stats-addr ""
base_ns=$used_ns base_ticks=$used_ticks
measure_cpu stats --vpp-stats-addr "$work/stats.sock"
with_ns=$used_ns with_ticks=$used_ticks
grep -q 'event=vpp-stats-connect ' "$work/stats.log" || die "maglevd did not map the stats segment"
awk -v bn="$base_ns" -v bt="$base_ticks" -v wn="$with_ns" -v wt="$with_ticks" -v p="$PERIODS" \
    -v w="$window" -v hz="$ticks_per_s" 'BEGIN {
    printf "window %d s = %d scrape periods (indexes are re-resolved every 60 s: ~%d resolve(s) in the window)\n", w, p, int(w / 60)
    printf "%-34s %14s %14s\n", "", "schedstat ms", "utime+stime ms"
    printf "%-34s %14.1f %14.0f\n", "maglevd idle, no stats socket", bn / 1e6, bt * 1000 / hz
    printf "%-34s %14.1f %14.0f\n", "maglevd with stats socket", wn / 1e6, wt * 1000 / hz
    printf "%-34s %14.2f %14.1f\n", "=> CPU per scrape (ms)", (wn - bn) / 1e6 / p, (wt - bt) * 1000 / hz / p
}'

# Wall time of the segment read itself, from the debug line after each read.
start_maglevd scrapelog "$work/static.yaml" --metrics-addr "" --log-level debug \
    --vpp-stats-addr "$work/stats.sock"
wait_synced scrapelog 60
wait_for $((PERIODS * 5 + 30)) sh -c "[ \$(grep -c 'event=vpp-stats-scrape' '$work/scrapelog.log') -ge $PERIODS ]"
stop_maglevd
# "<wall us> <thread CPU us>" per read.
grep 'event=vpp-stats-scrape' "$work/scrapelog.log" |
    sed 's/.*duration_us=\([0-9]*\) cpu_us=\([0-9]*\).*/\1 \2/' >"$work/reads"
for col in 1 2; do
    awk -v c=$col '{ print $c }' "$work/reads" | sort -n | awk -v v="$VIPS" -v c=$col '{ d[NR] = $1 } END {
        printf "segment read (read_lb_counters, %d VIPs), %s: n=%d min %d us / median %d us / max %d us\n",
            v, c == 1 ? "wall" : "loop thread CPU", NR, d[1], d[int((NR + 1) / 2)], d[NR] }'
done
moved=$(grep 'event=vpp-vip-stats' "$work/scrapelog.log" | tail -n 1)
echo "last vpp-vip-stats line (counters move with injected traffic): ${moved#*event=}"

fi

echo
echo "## 2. /metrics render: $BACKENDS HTTP backends (nginx, interval 1 s) + $VIPS VIPs with counters"
mkdir -p "$work/nginx-tmp"
cat >"$work/nginx.conf" <<EOF
user root;
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 16384;
pid $work/nginx.pid;
error_log $work/nginx-error.log error;
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path $work/nginx-tmp/body;
    proxy_temp_path $work/nginx-tmp/proxy;
    fastcgi_temp_path $work/nginx-tmp/fastcgi;
    uwsgi_temp_path $work/nginx-tmp/uwsgi;
    scgi_temp_path $work/nginx-tmp/scgi;
    server {
        listen $HTTP_PORT backlog=4096;
        location = /healthz { return 200 "ok\n"; }
    }
}
EOF
nginx -c "$work/nginx.conf" -e "$work/nginx-error.log" &
pids+=($!)
wait_for 10 curl -sf "http://127.1.0.1:$HTTP_PORT/healthz"
"$bin/examples/metrics_bench" config --vips "$VIPS" --backends "$BACKENDS" --port "$HTTP_PORT" \
    --interval 1s >"$work/http.yaml"
url=http://127.0.0.1:$METRICS_PORT/metrics
# Start maglevd with the HTTP config and wait until every backend is up.
start_http() { # start_http NAME [maglevd args...]
    local name=$1; shift
    start_maglevd "$name" "$work/http.yaml" --metrics-addr "127.0.0.1:$METRICS_PORT" "$@"
    wait_for 120 sh -c "[ \$(grep -c 'event=backend-transition.*to=up' '$work/$name.log') -ge $BACKENDS ]"
}
# One GET: "<time to first byte s> <total s> <bytes>", body kept in $work/body.
get() { curl -s -o "$work/body" -w '%{time_starttransfer} %{time_total} %{size_download}\n' "$url"; }
# GETs one per second for $1 s, timings appended to $work/$2.
get_each_second() {
    local t0
    for _ in $(seq "$1"); do
        t0=$(date +%s.%N)
        get >>"$work/$2"
        sleep "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { s = 1 - (b - a); print (s > 0 ? s : 0) }')"
    done
}
# Lateness fields from $work/body: p50 p99 max sum count.
lateness() {
    awk '/^maglevd_timer_lateness_seconds\{quantile="0.5"\}/ { p50 = $2 }
         /^maglevd_timer_lateness_seconds\{quantile="0.99"\}/ { p99 = $2 }
         /^maglevd_timer_lateness_max_seconds / { max = $2 }
         /^maglevd_timer_lateness_seconds_sum / { sum = $2 }
         /^maglevd_timer_lateness_seconds_count / { n = $2 }
         END { print p50, p99, max, sum, n }' "$work/body"
}
# "min median p90 max" in ms of column $2 of file $1 (times in s).
col_stats() {
    awk -v c="$2" '{ print $c * 1000 }' "$1" | sort -n |
        awk '{ d[NR] = $1 } END { printf "min %.1f / median %.1f / p90 %.1f / max %.1f ms", d[1], d[int((NR + 1) / 2)], d[int(NR * 0.9 + 0.5)], d[NR] }'
}

if want 2a; then
echo "### 2a. the full page (VPP + stats: $VIPS VIPs with counters), $SCRAPE_SECS s idle then $SCRAPE_SECS GETs at 1/s"
start_http full --vpp-stats-addr "$work/stats.sock"
wait_synced full 60
sleep 10   # the first counter scrape lands, the AS sync settles
c0=$(cpu "$mpid"); sleep "$SCRAPE_SECS"; c1=$(cpu "$mpid")
get_each_second "$SCRAPE_SECS" gets-full
c2=$(cpu "$mpid")
stop_maglevd
up=$(grep -c '^maglev_backend_state{.*state="up"} 1' "$work/body" || true)
samples=$(grep -vc '^#' "$work/body")
vipsamples=$(grep -c '^maglev_vpp_vip_packets_total' "$work/body" || true)
echo "page: $(wc -c <"$work/body") bytes, $samples samples ($vipsamples VIP packet samples), backends up: $up"
echo "GET /metrics x$(wc -l <"$work/gets-full") (client side):"
echo "  total       $(col_stats "$work/gets-full" 2)"
echo "  first byte  $(col_stats "$work/gets-full" 1)   (maglevd builds the whole page before the first byte)"
echo "  bytes/GET   $(awk '{ b += $3 } END { printf "%.0f", b / NR }' "$work/gets-full")"
echo "$c0 $c1 $c2" | awk -v n="$SCRAPE_SECS" -v hz="$ticks_per_s" '{
    idle = $3 - $1; scr = $5 - $3; ti = $4 - $2; ts = $6 - $4
    printf "maglevd CPU over %d s: idle %.0f ms (ticks %.0f ms), scraping %.0f ms (ticks %.0f ms) => %.1f ms CPU per GET\n",
        n, idle / 1e6, ti * 1000 / hz, scr / 1e6, ts * 1000 / hz, (scr - idle) / 1e6 / n }'
fi

if want 2b; then
echo
echo "### 2b. probe-start lateness, idle vs. scraping (no VPP connection: the 10k-AS sync at startup"
echo "###     would dominate the since-start summary; the page lacks only the VIP counters)"
# Each run: a fresh maglevd, all backends up, 5 s settle, then $SCRAPE_SECS s
# without a GET (idle) or with one GET per second (scraping), then one GET
# whose page holds the summary. maglevd_timer_lateness_* counts since start,
# so both runs cover the same startup and differ only in the GETs.
start_http idle --vpp-api-addr ""
sleep $((5 + SCRAPE_SECS))
get >/dev/null; read -r l_idle < <(lateness)
stop_maglevd
start_http scraping --vpp-api-addr ""
sleep 5
get >/dev/null; read -r l_before < <(lateness)
get_each_second "$SCRAPE_SECS" gets-scraping
read -r l_during < <(lateness)
stop_maglevd
printf '%-44s %8s %8s %8s %10s %10s\n' "" "p50 ms" "p99 ms" "max ms" "count" "mean ms"
printf '%s\n' "idle run, after ${SCRAPE_SECS} s without GET|$l_idle" \
    "scraping run, before the first GET|$l_before" \
    "scraping run, after ${SCRAPE_SECS} GETs at 1/s|$l_during" |
    awk -F'|' '{ split($2, a, " "); mean = a[5] > 0 ? a[4] / a[5] * 1000 : 0
        printf "%-44s %8.3f %8.3f %8.3f %10d %10.3f\n", $1, a[1] * 1000, a[2] * 1000, a[3] * 1000, a[5], mean }'
echo "$l_before|$l_during" | awk -F'|' '{ split($1, p, " "); split($2, a, " ")
    printf "scraping window alone: %d probe starts, mean lateness %.3f ms (d(sum)/d(count))\n",
        a[5] - p[5], (a[4] - p[4]) / (a[5] - p[5]) * 1000 }'
echo "GET /metrics x$(wc -l <"$work/gets-scraping") (no VPP): total $(col_stats "$work/gets-scraping" 2); first byte $(col_stats "$work/gets-scraping" 1)"
fi

if want 2c; then
echo
echo "### 2c. where the loop's time goes per GET (debug log metrics-render; the debug log itself costs CPU)"
start_http breakdown --vpp-stats-addr "$work/stats.sock" --log-level debug
wait_synced breakdown 60
sleep 5
get_each_second 10 gets-breakdown
stop_maglevd
grep 'event=metrics-render' "$work/breakdown.log" | tail -n 10 |
    sed 's/.*bytes=\([0-9]*\) snapshot_us=\([0-9]*\) render_us=\([0-9]*\) respond_us=\([0-9]*\).*/\1 \2 \3 \4/' |
    sort -n -k3 | awk '{ b = $1; s[NR] = $2; r[NR] = $3; w[NR] = $4; t[NR] = $2 + $3 + $4 } END {
        m = int((NR + 1) / 2)
        printf "n=%d, %d bytes; median of render: snapshot %.1f ms, render %.1f ms, respond (copy + first writes) %.1f ms\n",
            NR, b, s[m] / 1000, r[m] / 1000, w[m] / 1000 }'
fi
echo "saved to $OUT" >&2
