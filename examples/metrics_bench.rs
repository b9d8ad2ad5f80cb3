//! Helpers for scripts/bench/metrics.sh (the counter-scrape and `/metrics`
//! render benchmark): a config generator and an in-process VPP simulator
//! whose counters move.
//!
//! ```text
//! cargo run --release --example metrics_bench -- config \
//!     --vips 1000 [--backends 0|N] [--ases-per-vip 4] [--port 18480] \
//!     [--interval 1s] > maglev.yaml
//! cargo run --release --example metrics_bench -- sim \
//!     --api-socket A --stats-socket S [--vips 1000] [--traffic-every 1]
//! ```
//!
//! `config` prints a maglevd config with `--vips` frontends (TCP port 80 on
//! 198.18.0.0/15, the benchmarking range: the addresses are data only, no
//! packet is ever sent to them). With `--backends 0` each frontend takes
//! `--ases-per-vip` of 16 static backends (198.51.100.1–16); with
//! `--backends N` there are N HTTP-checked backends on 127.1.0.0/16 (port
//! `--port`, path `/healthz`), split evenly over the frontends. The API
//! and stats sockets come from maglevd's `--vpp-api-addr` and
//! `--vpp-stats-addr`.
//!
//! `sim` serves the simulator on the two sockets and, every
//! `--traffic-every` seconds, injects one new TCP flow into each VIP (so
//! every lb counter and the route counters move), until SIGTERM or SIGINT.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use vpp_maglev::sim::lb::Packet;
use vpp_maglev::sim::server::{SimOptions, Simulator};

const VIP_PORT: u16 = 80;
const STATIC_BACKENDS: usize = 16;

/// VIP `i` (0-based) in 198.18.0.0/15.
fn vip(i: usize) -> Ipv4Addr {
    let n = u32::from(Ipv4Addr::new(198, 18, 0, 1)) + i as u32;
    Ipv4Addr::from(n)
}

/// HTTP backend `i` (0-based) on 127.1.0.0/16, skipping .0 and .255.
fn http_backend(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 1, (i / 250) as u8, (i % 250 + 1) as u8)
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: metrics_bench config --vips N [--backends N] [--ases-per-vip K] [--port P] [--interval D]\n\
         \x20      metrics_bench sim --api-socket PATH --stats-socket PATH [--vips N] [--traffic-every SECS]"
    );
    ExitCode::from(2)
}

/// `--flag value` pairs after the subcommand.
fn flags(args: &[String]) -> Option<Vec<(String, String)>> {
    args.chunks(2)
        .map(|c| match c {
            [k, v] if k.starts_with("--") => Some((k.clone(), v.clone())),
            _ => None,
        })
        .collect()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = args.split_first() else {
        return usage();
    };
    let Some(flags) = flags(rest) else {
        return usage();
    };
    let get = |name: &str| {
        flags
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let num = |name: &str, default: usize| -> Option<usize> {
        match get(name) {
            None => Some(default),
            Some(v) => v.parse().ok(),
        }
    };
    match cmd.as_str() {
        "config" => {
            let (Some(vips), Some(backends), Some(per_vip), Some(port)) = (
                num("--vips", 1000),
                num("--backends", 0),
                num("--ases-per-vip", 4),
                num("--port", 18480),
            ) else {
                return usage();
            };
            if vips == 0 || (backends > 0 && backends < vips) {
                eprintln!("metrics_bench: need --vips > 0 and --backends 0 or >= --vips");
                return ExitCode::from(2);
            }
            let interval = get("--interval").unwrap_or_else(|| "1s".into());
            print!("{}", config(vips, backends, per_vip, port, &interval));
            ExitCode::SUCCESS
        }
        "sim" => {
            let (Some(api), Some(stats), Some(vips), Some(every)) = (
                get("--api-socket"),
                get("--stats-socket"),
                num("--vips", 1000),
                num("--traffic-every", 1),
            ) else {
                return usage();
            };
            match run_sim(api.into(), stats.into(), vips, every.max(1) as u64) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("metrics_bench: {e}");
                    ExitCode::from(1)
                }
            }
        }
        _ => usage(),
    }
}

fn config(vips: usize, backends: usize, per_vip: usize, port: usize, interval: &str) -> String {
    let mut y = String::new();
    y.push_str(
        "maglev:\n  vpp:\n    api-socket: \"\"\n    stats-socket: \"\"\n    lb:\n\
         \x20     ipv4-src-address: 192.0.2.254\n      ipv6-src-address: 2001:db8::fe\n\
         \x20     startup-min-delay: 0s\n      startup-max-delay: 2s\n      sync-interval: 0s\n",
    );
    if backends > 0 {
        let _ = write!(
            y,
            "  healthchecks:\n    http:\n      type: http\n      port: {port}\n\
             \x20     interval: {interval}\n      timeout: 500ms\n      rise: 2\n      fall: 2\n\
             \x20     params: {{ path: /healthz, response-codes: \"200\" }}\n"
        );
    }
    y.push_str("  backends:\n");
    let names: Vec<String> = if backends > 0 {
        (0..backends)
            .map(|i| {
                let _ = writeln!(
                    y,
                    "    b{i}: {{ address: {}, healthcheck: http }}",
                    http_backend(i)
                );
                format!("b{i}")
            })
            .collect()
    } else {
        (0..STATIC_BACKENDS)
            .map(|i| {
                let _ = writeln!(y, "    s{i}: {{ address: 198.51.100.{} }}", i + 1);
                format!("s{i}")
            })
            .collect()
    };
    y.push_str("  frontends:\n");
    for v in 0..vips {
        let members: Vec<&str> = if backends > 0 {
            // An even split: frontend v owns backends [v*n/vips, (v+1)*n/vips).
            (v * backends / vips..(v + 1) * backends / vips)
                .filter_map(|i| names.get(i).map(String::as_str))
                .collect()
        } else {
            (0..per_vip.clamp(1, STATIC_BACKENDS))
                .filter_map(|k| names.get((v + k) % STATIC_BACKENDS).map(String::as_str))
                .collect()
        };
        let list: Vec<String> = members.iter().map(|m| format!("{m}: {{}}")).collect();
        let _ = write!(
            y,
            "    f{v}:\n      address: {}\n      protocol: tcp\n      port: {VIP_PORT}\n\
             \x20     pools:\n        - name: primary\n          backends: {{ {} }}\n",
            vip(v),
            list.join(", ")
        );
    }
    y
}

fn run_sim(api: PathBuf, stats: PathBuf, vips: usize, every: u64) -> std::io::Result<()> {
    let mut opts = SimOptions::new(api);
    opts.stats_socket_path = Some(stats);
    // The recorder is for tests; keep its memory out of the way.
    opts.record_capacity = 16;
    let sim = Simulator::start(opts)?;
    let mut signals = Signals::new([SIGTERM, SIGINT])?;
    eprintln!(
        "metrics_bench sim: api={} stats={} vips={vips}",
        sim.socket_path().display(),
        sim.stats_socket_path()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    );
    let client = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7));
    let mut round: u16 = 0;
    loop {
        for _ in 0..every * 10 {
            if signals.pending().next().is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // One new flow per VIP and round: `first` and the route counters
        // of every VIP grow by one each round.
        round = round.wrapping_add(1);
        let packets: Vec<Packet> = (0..vips)
            .map(|v| Packet::tcp(client, 1024 + round, IpAddr::V4(vip(v)), VIP_PORT))
            .collect();
        sim.with_lb(|lb| lb.inject_traffic(&packets));
    }
}
