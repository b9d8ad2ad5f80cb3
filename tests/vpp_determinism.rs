//! End-to-end: maglevd's VPP writes are quiet when nothing changed and
//! independent of how the config is written (issue: VPP dataplane, items
//! 9, 10 and 11). Loopback range 127.62.x.x.

mod common;

use std::time::Duration;

use common::backends::{common_port, lo, HttpBackend};
use common::vpp::*;
use vpp_maglev::sim::server::SimHandle;

/// A config whose lists can be written forwards or backwards (same
/// content): healthchecks, backends, frontends and pool members.
fn yaml(sim: &SimHandle, port: u16, reversed: bool, lb: &str) -> String {
    let order = |mut v: Vec<String>| {
        if reversed {
            v.reverse();
        }
        v.join("")
    };
    let healthchecks = order(vec![
        format!(
            "    web:\n      type: http\n      port: {port}\n      interval: 100ms\n      timeout: 500ms\n      \
             rise: 1\n      fall: 1\n      params: {{ path: /healthz }}\n"
        ),
        format!("    plain:\n      type: tcp\n      port: {port}\n      interval: 100ms\n      rise: 1\n      fall: 1\n"),
    ]);
    let backends = order(
        [
            ("h2", "127.62.0.2", "web"),
            ("h10", "127.62.0.10", "web"),
            ("h3", "127.62.0.3", "plain"),
            ("dead", "127.62.0.4", "web"),
            ("s9", "127.62.0.9", ""),
            ("s100", "127.62.0.100", ""),
            ("v6-9", "2001:db8:62::9", ""),
            ("v6-a", "2001:db8:62::a", ""),
            ("v6-10", "2001:db8:62::10", ""),
        ]
        .iter()
        .map(|(n, a, hc)| {
            if hc.is_empty() {
                format!("    {n}: {{ address: \"{a}\" }}\n")
            } else {
                format!("    {n}: {{ address: \"{a}\", healthcheck: {hc} }}\n")
            }
        })
        .collect(),
    );
    let members = |m: &[&str]| order(m.iter().map(|x| format!("{x}, ")).collect());
    let frontend = |name: &str,
                    addr: &str,
                    proto: &str,
                    port: u16,
                    sticky: bool,
                    pools: &[(&str, &[&str])]| {
        let mut s = format!(
            "    {name}:\n      address: {addr}\n      protocol: {proto}\n      port: {port}\n      \
             src-ip-sticky: {sticky}\n      pools:\n"
        );
        for (p, m) in pools {
            let list = members(m);
            s += &format!(
                "        - name: {p}\n          backends: {{ {} }}\n",
                list.trim_end_matches(", ")
            );
        }
        s
    };
    let frontends = order(vec![
        frontend(
            "web",
            "192.0.2.62",
            "tcp",
            80,
            false,
            &[
                ("primary", &["h10: 40", "h2: {}", "dead: {}", "h3: 70"]),
                ("fallback", &["s100: {}", "s9: 20"]),
            ],
        ),
        frontend(
            "web-tls",
            "192.0.2.62",
            "tcp",
            443,
            true,
            &[("primary", &["s9: {}", "h2: 0", "h10: {}", "s100: 5"])],
        ),
        frontend(
            "v6",
            "2001:db8::62",
            "udp",
            53,
            false,
            &[("primary", &["v6-10: {}", "v6-9: 30", "v6-a: {}"])],
        ),
        frontend(
            "all-ports",
            "198.51.100.62",
            "any",
            0,
            true,
            &[
                ("primary", &["dead: {}"]),
                ("fallback", &["h3: {}", "s9: {}"]),
            ],
        ),
    ]);
    format!(
        "\nmaglev:\n{}\n  healthchecks:\n{healthchecks}  backends:\n{backends}  frontends:\n{frontends}",
        vpp_section(sim, lb)
    )
}

const NO_WARMUP: &str = "      startup-min-delay: 0s\n      startup-max-delay: 0s\n";

fn wait_states(d: &common::Daemon) {
    for b in ["h2", "h10", "h3"] {
        d.wait_backend(b, "up", WAIT);
    }
    d.wait_backend("dead", "down", WAIT);
}

/// The converged state: each VIP holds as many ASes as configured.
fn programmed(v: &LbView) -> bool {
    let n = |k: &str| v.get(k).map(|(_, a)| a.len());
    n("192.0.2.62/32 6 80") == Some(6)
        && n("192.0.2.62/32 6 443") == Some(4)
        && n("2001:db8::62/128 17 53") == Some(3)
        && n("198.51.100.62/32 255 0") == Some(3)
        && v["192.0.2.62/32 6 80"]
            .1
            .iter()
            .any(|(a, w, _)| a == "127.62.0.2" && *w == 100)
        && v["198.51.100.62/32 255 0"]
            .1
            .iter()
            .any(|(a, w, _)| a == "127.62.0.3" && *w == 100)
}

/// Items 11: the same config in another order, against a fresh VPP, gives
/// the same calls in the same order and the same bucket tables.
#[test]
fn shuffled_configs_program_identically() {
    let (port, http) = start_backends_on(0);
    // Warmup min = max: nothing is written before 2s, then one full sync
    // with every backend's state known (probes run every 100ms).
    let lb = "      sync-interval: 0s\n      startup-min-delay: 2s\n      startup-max-delay: 2s\n";
    let sims = [start_sim(), start_sim()];
    let mut runs = Vec::new();
    let daemons: Vec<common::Daemon> = sims
        .iter()
        .enumerate()
        .map(|(i, sim)| {
            start_daemon(
                &format!("vpp-det-shuffle{i}"),
                sim,
                &yaml(sim, port, i == 1, lb),
            )
        })
        .collect();
    assert_ne!(
        std::fs::read_to_string(&daemons[0].config).unwrap(),
        std::fs::read_to_string(&daemons[1].config).unwrap()
    );
    for (d, sim) in daemons.iter().zip(&sims) {
        let mut w = watch_ready(d, "log level debug");
        wait_logged(
            d,
            &mut w,
            "vpp-lbsync",
            &[("trigger", "warmup-end"), ("errors", "0")],
            WAIT,
        );
        wait_states(d);
        runs.push((writes(&sim.records()), sim.with_lb(|lb| lb_view(lb))));
        assert!(
            programmed(&runs.last().unwrap().1),
            "{:#?}",
            runs.last().unwrap().1
        );
    }
    let (w0, v0) = &runs[0];
    let (w1, v1) = &runs[1];
    assert_eq!(w0, w1, "different call sequences");
    assert_eq!(v0, v1, "different tables");
    // Not equal by luck: the order is the documented one (VIPs in key
    // order, ASes numerically, IPv4 first).
    let ases_of = |vip: &str| -> Vec<String> {
        w0.iter()
            .filter(|w| w.starts_with("lb_add_del_as_v2") && w.contains(&format!(" vip={vip} ")))
            .map(|w| {
                w.split(" as=")
                    .nth(1)
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(
        ases_of("192.0.2.62/32 protocol=6 port=80").join(" "),
        "127.62.0.2 127.62.0.3 127.62.0.4 127.62.0.9 127.62.0.10 127.62.0.100"
    );
    assert_eq!(
        ases_of("2001:db8::62/128 protocol=17 port=53").join(" "),
        "2001:db8:62::9 2001:db8:62::a 2001:db8:62::10"
    );
    let vips: Vec<&String> = w0
        .iter()
        .filter(|w| w.starts_with("lb_add_del_vip_v2"))
        .collect();
    assert_eq!(vips.len(), 4, "{vips:#?}");
    assert!(
        vips[0].contains("vip=192.0.2.62/32") && vips[0].contains("port=80"),
        "{vips:#?}"
    );
    assert!(
        vips[1].contains("vip=192.0.2.62/32") && vips[1].contains("port=443"),
        "{vips:#?}"
    );
    assert!(vips[2].contains("vip=198.51.100.62/32"), "{vips:#?}");
    assert!(vips[3].contains("vip=2001:db8::62/128"), "{vips:#?}");
    // Buckets: same per-AS counts, and the table is full where weights exist.
    for (k, (_, ases)) in v0 {
        assert_eq!(ases.iter().map(|a| a.2).sum::<u32>(), 1024, "{k}: {ases:?}");
    }
    assert_eq!(
        sims[0].with_lb(|lb| lb.show_vips_verbose()),
        sims[1].with_lb(|lb| lb.show_vips_verbose())
    );
    drop(http);
}

/// Item 10: on a converged state a second pass writes nothing — including
/// after a one-time flush (a standby backend disabled at weight 0).
#[test]
fn second_pass_over_a_converged_state_writes_nothing() {
    let (port, http) = start_backends_on(1);
    let sim = start_sim();
    let cfg = yaml(
        &sim,
        port,
        false,
        &format!("      sync-interval: 0s\n{NO_WARMUP}"),
    )
    .replace("127.62.0.", "127.62.1.");
    let d = start_daemon("vpp-det-twopass", &sim, &cfg);
    wait_states(&d);
    wait_view(&d, &sim, WAIT, |v| programmed(&rewrite(v)));
    // s100 stands by in web's fallback at weight 0: disabling it flushes once.
    sim.clear_records();
    d.ok("set backend s100 disable");
    sim.wait_for(
        |r| {
            r.name == "lb_as_set_weight"
                && r.summary.contains(
                    "vip=192.0.2.62/32 protocol=6 port=80 as=127.62.1.100 weight=0 is_flush=true",
                )
        },
        WAIT,
    )
    .unwrap_or_else(|| panic!("no flush: {:?}", writes(&sim.records())));
    let r = d.ok("sync vpp lb state");
    assert!(r.contains("changes"), "{r}");
    sim.clear_records();
    let r = d.ok("sync vpp lb state");
    assert!(r.contains("changes 0"), "{r}");
    let names: Vec<String> = sim.records().into_iter().map(|r| r.name).collect();
    assert!(!names.is_empty());
    assert!(
        names.iter().all(
            |n| ["lb_vip_dump", "lb_as_v2_dump", "cli_inband", "control_ping"]
                .contains(&n.as_str())
        ),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n == "lb_vip_dump"));
    drop(http);
}

/// The health-checked backends on 127.62.<net>.x: h2, h10, h3 answer;
/// dead (.4) answers 503.
fn start_backends_on(net: u8) -> (u16, Vec<HttpBackend>) {
    let addrs = [
        lo(62, net, 2),
        lo(62, net, 10),
        lo(62, net, 3),
        lo(62, net, 4),
    ];
    let port = common_port(&addrs);
    let b: Vec<HttpBackend> = addrs
        .iter()
        .map(|a| HttpBackend::start((*a, port).into()))
        .collect();
    b[3].set(|x| x.status = 503);
    (port, b)
}

/// A view with 127.62.<n>. addresses written as 127.62.0. (for [`programmed`]).
fn rewrite(v: &LbView) -> LbView {
    v.iter()
        .map(|(k, (e, ases))| {
            let ases = ases
                .iter()
                .map(|(a, w, b)| {
                    let mut parts: Vec<&str> = a.split('.').collect();
                    if parts.len() == 4 && parts[0] == "127" && parts[1] == "62" {
                        parts[2] = "0";
                    }
                    (parts.join("."), *w, *b)
                })
                .collect();
            (k.clone(), (e.clone(), ases))
        })
        .collect()
}

/// Item 9: `sync-interval: 0` → no periodic pass. Bounded wait for
/// something that must not happen (3 would-be 1s intervals), with the
/// same setup at 1s as the control that it would.
#[test]
fn sync_interval_zero_disables_the_periodic_pass() {
    let (port, http) = start_backends_on(2);
    let run = |interval: &str, tag: &str| -> bool {
        let sim = start_sim();
        let cfg = yaml(
            &sim,
            port,
            false,
            &format!("      sync-interval: {interval}\n{NO_WARMUP}"),
        )
        .replace("127.62.0.", "127.62.2.");
        let d = start_daemon(tag, &sim, &cfg);
        wait_states(&d);
        wait_view(&d, &sim, WAIT, |v| programmed(&rewrite(v)));
        sim.clear_records();
        let dumped = sim
            .wait_for(|r| r.name == "lb_vip_dump", Duration::from_secs(3))
            .is_some();
        if !dumped {
            assert!(!d.log_text().contains("trigger=periodic"));
        }
        dumped
    };
    assert!(
        !run("0s", "vpp-det-interval0"),
        "a periodic pass ran with sync-interval 0"
    );
    assert!(
        run("1s", "vpp-det-interval1"),
        "control: no periodic pass with sync-interval 1s"
    );
    drop(http);
}
