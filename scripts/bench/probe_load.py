#!/usr/bin/env python3
"""Probe-load benchmark: maglevd against HAProxy 2.6 on the same nginx.

N backends on distinct 127.x.y.z addresses all point at one local nginx
(`location /healthz { return 200; }` on port 18080); each daemon probes them
every 1 s (timeout 1 s, rise 2, fall 3), in HTTP and in TCP mode. After a
warm-up, a window of `--duration` seconds is measured from /proc:

  cpu      utime+stime of the daemon (/proc/PID/stat), CPU-s per 1,000 probes
           and % of one core
  probes   HTTP: delta of nginx stub_status "requests"; TCP: delta of the
           netns' Tcp ActiveOpens (/proc/net/snmp), i.e. connect() calls,
           because HAProxy resets TCP checks before nginx ever accepts
  rss      peak RSS (VmHWM of /proc/PID/status)

maglevd also reports, when it stops, probe-start lateness against its
schedule (p50/p99/max over the whole run, warm-up included).

By default the whole benchmark re-executes itself in a private network
namespace (`unshare --net`, needs root) so that ActiveOpens counts only the
benchmark's own connections and ports cannot collide with anything else.

Not a test: it prints figures and ratios, and exits 0 unless a daemon
cannot be started. Python 3 standard library only.
"""

import argparse
import ctypes
import datetime
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

NGINX_PORT = 18080
STATUS_PORT = 18081
HAPROXY_FE_PORT = 18090
INTERVAL_S = 1
CLK_TCK = os.sysconf("SC_CLK_TCK")
PR_SET_PDEATHSIG = 1

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def die_with_parent():
    """preexec_fn: the child gets SIGKILL when this script dies, whatever happens."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except OSError:
        pass


def backend_address(i):
    """Backend i on its own address: 127.20.0.1, 127.20.0.2, ... (254 per /24)."""
    return f"127.{20 + i // (254 * 256)}.{(i // 254) % 256}.{i % 254 + 1}"


# ---------------------------------------------------------------- /proc


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    # The command name may contain spaces; fields resume after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return utime / CLK_TCK, stime / CLK_TCK


def exec_seconds(pid):
    """On-CPU time of every thread, from schedstat (ns, not tick-sampled:
    the idle case runs for a few hundred ticks only)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total / 1e9


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def tcp_snmp(field):
    with open("/proc/net/snmp") as f:
        lines = [l.split() for l in f if l.startswith("Tcp:")]
    names, values = lines[0], lines[1]
    return int(values[names.index(field)])


# ---------------------------------------------------------------- nginx


NGINX_CONF = """\
worker_processes {workers};
worker_rlimit_nofile 8192;
daemon off;
master_process on;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_timeout 0;
    server {{
        # A wildcard listener receives every 127.x.y.z backend address.
        listen 0.0.0.0:{port} backlog=4096;
        location /healthz {{ return 200; }}
    }}
    server {{
        listen 127.0.0.1:{status_port};
        location /nginx_status {{ stub_status; }}
    }}
}}
"""


class Nginx:
    def __init__(self, tmp, workers):
        self.tmp = os.path.join(tmp, "nginx")
        os.makedirs(self.tmp)
        self.conf = os.path.join(self.tmp, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(
                NGINX_CONF.format(
                    tmp=self.tmp, port=NGINX_PORT, status_port=STATUS_PORT, workers=workers
                )
            )
        self.proc = None
        # Connections this script makes itself (status fetches), subtracted
        # from the ActiveOpens and request deltas.
        self.own_connects = 0

    def start(self):
        self.proc = subprocess.Popen(
            ["nginx", "-p", self.tmp, "-c", self.conf, "-e", os.path.join(self.tmp, "err.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        wait_for(lambda: self.try_status() is not None, 10, "nginx stub_status")

    def try_status(self):
        try:
            return self.status()
        except OSError:
            return None

    def status(self):
        """(accepts, handled, requests) from stub_status."""
        self.own_connects += 1
        with socket.create_connection(("127.0.0.1", STATUS_PORT), timeout=5) as s:
            s.sendall(b"GET /nginx_status HTTP/1.0\r\nHost: localhost\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        m = re.search(rb"\n\s*(\d+)\s+(\d+)\s+(\d+)\s*\n", data)
        if not m:
            raise OSError(f"unexpected stub_status reply {data!r}")
        return tuple(int(x) for x in m.groups())

    def stop(self):
        stop_process(self.proc, "nginx")


# ---------------------------------------------------------------- daemons


def stop_process(proc, name, timeout=10):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        log(f"{name} ignored SIGTERM, killing")
        proc.kill()
        proc.wait()


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def unix_query(path, line, timeout=10):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(line.encode() + b"\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            # maglevd's reply ends with an empty line; HAProxy closes.
            if data.endswith(b"\n\n"):
                break
    return data.decode(errors="replace")


class Maglevd:
    name = "maglevd"

    def __init__(self, tmp, binary, n, mode):
        self.dir = os.path.join(tmp, f"maglevd-{mode}-{n}")
        os.makedirs(self.dir, exist_ok=True)
        self.binary = binary
        self.sock = os.path.join(self.dir, "ctl.sock")
        self.logfile = os.path.join(self.dir, "maglevd.log")
        self.conf = os.path.join(self.dir, "maglev.yaml")
        self.n = n
        with open(self.conf, "w") as f:
            f.write(self.config(n, mode))
        self.proc = None

    @staticmethod
    def config(n, mode):
        out = [
            "maglev:",
            "  vpp: { api-socket: \"\" }",
            "  healthchecks:",
            "    hc:",
            f"      type: {mode}",
            f"      port: {NGINX_PORT}",
            f"      interval: {INTERVAL_S}s",
            "      timeout: 1s",
            "      rise: 2",
            "      fall: 3",
        ]
        if mode == "http":
            out += ["      params:", "        path: /healthz"]
        out.append("  backends:")
        for i in range(n):
            out.append(f"    b{i:05d}: {{ address: {backend_address(i)}, healthcheck: hc }}")
        # One frontend over a few backends: the rest are probed without one.
        out += [
            "  frontends:",
            "    fe:",
            "      address: 192.0.2.80",
            "      protocol: tcp",
            "      port: 80",
            "      pools:",
            "        - name: primary",
            "          backends:",
        ]
        for i in range(min(n, 3)):
            out.append(f"            b{i:05d}: {{}}")
        return "\n".join(out) + "\n"

    def start(self):
        cmd = [
            self.binary,
            "--config", self.conf,
            "--control-socket", self.sock,
            "--log-file", self.logfile,
            # info, not warn: the `stopping` record carries the lateness
            # figures. In steady state (all backends up) nothing is logged.
            "--log-level", "info",
            "--metrics-addr", "",
            "--vpp-api-addr", "",
        ]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "stderr"), "w"),
            preexec_fn=die_with_parent,
        )
        wait_for(lambda: os.path.exists(self.sock) or self.proc.poll() is not None, 30,
                 "maglevd control socket")
        if self.proc.poll() is not None:
            raise RuntimeError(f"maglevd exited: {read_tail(os.path.join(self.dir, 'stderr'))}")

    def up_count(self):
        text = unix_query(self.sock, "show backends")
        states = [l.split()[2] for l in text.splitlines() if len(l.split()) >= 4]
        return sum(1 for s in states if s == "up"), len(states)

    def stop(self):
        stop_process(self.proc, "maglevd")
        extra = {}
        try:
            with open(self.logfile) as f:
                for line in f:
                    if "event=stopping" in line:
                        for k, v in re.findall(r"(\w+)=(\d+)", line):
                            extra[k] = int(v)
        except OSError:
            pass
        return extra


HAPROXY_CONF = """\
global
    # Single thread, like maglevd's one event loop.
    nbthread 1
    maxconn 256
    ulimit-n {ulimit}
    pidfile {dir}/haproxy.pid
    stats socket {dir}/stats.sock mode 600 level admin
    # Default: no random spread (maglevd jitters ±10 %; HAProxy spreads the
    # first checks over one interval by server position).
    spread-checks 0

defaults
    mode {mode}
    timeout connect 1s
    timeout client 10s
    timeout server 10s
    timeout check 1s

frontend fe
    bind 127.0.0.1:{fe_port}
    default_backend be

backend be
{httpchk}    default-server check inter {interval}s fall 3 rise 2
{servers}
"""


class Haproxy:
    name = "haproxy"

    def __init__(self, tmp, n, mode, hard_nofile):
        self.dir = os.path.join(tmp, f"haproxy-{mode}-{n}")
        os.makedirs(self.dir, exist_ok=True)
        self.sock = os.path.join(self.dir, "stats.sock")
        self.n = n
        self.conf = os.path.join(self.dir, "haproxy.cfg")
        # One fd per server check plus connections and slack, within the hard limit.
        ulimit = min(hard_nofile, n + 2 * 256 + 512)
        servers = "\n".join(
            f"    server s{i:05d} {backend_address(i)}:{NGINX_PORT}" for i in range(n)
        )
        httpchk = "    option httpchk GET /healthz\n" if mode == "http" else ""
        with open(self.conf, "w") as f:
            f.write(HAPROXY_CONF.format(
                dir=self.dir, mode=mode, ulimit=ulimit, fe_port=HAPROXY_FE_PORT,
                httpchk=httpchk, interval=INTERVAL_S, servers=servers,
            ))
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["haproxy", "-db", "-f", self.conf],
            stdout=open(os.path.join(self.dir, "stdout"), "w"), stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
        wait_for(lambda: os.path.exists(self.sock) or self.proc.poll() is not None, 30,
                 "haproxy stats socket")
        if self.proc.poll() is not None:
            raise RuntimeError(f"haproxy exited: {read_tail(os.path.join(self.dir, 'stdout'))}")

    def up_count(self):
        text = unix_query(self.sock, "show stat")
        rows = [l.split(",") for l in text.splitlines() if l.startswith("be,s")]
        # Field 17 is "status" in `show stat` CSV.
        return sum(1 for r in rows if len(r) > 17 and r[17] == "UP"), len(rows)

    def stop(self):
        stop_process(self.proc, "haproxy")
        return {}


def read_tail(path, n=600):
    try:
        with open(path) as f:
            return f.read()[-n:]
    except OSError:
        return ""


# ---------------------------------------------------------------- measurement


def measure(daemon, nginx, mode, warmup, duration):
    """Run one (daemon, mode, N) case; returns a dict of figures."""
    daemon.start()
    pid = daemon.proc.pid
    try:
        time.sleep(warmup)
        if daemon.proc.poll() is not None:
            raise RuntimeError(f"{daemon.name} died during warm-up")
        t0 = time.monotonic()
        u0, s0 = cpu_seconds(pid)
        x0 = exec_seconds(pid)
        opens0, own0 = tcp_snmp("ActiveOpens"), nginx.own_connects
        acc0, _, req0 = nginx.status()
        time.sleep(duration)
        t1 = time.monotonic()
        u1, s1 = cpu_seconds(pid)
        x1 = exec_seconds(pid)
        opens1, own1 = tcp_snmp("ActiveOpens"), nginx.own_connects
        acc1, _, req1 = nginx.status()
        elapsed = t1 - t0
        fds = fd_count(pid)
        hwm_kib = status_kib(pid, "VmHWM")
        rss_kib = status_kib(pid, "VmRSS")
        up, total = daemon.up_count()
    finally:
        extra = daemon.stop()
    # The status fetch that opened the window is inside it once.
    requests = req1 - req0 - 1
    accepts = acc1 - acc0 - 1
    connects = opens1 - opens0 - (own1 - own0)
    probes = requests if mode == "http" else connects
    cpu = (u1 - u0) + (s1 - s0)
    return {
        "daemon": daemon.name,
        "mode": mode,
        "n": daemon.n,
        "elapsed": elapsed,
        "probes": probes,
        "rate": probes / elapsed,
        "rate_pct": 100.0 * probes / elapsed / daemon.n,
        "cpu": cpu,
        "user": u1 - u0,
        "sys": s1 - s0,
        "cpu_per_1k": 1000.0 * cpu / probes if probes > 0 else float("nan"),
        "core_pct": 100.0 * cpu / elapsed,
        "exec": x1 - x0,
        "exec_core_pct": 100.0 * (x1 - x0) / elapsed,
        "hwm_mib": hwm_kib / 1024.0,
        "rss_mib": rss_kib / 1024.0,
        "fds": fds,
        "connects": connects,
        "requests": requests,
        "accepts": accepts,
        "up": up,
        "total": total,
        "extra": extra,
    }



def fmt_row(r):
    lat = ""
    e = r["extra"]
    if "lateness_p99_us" in e:
        lat = (f"  lateness p50/p99/max {e['lateness_p50_us'] / 1000:.2f}/"
               f"{e['lateness_p99_us'] / 1000:.2f}/{e['lateness_max_us'] / 1000:.1f} ms")
    return (
        f"{r['daemon']:8} {r['mode']:4} N={r['n']:<6} rate {r['rate']:9.1f}/s "
        f"({r['rate_pct']:6.2f} %)  cpu {r['cpu']:6.2f} s (usr {r['user']:.2f} sys {r['sys']:.2f}) "
        f"= {r['cpu_per_1k']:.4f} CPU-s/1k, {r['core_pct']:5.1f} % core "
        f"(schedstat {r['exec']:.3f} s = {r['exec_core_pct']:.3f} %)  "
        f"HWM {r['hwm_mib']:6.1f} MiB RSS {r['rss_mib']:6.1f} MiB  fds {r['fds']}  "
        f"up {r['up']}/{r['total']}  [requests {r['requests']} accepts {r['accepts']} "
        f"connects {r['connects']}]{lat}"
    )


def summary_table(results, daemons):
    """N × mode rows, the daemons side by side, medians over runs."""
    lines = []
    keys = sorted({(r["mode"], r["n"]) for r in results}, key=lambda k: (k[0], k[1]))
    head = f"{'mode':4} {'N':>6} |"
    for d in daemons:
        head += f" {d + ' rate %':>16} {'CPU-s/1k':>9} {'% core':>7} {'RSS MiB':>8} |"
    if "maglevd" in daemons and "haproxy" in daemons:
        head += f" {'CPU ratio m/h':>13} | {'p99 late ms':>11}"
    lines.append(head)
    lines.append("-" * len(head))
    for mode, n in keys:
        row = f"{mode:4} {n:>6} |"
        per = {}
        for d in daemons:
            rs = [r for r in results if r["daemon"] == d and r["mode"] == mode and r["n"] == n]
            if not rs:
                row += f" {'-':>16} {'-':>9} {'-':>7} {'-':>8} |"
                continue
            m = {k: median([r[k] for r in rs]) for k in
                 ("rate_pct", "cpu_per_1k", "core_pct", "hwm_mib")}
            m["p99"] = median([r["extra"].get("lateness_p99_us", float("nan")) for r in rs])
            per[d] = m
            row += (f" {m['rate_pct']:15.2f}% {m['cpu_per_1k']:9.4f} {m['core_pct']:7.1f} "
                    f"{m['hwm_mib']:8.1f} |")
        if "maglevd" in per and "haproxy" in per:
            ratio = per["maglevd"]["cpu_per_1k"] / per["haproxy"]["cpu_per_1k"]
            row += f" {ratio:13.2f} | {per['maglevd']['p99'] / 1000:11.2f}"
        elif "maglevd" in per:
            row += f" {'-':>13} | {per['maglevd']['p99'] / 1000:11.2f}"
        lines.append(row)
    return "\n".join(lines)


def median(xs):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


# ---------------------------------------------------------------- main


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1000,5000,10000", help="backend counts, comma separated")
    p.add_argument("--modes", default="http,tcp", help="http,tcp")
    p.add_argument("--daemons", default="maglevd,haproxy", help="maglevd,haproxy")
    p.add_argument("--runs", type=int, default=1, help="runs per (daemon, mode, N)")
    p.add_argument("--duration", type=float, default=30, help="measured window, s")
    p.add_argument("--warmup", type=float, default=10, help="warm-up before the window, s")
    p.add_argument("--idle", type=int, default=100,
                   help="backends of the idle case (0 skips it)")
    p.add_argument("--quick", action="store_true", help="smoke run: N=1000, 10 s, no idle case")
    p.add_argument("--binary", default=os.path.join(REPO, "target/release/maglevd"))
    p.add_argument("--binary-no-https", default=os.path.join(REPO, "target/nohttps/release/maglevd"),
                   help="only its size is reported, if it exists")
    p.add_argument("--nginx-workers", type=int, default=2)
    p.add_argument("--netns", choices=["private", "shared"], default="private",
                   help="private: re-exec under `unshare --net` (default); shared: run here")
    p.add_argument("--out", help="also write the report to this file")
    p.add_argument("--in-netns", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.quick:
        a.sizes, a.duration, a.warmup, a.idle = "1000", 10, 5, 0
    a.sizes = [int(x) for x in a.sizes.split(",") if x]
    a.modes = [x for x in a.modes.split(",") if x]
    a.daemons = [x for x in a.daemons.split(",") if x]
    return a


def enter_private_netns(argv):
    if shutil.which("unshare") is None:
        log("unshare not found: running in the shared namespace")
        return
    os.execvp("unshare", ["unshare", "--net", "--", sys.executable, os.path.abspath(__file__),
                          "--in-netns", *argv])


def main(argv):
    args = parse_args(argv)
    if args.netns == "private" and not args.in_netns:
        enter_private_netns(argv)
    if args.in_netns:
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    for tool in ["nginx"] + (["haproxy"] if "haproxy" in args.daemons else []):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found (apt-get install -y nginx-light haproxy)")
    if "maglevd" in args.daemons and not os.access(args.binary, os.X_OK):
        sys.exit(f"{args.binary} missing: cargo build --release")

    # SIGTERM/SIGHUP take the same clean-up path as Ctrl-C.
    def interrupted(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)

    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    report = []

    def out(line=""):
        print(line, flush=True)
        report.append(line)

    out(f"# probe_load {datetime.datetime.now().isoformat(timespec='seconds')}")
    out(f"# host: {os.uname().nodename} {os.uname().release}, {os.cpu_count()} cpus, "
        f"loadavg at start {open('/proc/loadavg').read().split()[:3]}")
    out(f"# nofile soft/hard {soft}/{hard}; netns {'private' if args.in_netns else 'shared'}")
    hv = subprocess.run(["haproxy", "-v"], capture_output=True, text=True).stdout.splitlines()
    nv = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    out(f"# {hv[0] if hv else 'haproxy ?'}; {nv}; nginx workers {args.nginx_workers}")
    out(f"# interval {INTERVAL_S}s timeout 1s rise 2 fall 3; warm-up {args.warmup}s, "
        f"window {args.duration}s, runs {args.runs}")
    for b in (args.binary, args.binary_no_https):
        if os.path.exists(b):
            out(f"# binary {os.path.relpath(b, REPO)}: {os.path.getsize(b)} bytes "
                f"({os.path.getsize(b) / 1024 / 1024:.2f} MiB)")
    out("# probes: http = nginx stub_status requests delta; tcp = Tcp ActiveOpens delta")
    out()

    tmp = tempfile.mkdtemp(prefix="probe_load.")
    nginx = Nginx(tmp, args.nginx_workers)
    results = []
    try:
        nginx.start()
        cases = []
        if args.idle:
            cases.append(("idle", "http", args.idle))
        for n in args.sizes:
            for mode in args.modes:
                cases.append(("load", mode, n))
        for kind, mode, n in cases:
            for run in range(args.runs):
                for d in args.daemons:
                    if d == "maglevd":
                        daemon = Maglevd(tmp, args.binary, n, mode)
                    else:
                        daemon = Haproxy(tmp, n, mode, hard)
                    log(f"{kind} {d} {mode} N={n} run {run + 1}/{args.runs}")
                    r = measure(daemon, nginx, mode, args.warmup, args.duration)
                    r["kind"] = kind
                    results.append(r)
                    out(("IDLE " if kind == "idle" else "") + fmt_row(r))
        out()
        idle = [r for r in results if r["kind"] == "idle"]
        for r in idle:
            out(f"idle: {r['daemon']} {r['n']} backends at {INTERVAL_S}s: "
                f"{r['exec_core_pct']:.3f} % of a core (schedstat; ticks say {r['core_pct']:.2f} %)")
        load = [r for r in results if r["kind"] == "load"]
        if load:
            out()
            out(summary_table(load, args.daemons))
    except KeyboardInterrupt as e:
        log(f"interrupted ({e}); cleaning up")
    finally:
        nginx.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(report) + "\n")
        log(f"report written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
