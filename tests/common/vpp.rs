//! VPP-side helpers for the end-to-end tests: a simulator per test, and a
//! compact view of what it holds.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{Daemon, Watch};

use vpp_maglev::sim::lb::{AsDumpFilter, LbState};
use vpp_maglev::sim::server::{Record, SimHandle, SimOptions, Simulator};

pub fn start_sim() -> SimHandle {
    Simulator::start(SimOptions::temp()).expect("start vppsim")
}

/// VIP "prefix proto port" → (encap, [(AS address, weight, buckets)] of live ASes).
pub type LbView = BTreeMap<String, (String, Vec<(String, u8, u32)>)>;

pub fn lb_view(lb: &LbState) -> LbView {
    let mut out: LbView = BTreeMap::new();
    for v in lb.vip_dump() {
        out.insert(
            format!(
                "{}/{} {} {}",
                v.key.prefix, v.key.len, v.key.protocol, v.key.port
            ),
            (format!("{:?}", v.encap), Vec::new()),
        );
    }
    let all = AsDumpFilter {
        raw_address: [0; 16],
        protocol: 0,
        port: 0,
    };
    for a in lb.as_v2_dump(&all) {
        if a.flags & 1 == 0 {
            continue;
        }
        let k = format!(
            "{}/{} {} {}",
            a.vip.prefix, a.vip.len, a.vip.protocol, a.vip.port
        );
        if let Some((_, ases)) = out.get_mut(&k) {
            ases.push((a.address.to_string(), a.weight, a.num_buckets));
        }
    }
    for (_, ases) in out.values_mut() {
        ases.sort();
    }
    out
}

/// Weights only: VIP → [(AS, weight)].
pub fn weights(sim: &SimHandle) -> BTreeMap<String, Vec<(String, u8)>> {
    sim.with_lb(|lb| {
        lb_view(lb)
            .into_iter()
            .map(|(k, (_, ases))| (k, ases.into_iter().map(|(a, w, _)| (a, w)).collect()))
            .collect()
    })
}

/// Names of the requests the simulator received, in order.
pub fn request_names(sim: &SimHandle) -> Vec<String> {
    sim.records().into_iter().map(|r| r.name).collect()
}

pub const WAIT: Duration = Duration::from_secs(10);

/// `"prefix proto port"` of a VIP as `lb_view` keys it.
pub fn vip_key_text(prefix: &str, proto: u8, port: u16) -> String {
    format!("{prefix} {proto} {port}")
}

/// Live VIPs from `show lb vips verbose`: key as in [`lb_view`] → (type
/// name such as `ip6-gre4`, src_ip_sticky).
pub fn vip_types(sim: &SimHandle) -> BTreeMap<String, (String, bool)> {
    let text = sim.with_lb(|lb| lb.show_vips_verbose());
    let mut out = BTreeMap::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        // Block header: " <type> [<index>] <prefix>[ src_ip_sticky][ removed]".
        if !line.starts_with(' ') || line.starts_with("  ") {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.len() < 3 || words.contains(&"removed") {
            continue;
        }
        let (ty, prefix) = (words[0].to_string(), words[2].to_string());
        let sticky = words.contains(&"src_ip_sticky");
        let _new_size = lines.next();
        let (mut proto, mut port) = (255u8, 0u16);
        if let Some(l) = lines.peek() {
            if let Some(rest) = l.trim().strip_prefix("protocol:") {
                let mut it = rest.split(" port:");
                proto = it.next().unwrap().parse().unwrap();
                port = it.next().unwrap().parse().unwrap();
            }
        }
        out.insert(vip_key_text(&prefix, proto, port), (ty, sticky));
    }
    out
}

/// Requests that change VPP state.
pub fn is_write(name: &str) -> bool {
    matches!(
        name,
        "lb_conf"
            | "lb_add_del_vip_v2"
            | "lb_add_del_vip"
            | "lb_add_del_as_v2"
            | "lb_add_del_as"
            | "lb_as_set_weight"
            | "lb_flush_vip"
    )
}

/// A record's summary without the per-connection fields.
pub fn strip_hdr(summary: &str) -> String {
    summary
        .split(' ')
        .filter(|w| !w.starts_with("client_index=") && !w.starts_with("context="))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The write requests of `records` as "name fields", header-free.
pub fn writes(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .filter(|r| is_write(&r.name))
        .map(|r| format!("{} {}", r.name, strip_hdr(&r.summary)))
        .collect()
}

/// Waits until `pred` holds on the simulator's lb view, checking again on
/// every line the daemon logs (each VPP reply is logged at debug level, so
/// no change goes unnoticed). Returns the view that satisfied it.
pub fn wait_view(
    d: &Daemon,
    sim: &SimHandle,
    within: Duration,
    mut pred: impl FnMut(&LbView) -> bool,
) -> LbView {
    let mut w = watch_ready(d, "log level debug");
    let deadline = Instant::now() + within;
    loop {
        let v = sim.with_lb(|lb| lb_view(lb));
        if pred(&v) {
            return v;
        }
        if w.next_line(deadline).is_none() {
            let v = sim.with_lb(|lb| lb_view(lb));
            if pred(&v) {
                return v;
            }
            panic!(
                "VPP state did not converge within {within:?}: {v:#?}\nlog tail:\n{}",
                d.log_tail(40)
            );
        }
    }
}

/// A `watch events` stream that is registered for sure: it also asks for
/// backend events and consumes the snapshot's first line (the config must
/// have a backend).
pub fn watch_ready(d: &Daemon, args: &str) -> Watch {
    let mut w = d.watch(&format!("backend {args}"));
    w.next_line(Instant::now() + WAIT)
        .expect("watch snapshot line");
    w
}

/// Waits for a log event (`"msg":"<event>"`) whose line also contains each
/// of `needles`, on a watch opened with [`watch_ready`] before the cause.
pub fn wait_event(w: &mut Watch, event: &str, needles: &[&str], within: Duration) -> String {
    let ev = format!("\"msg\":\"{event}\"");
    let mut all = vec![ev.as_str()];
    all.extend_from_slice(needles);
    w.wait_for(&all, within)
}

/// `show vpp info` (text) as key → value.
pub fn vpp_info(d: &Daemon) -> BTreeMap<String, String> {
    d.ok("show vpp info")
        .lines()
        .filter_map(|l| {
            let mut it = l.splitn(2, ' ');
            let k = it.next()?.trim();
            let v = it.next()?.trim();
            (!k.is_empty()).then(|| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// One numeric counter of `show vpp info`.
pub fn vpp_counter(d: &Daemon, key: &str) -> u64 {
    let info = vpp_info(d);
    info.get(key)
        .unwrap_or_else(|| panic!("no {key} in show vpp info: {info:?}"))
        .parse()
        .unwrap()
}

/// The `vpp:` section of a test config, on `sim`'s socket.
pub fn vpp_section(sim: &SimHandle, lb_extra: &str) -> String {
    format!(
        "  vpp:\n    api-socket: {}\n    stats-socket: /nonexistent/stats.sock\n    lb:\n      \
         ipv4-src-address: 192.0.2.254\n      ipv6-src-address: 2001:db8::fe\n{lb_extra}",
        sim.socket_path().display()
    )
}

/// Starts maglevd on `yaml`, talking to `sim`.
pub fn start_daemon(tag: &str, sim: &SimHandle, yaml: &str) -> Daemon {
    Daemon::start(
        tag,
        yaml,
        &["--vpp-api-addr", sim.socket_path().to_str().unwrap()],
    )
}

/// Waits until `pred` holds, checking again on every line the daemon logs.
pub fn wait_until(d: &Daemon, within: Duration, what: &str, mut pred: impl FnMut() -> bool) {
    let mut w = watch_ready(d, "log level debug");
    let deadline = Instant::now() + within;
    while !pred() {
        if w.next_line(deadline).is_none() && !pred() {
            panic!(
                "{what}: not within {within:?}; log tail:\n{}",
                d.log_tail(40)
            );
        }
    }
}

/// Waits for a log event with `fields` (key, value), whether it was logged
/// before `w` was opened (it is then in the log file) or comes later.
pub fn wait_logged(
    d: &Daemon,
    w: &mut Watch,
    event: &str,
    fields: &[(&str, &str)],
    within: Duration,
) -> String {
    let in_file = || {
        d.log_text()
            .lines()
            .find(|l| {
                l.contains(&format!(" event={event} "))
                    && fields.iter().all(|(k, v)| l.contains(&format!(" {k}={v}")))
            })
            .map(str::to_string)
    };
    if let Some(l) = in_file() {
        return l;
    }
    let json: Vec<String> = std::iter::once(format!("\"msg\":\"{event}\""))
        .chain(fields.iter().map(|(k, v)| format!("\"{k}\":\"{v}\"")))
        .collect();
    let needles: Vec<&str> = json.iter().map(String::as_str).collect();
    let deadline = Instant::now() + within;
    while let Some(l) = w.next_line(deadline) {
        if needles.iter().all(|n| l.contains(n)) {
            return l;
        }
    }
    in_file().unwrap_or_else(|| {
        panic!(
            "no {event} {fields:?} within {within:?}; log tail:\n{}",
            d.log_tail(40)
        )
    })
}
