//! Stage 2 rules of frontends and pools, and the cross-frontend VIP rules.

use super::semantic::run;
use super::*;

const WEB: &str = "maglev.frontends.web";

fn web(key: &str) -> String {
    format!("{WEB}.{key}")
}

#[test]
fn frontend_fields() {
    run(&[
        (&[(&web("protocol"), Some("udp"))], &[]),
        (&[(&web("protocol"), Some("any")), (&web("port"), Some("0"))], &[]),
        (&[(&web("protocol"), None), (&web("port"), None)], &[]),
        (
            &[(&web("protocol"), None)],
            &["frontends.web.port: 80 with protocol any: an all-protocol VIP must use port 0 (an omitted protocol means any)"],
        ),
        (
            &[(&web("port"), Some("65536"))],
            &["frontends.web.port: 65536 out of range 0..=65535"],
        ),
        (
            &[(&web("port"), Some("-1"))],
            &["frontends.web.port: -1 out of range 0..=65535"],
        ),
        (&[(&web("description"), Some("\"Public web\"")), (&web("src-ip-sticky"), Some("true")), (&web("flush-on-down"), Some("false"))], &[]),
    ]);
}

#[test]
fn pool_rules() {
    run(&[
        (&[(&web("pools"), Some("[]"))], &["frontends.web.pools: at least one pool is required"]),
        (&[(&web("pools"), None)], &["frontends.web.pools: at least one pool is required"]),
        (
            &[(&web("pools[1].name"), None)],
            &["frontends.web.pools[1].name: a non-empty pool name is required"],
        ),
        (
            &[(&web("pools[1].name"), Some("\"\""))],
            &["frontends.web.pools[1].name: a non-empty pool name is required"],
        ),
        (
            &[(&web("pools[1].name"), Some("primary"))],
            &["frontends.web.pools[1].name: duplicate pool name `primary` (also pools[0])"],
        ),
        (
            &[(&web("pools[1].backends"), Some("{}"))],
            &["frontends.web.pools[1].backends: at least one backend is required"],
        ),
        (
            &[(&web("pools[1].backends"), None)],
            &["frontends.web.pools[1].backends: at least one backend is required"],
        ),
        (
            &[(&web("pools[1].backends.ghost"), Some("{}"))],
            &["frontends.web.pools[1].backends.ghost: unknown backend `ghost`"],
        ),
        (
            &[(&web("pools[1].backends.web-a"), Some("{}"))],
            &["frontends.web.pools[1].backends.web-a: backend `web-a` is already in pools[0] of this frontend"],
        ),
        // The same backend in two different frontends is fine.
        (
            &[(
                "maglev.frontends.other",
                Some("{ address: 192.0.2.81, pools: [ { name: p, backends: { web-a: } } ] }"),
            )],
            &[],
        ),
        (&[(&web("pools[1].backends.web-c"), Some("{ weight: 0 }"))], &[]),
        (&[(&web("pools[1].backends.web-c"), Some("100"))], &[]),
        (
            &[(&web("pools[1].backends.web-c"), Some("{ weight: 140 }"))],
            &["frontends.web.pools[1].backends.web-c.weight: 140 out of range 0..=100"],
        ),
        (
            &[(&web("pools[1].backends.web-c"), Some("101"))],
            &["frontends.web.pools[1].backends.web-c.weight: 101 out of range 0..=100"],
        ),
        (
            &[(&web("pools[0].backends.web-b"), Some("-1"))],
            &["frontends.web.pools[0].backends.web-b.weight: -1 out of range 0..=100"],
        ),
    ]);
}

#[test]
fn family_rules() {
    let v6_pool = "{ name: v6, backends: { web6-a: } }";
    let frontend = |address: &str, port: u16, backend: &str| {
        format!("{{ address: \"{address}\", protocol: tcp, port: {port}, pools: [ {{ name: p, backends: {{ {backend}: }} }} ] }}")
    };
    let v4_on_web6_address = frontend("2001:db8::443", 80, "web-a");
    let v6_on_web6_address = frontend("2001:db8::443", 80, "web6-b");
    let v4_backends_v6_vip = frontend("2001:db8::1", 80, "web-a");
    run(&[
        (
            &[(&web("pools"), Some(&format!("[ {{ name: a, backends: {{ web-a: }} }}, {v6_pool} ]")))],
            &["frontends.web.pools: backends mix IPv4 (web-a) and IPv6 (web6-a); all backends of a frontend must share one address family"],
        ),
        // IPv6 VIP with IPv4 backends (IP6_GRE4) is legal.
        (&[("maglev.frontends.x", Some(&v4_backends_v6_vip))], &[]),
        (&[("maglev.frontends.x", Some(&v6_on_web6_address))], &[]),
        (
            &[("maglev.frontends.x", Some(&v4_on_web6_address))],
            &["frontends.x: shares VIP address 2001:db8::443 with frontends.web6, whose backends are IPv6 while these are IPv4; VPP needs one encapsulation per VIP address"],
        ),
    ]);
}

#[test]
fn vip_collision_rules() {
    let frontend = |protocol: &str, port: u16| {
        format!("{{ address: 192.0.2.80, protocol: {protocol}, port: {port}, pools: [ {{ name: p, backends: {{ web-c: }} }} ] }}")
    };
    let (tcp_81, udp_80, tcp_80, any_0, udp_0) = (
        frontend("tcp", 81),
        frontend("udp", 80),
        frontend("tcp", 80),
        frontend("any", 0),
        frontend("udp", 0),
    );
    run(&[
        (&[("maglev.frontends.x", Some(&tcp_81))], &[]),
        (&[("maglev.frontends.x", Some(&udp_80))], &[]),
        (
            &[("maglev.frontends.x", Some(&tcp_80))],
            &["frontends.x: same address, protocol and port as frontends.web"],
        ),
        (
            &[("maglev.frontends.x", Some(&any_0))],
            &["frontends.x: 192.0.2.80 would carry both an all-port VIP (port 0) and a per-port VIP (with frontends.web); VPP refuses that mix"],
        ),
        (
            // Reported on the later name whichever one is the all-port VIP.
            &[("maglev.frontends.a", Some(&any_0))],
            &["frontends.web: 192.0.2.80 would carry both an all-port VIP (port 0) and a per-port VIP (with frontends.a); VPP refuses that mix"],
        ),
        (
            &[(WEB, Some(&any_0)), ("maglev.frontends.x", Some(&udp_0))],
            &["frontends.x: frontends.web is also an all-port VIP (port 0) on 192.0.2.80; VPP keeps one all-port VIP per address whatever the protocol"],
        ),
        (
            &[(WEB, Some(&any_0)), ("maglev.frontends.x", Some(&any_0))],
            &["frontends.x: same address, protocol and port as frontends.web"],
        ),
    ]);
}

#[test]
fn all_errors_are_collected_and_sorted() {
    let text = edited(&[
        (&web("pools[1].backends.web-c"), Some("{ weight: 140 }")),
        ("maglev.healthchecks.web.rise", Some("0")),
        ("maglev.vpp.lb.flow-timeout", Some("0")),
        ("maglev.backends.web-b.healthcheck", Some("nope")),
        ("maglev.healthchecker.transition-history", Some("0")),
    ]);
    let error = parse_str(&text).unwrap_err();
    assert_eq!(error.exit_code(), 2);
    assert_eq!(
        error.to_string(),
        "invalid configuration (5 errors):\n  \
         backends.web-b.healthcheck: unknown healthcheck `nope`\n  \
         frontends.web.pools[1].backends.web-c.weight: 140 out of range 0..=100\n  \
         healthchecker.transition-history: 0 out of range: must be at least 1\n  \
         healthchecks.web.rise: 0 out of range 1..=65535\n  \
         vpp.lb.flow-timeout: 0s out of range 1s..=120s"
    );
}
