"""Split each flip of a `perf script` trace (see reaction_breakdown.sh).

A flip starts with the flip backend's `sendto` of a response whose length
differs from the previous one (200 and 503 answers differ in length). Then:
maglevd's last `recvfrom` before its first non-HTTP-request `sendto` (the
lb_as_set_weight frame on the API socket: HTTP requests are 0x6e-0x73 bytes),
and vppsim's next `recvfrom`/`read`.
"""
import re
import sys

LINE = re.compile(r"\s*(\S+)\s+(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s*(.*)")


def arg(rest, key):
    m = re.search(key + r": (0x[0-9a-f]+)", rest)
    return int(m.group(1), 16) if m else None


def quantile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main(path):
    ev = []
    for line in open(path):
        m = LINE.match(line)
        if m:
            comm, tid, cpu, t, event, rest = m.groups()
            ev.append((float(t), comm, int(cpu), event, rest))
    ev.sort(key=lambda e: e[0])
    rows = []
    previous = None
    for i, (t, comm, _cpu, event, rest) in enumerate(ev):
        if comm != "flip-backend" or event != "syscalls:sys_enter_sendto":
            continue
        length = arg(rest, "len")
        if length == previous:
            continue
        previous = length
        j, write, write_cpu, read_at = i + 1, None, None, None
        last_recv = None
        while j < len(ev) and ev[j][0] - t < 0.05:
            tt, c, cpu, e, r = ev[j]
            if c == "maglevd" and e == "syscalls:sys_enter_recvfrom":
                last_recv = tt
            if c == "maglevd" and e == "syscalls:sys_enter_sendto" and not 0x6E <= arg(r, "len") <= 0x73:
                write, write_cpu = tt, cpu
                break
            j += 1
        if write is None or last_recv is None:
            continue
        k, read_cpu = j + 1, None
        while k < len(ev) and ev[k][0] - write < 0.05:
            tt, c, cpu, e, _r = ev[k]
            if c == "vppsim" and e in ("syscalls:sys_enter_recvfrom", "syscalls:sys_enter_read"):
                read_at, read_cpu = tt, cpu
                break
            k += 1
        if read_at is None:
            continue
        rows.append((last_recv - t, write - last_recv, read_at - write, read_at - t, write_cpu == read_cpu))
    if not rows:
        print("no complete flip found in the trace")
        return
    names = [
        "response written -> maglevd reads it",
        "maglevd reads -> writes to VPP",
        "maglevd writes -> vppsim reads",
        "total",
    ]
    for idx, name in enumerate(names):
        v = [r[idx] * 1e6 for r in rows]
        print(f"{name:38s} n={len(v)} p50 {quantile(v, .5):6.0f} µs  p90 {quantile(v, .9):6.0f} µs  "
              f"p99 {quantile(v, .99):6.0f} µs  max {max(v):6.0f} µs")
    slow = [r for r in rows if r[2] > 500e-6]
    print(f"vppsim reads later than 0.5 ms after the write: {len(slow)}, "
          f"{sum(1 for r in slow if r[4])} of them on the CPU maglevd wrote from")


if __name__ == "__main__":
    main(sys.argv[1])
