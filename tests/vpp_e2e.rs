//! End-to-end: the real maglevd programs the VPP simulator, with real
//! backends on loopback (issue: VPP dataplane).

mod common;

use std::time::Duration;

use common::backends::{lo, HttpBackend};
use common::vpp::{start_sim, weights, WAIT};
use common::Daemon;

fn config(sim_socket: &str, port: u16, extra_lb: &str) -> String {
    format!(
        r#"
maglev:
  vpp:
    api-socket: {sim_socket}
    stats-socket: /nonexistent/stats.sock
    lb:
      ipv4-src-address: 192.0.2.254
      ipv6-src-address: 2001:db8::fe
      startup-min-delay: 0s
      startup-max-delay: 0s
{extra_lb}
  healthchecks:
    web:
      type: http
      port: {port}
      interval: 200ms
      fast-interval: 100ms
      down-interval: 200ms
      timeout: 300ms
      params: {{ path: /healthz }}
  backends:
    web-a: {{ address: 127.41.0.1, healthcheck: web }}
    web-b: {{ address: 127.41.0.2, healthcheck: web }}
    web-c: {{ address: 127.41.0.3, healthcheck: web }}
    static-1: {{ address: 127.41.0.9 }}
  frontends:
    web-v4:
      address: 192.0.2.80
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: {{ web-a: {{}}, web-b: {{ weight: 50 }} }}
        - name: fallback
          backends: {{ web-c: {{}} }}
    web-v6-on-v4:
      address: 2001:db8::80
      protocol: tcp
      port: 80
      src-ip-sticky: true
      pools:
        - name: primary
          backends: {{ web-a: {{}}, static-1: {{ weight: 0 }} }}
"#
    )
}

fn wait_lbsync(d: &Daemon, needle: &[&str]) {
    let mut w = d.watch("log level info");
    let mut want = vec!["vpp-lbsync"];
    want.extend_from_slice(needle);
    w.wait_for(&want, WAIT);
}

#[test]
fn programs_vips_and_follows_health() {
    let sim = start_sim();
    let addrs = [lo(41, 0, 1), lo(41, 0, 2), lo(41, 0, 3)];
    let port = common::backends::common_port(&addrs);
    let backends: Vec<HttpBackend> = addrs
        .iter()
        .map(|a| HttpBackend::start((*a, port).into()))
        .collect();
    let yaml = config(
        sim.socket_path().to_str().unwrap(),
        port,
        "      sync-interval: 0s",
    );
    let d = Daemon::start(
        "vpp-e2e",
        &yaml,
        &["--vpp-api-addr", sim.socket_path().to_str().unwrap()],
    );
    d.wait_backend("web-a", "up", WAIT);
    d.wait_backend("web-b", "up", WAIT);
    d.wait_backend("web-c", "up", WAIT);
    // Converged: the primary pool carries traffic, the fallback stands by.
    let want = |a: u8, b: u8, c: u8| {
        vec![
            ("127.41.0.1".to_string(), a),
            ("127.41.0.2".to_string(), b),
            ("127.41.0.3".to_string(), c),
        ]
    };
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let w = weights(&sim);
        if w.get("192.0.2.80/32 6 80") == Some(&want(100, 50, 0)) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not converged: {w:?}\n{}",
            d.log_tail(30)
        );
        let mut watch = d.watch("log level debug");
        let _ = watch.next_line(std::time::Instant::now() + Duration::from_millis(300));
    }
    let w = weights(&sim);
    assert_eq!(
        w.get("2001:db8::80/128 6 80"),
        Some(&vec![
            ("127.41.0.1".to_string(), 100),
            ("127.41.0.9".to_string(), 0)
        ])
    );
    // The IPv6 VIP with IPv4 backends is an ip6-gre4 VIP with sticky set.
    let cli = sim.with_lb(|lb| lb.show_vips_verbose());
    assert!(cli.contains("ip6-gre4"), "{cli}");
    assert!(cli.contains("2001:db8::80/128 src_ip_sticky"), "{cli}");

    // web-a fails → weight 0 with flush in both VIPs; web-b keeps 50.
    backends[0].set(|b| b.status = 503);
    d.wait_backend("web-a", "down", WAIT);
    sim.wait_for(
        |r| {
            r.name == "lb_as_set_weight"
                && r.summary.contains("127.41.0.1")
                && r.summary.contains("is_flush=true")
        },
        WAIT,
    )
    .expect("flush on down");
    // Failover: web-b down too → fallback pool takes over.
    backends[1].set(|b| b.status = 503);
    d.wait_backend("web-b", "down", WAIT);
    sim.wait_for(
        |r| {
            r.name == "lb_as_set_weight"
                && r.summary.contains("127.41.0.3")
                && r.summary.contains(" weight=100")
        },
        WAIT,
    )
    .expect("failover to the fallback pool");
    assert_eq!(
        weights(&sim).get("192.0.2.80/32 6 80"),
        Some(&want(0, 0, 100))
    );
    // Failback.
    backends[0].set(|b| b.status = 200);
    d.wait_backend("web-a", "up", WAIT);
    sim.wait_for(
        |r| {
            r.name == "lb_as_set_weight"
                && r.summary.contains("127.41.0.3")
                && r.summary.contains(" weight=0 ")
        },
        WAIT,
    )
    .expect("failback");
    assert_eq!(
        weights(&sim).get("192.0.2.80/32 6 80"),
        Some(&want(100, 0, 0))
    );
    drop(backends);
    let _ = wait_lbsync;
}
