//! The counter path end to end: maglevd maps the simulator's stats segment
//! (handed over SCM_RIGHTS), resolves each VIP's lb index and route stats
//! index, and shows the counters that injected traffic moved — on the
//! control socket and in `/metrics`. A VPP restart hands out a new segment.

mod common;

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use common::vpp::start_sim;
use common::Daemon;
use vpp_maglev::sim::lb::Packet;

const WAIT: Duration = Duration::from_secs(20);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn metrics_get(addr: SocketAddr) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// Wait for a `vpp-vip-stats` record of `vip` with `first` at `first`.
fn wait_scrape(d: &Daemon, vip: &str, first: u64) {
    let mut w = d.watch("log level debug");
    let needle_vip = format!("\"vip\":\"{vip}\"");
    let needle_first = format!("\"first\":\"{first}\"");
    w.wait_for(&["vpp-vip-stats", &needle_vip, &needle_first], WAIT);
}

#[test]
fn counters_follow_injected_traffic() {
    let sim = start_sim();
    let stats = sim
        .stats_socket_path()
        .expect("stats socket")
        .to_str()
        .unwrap()
        .to_string();
    let api = sim.socket_path().to_str().unwrap().to_string();
    let metrics: SocketAddr = format!(
        "127.0.0.1:{}",
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    )
    .parse()
    .unwrap();
    let yaml = format!(
        r#"
maglev:
  vpp:
    api-socket: {api}
    stats-socket: {stats}
    lb:
      ipv4-src-address: 192.0.2.254
      ipv6-src-address: 2001:db8::fe
      startup-min-delay: 0s
      startup-max-delay: 0s
      sync-interval: 0s
  backends:
    s1: {{ address: 198.51.100.1 }}
    s2: {{ address: 198.51.100.2 }}
  frontends:
    web:
      address: 192.0.2.80
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: {{ s1: {{}}, s2: {{}} }}
    web6:
      address: 2001:db8::80
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: {{ s1: {{}} }}
"#
    );
    let d = Daemon::start(
        "vpp-counters",
        &yaml,
        &[
            "--vpp-api-addr",
            &api,
            "--metrics-addr",
            &metrics.to_string(),
        ],
    );
    // The first scrape runs 5 s after connect; counters start at 0.
    wait_scrape(&d, "192.0.2.80/32", 0);
    let packets: Vec<Packet> = (0..4u16)
        .flat_map(|p| {
            let pk = Packet::tcp(ip("10.9.9.9"), 1000 + p, ip("192.0.2.80"), 80);
            [pk, pk, pk]
        })
        .collect();
    sim.with_lb(|lb| lb.inject_traffic(&packets));
    sim.with_lb(|lb| {
        lb.inject_traffic(&[Packet::tcp(
            ip("2001:db8:ffff::2"),
            2000,
            ip("2001:db8::80"),
            80,
        )])
    });
    wait_scrape(&d, "192.0.2.80/32", 4);
    let text = d.ok("show vpp lb counters");
    let row = text
        .lines()
        .find(|l| l.starts_with("192.0.2.80"))
        .unwrap_or_else(|| panic!("no row for the VIP:\n{text}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    // vip protocol port first next untracked no-server fib-packets fib-bytes
    assert_eq!(
        cols,
        ["192.0.2.80", "tcp", "80", "4", "8", "0", "0", "12", "768"],
        "{text}"
    );
    let one = d.ok("json show vpp lb counters web6");
    assert!(
        one.contains("\"first\":1") && !one.contains("192.0.2.80"),
        "{one}"
    );
    let body = metrics_get(metrics);
    for want in [
        "maglev_vpp_vip_packets_total{prefix=\"192.0.2.80/32\",protocol=\"tcp\",port=\"80\",kind=\"first\"} 4",
        "maglev_vpp_vip_packets_total{prefix=\"192.0.2.80/32\",protocol=\"tcp\",port=\"80\",kind=\"next\"} 8",
        "maglev_vpp_vip_route_bytes_total{prefix=\"192.0.2.80/32\",protocol=\"tcp\",port=\"80\"} 768",
        "maglev_vpp_uptime_seconds",
    ] {
        assert!(body.contains(want), "missing {want:?} in /metrics");
    }
    assert!(d
        .ok("show vpp info")
        .lines()
        .any(|l| l.starts_with("vpp-boottime") && !l.contains("1970")));

    // A VPP restart: new segment, VIPs re-programmed, counters from zero.
    let deadline = Instant::now() + WAIT;
    sim.restart().unwrap();
    wait_scrape(&d, "192.0.2.80/32", 0);
    assert!(Instant::now() < deadline);
    sim.with_lb(|lb| lb.inject_traffic(&[Packet::tcp(ip("10.9.9.8"), 7, ip("192.0.2.80"), 80)]));
    wait_scrape(&d, "192.0.2.80/32", 1);
}
