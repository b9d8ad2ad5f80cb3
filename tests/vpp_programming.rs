//! End-to-end: what maglevd programs into VPP (the simulator) for each kind
//! of frontend, and how health and operator changes reach it (issue: VPP
//! dataplane, items 1, 2, 4, 5 and 14). Loopback range 127.60.x.x.

mod common;

use std::collections::BTreeMap;

use common::backends::{common_port, lo, HttpBackend};
use common::vpp::*;
use common::{is_error, Daemon};
use vpp_maglev::sim::lb::LbState;

fn hc_section(port: u16, extra: &str) -> String {
    format!(
        r#"  healthchecks:
    web:
      type: http
      port: {port}
      interval: 100ms
      timeout: 500ms
      rise: 1
      fall: 1
      params: {{ path: /healthz }}
{extra}"#
    )
}

/// Expected view entry: encap, [(AS, weight)].
fn want(encap: &str, ases: &[(&str, u8)]) -> (String, Vec<(String, u8)>) {
    let mut a: Vec<(String, u8)> = ases.iter().map(|(s, w)| (s.to_string(), *w)).collect();
    a.sort();
    (encap.to_string(), a)
}

fn without_buckets(v: &LbView) -> BTreeMap<String, (String, Vec<(String, u8)>)> {
    v.iter()
        .map(|(k, (e, ases))| {
            (
                k.clone(),
                (
                    e.clone(),
                    ases.iter().map(|(a, w, _)| (a.clone(), *w)).collect(),
                ),
            )
        })
        .collect()
}

/// Item 1: every kind of frontend, programmed exactly.
#[test]
fn initial_programming_of_every_frontend_kind() {
    let sim = start_sim();
    let v4 = [lo(60, 0, 1), lo(60, 0, 2), lo(60, 0, 3)];
    let port = common_port(&v4);
    let http: Vec<HttpBackend> = v4
        .iter()
        .map(|a| HttpBackend::start((*a, port).into()))
        .collect();
    let yaml = format!(
        r#"
maglev:
{vpp}
{hc}
  backends:
    v4-a: {{ address: 127.60.0.1, healthcheck: web }}
    v4-b: {{ address: 127.60.0.2, healthcheck: web }}
    v4-c: {{ address: 127.60.0.3, healthcheck: web }}
    static4: {{ address: 127.60.0.9 }}
    v6-s0: {{ address: "2001:db8:1::10" }}
    v6-s1: {{ address: "2001:db8:1::1" }}
    v6-s2: {{ address: "2001:db8:1::2" }}
  frontends:
    web-v4:
      address: 192.0.2.10
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: {{ v4-a: {{}}, v4-b: {{ weight: 50 }} }}
        - name: fallback
          backends: {{ v4-c: {{}} }}
    web-v4-tls:
      address: 192.0.2.10
      protocol: tcp
      port: 443
      pools:
        - name: primary
          backends: {{ static4: 30, v4-a: 0 }}
    v6-on-v4:
      address: 2001:db8::10
      protocol: tcp
      port: 80
      src-ip-sticky: true
      pools:
        - name: primary
          backends: {{ v4-b: {{}} }}
        - name: fallback
          backends: {{ static4: {{}} }}
    v6-on-v6:
      address: 2001:db8::20
      protocol: udp
      port: 53
      pools:
        - name: primary
          backends: {{ v6-s0: {{}}, v6-s1: 20 }}
        - name: fallback
          backends: {{ v6-s2: {{}} }}
    v4-on-v6:
      address: 192.0.2.20
      protocol: any
      pools:
        - name: primary
          backends: {{ v6-s2: {{}} }}
    fallback-only:
      address: 192.0.2.30
      protocol: tcp
      port: 8080
      pools:
        - name: primary
          backends: {{ static4: 0 }}
        - name: fallback
          backends: {{ v4-c: 60 }}
"#,
        vpp = vpp_section(
            &sim,
            "      sync-interval: 0s\n      startup-min-delay: 0s\n      startup-max-delay: 0s"
        ),
        hc = hc_section(port, ""),
    );
    let d = start_daemon("vpp-prog-kinds", &sim, &yaml);
    for b in ["v4-a", "v4-b", "v4-c"] {
        d.wait_backend(b, "up", WAIT);
    }
    let expected: BTreeMap<_, _> = [
        (
            "192.0.2.10/32 6 80",
            want(
                "Gre4",
                &[("127.60.0.1", 100), ("127.60.0.2", 50), ("127.60.0.3", 0)],
            ),
        ),
        (
            "192.0.2.10/32 6 443",
            want("Gre4", &[("127.60.0.1", 0), ("127.60.0.9", 30)]),
        ),
        (
            "192.0.2.20/32 255 0",
            want("Gre6", &[("2001:db8:1::2", 100)]),
        ),
        (
            "192.0.2.30/32 6 8080",
            want("Gre4", &[("127.60.0.3", 60), ("127.60.0.9", 0)]),
        ),
        (
            "2001:db8::10/128 6 80",
            want("Gre4", &[("127.60.0.2", 100), ("127.60.0.9", 0)]),
        ),
        (
            "2001:db8::20/128 17 53",
            want(
                "Gre6",
                &[
                    ("2001:db8:1::1", 20),
                    ("2001:db8:1::10", 100),
                    ("2001:db8:1::2", 0),
                ],
            ),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let view = wait_view(&d, &sim, WAIT, |v| without_buckets(v) == expected);
    // Every VIP with traffic spreads its 1024 buckets over the ASes with a
    // weight; weight 0 gets none.
    for (k, (_, ases)) in &view {
        let total: u32 = ases.iter().map(|(_, _, b)| b).sum();
        assert_eq!(total, 1024, "{k}: {ases:?}");
        for (a, w, b) in ases {
            assert_eq!(*w == 0, *b == 0, "{k} {a}: weight {w} buckets {b}");
        }
    }
    let types = vip_types(&sim);
    let types_want: BTreeMap<String, (String, bool)> = [
        ("192.0.2.10/32 6 80", "ip4-gre4", false),
        ("192.0.2.10/32 6 443", "ip4-gre4", false),
        ("192.0.2.20/32 255 0", "ip4-gre6", false),
        ("192.0.2.30/32 6 8080", "ip4-gre4", false),
        ("2001:db8::10/128 6 80", "ip6-gre4", true),
        ("2001:db8::20/128 17 53", "ip6-gre6", false),
    ]
    .into_iter()
    .map(|(k, t, s)| (k.to_string(), (t.to_string(), s)))
    .collect();
    assert_eq!(types, types_want);
    // lb_conf carried the configured globals.
    let conf = sim.with_lb(|lb: &mut LbState| lb.conf_get());
    assert_eq!(conf.ip4_src.to_string(), "192.0.2.254");
    assert_eq!(conf.ip6_src.to_string(), "2001:db8::fe");
    drop(http);
}

fn two_frontends_yaml(
    sim: &vpp_maglev::sim::server::SimHandle,
    port: u16,
    lb_extra: &str,
) -> String {
    format!(
        r#"
maglev:
{vpp}
{hc}
  backends:
    x: {{ address: 127.60.1.1, healthcheck: web }}
    y: {{ address: 127.60.1.2, healthcheck: web }}
  frontends:
    flush:
      address: 192.0.2.40
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: {{ x: 70, y: {{}} }}
    drain:
      address: 192.0.2.41
      protocol: tcp
      port: 80
      flush-on-down: false
      pools:
        - name: primary
          backends: {{ x: 70, y: {{}} }}
"#,
        vpp = vpp_section(sim, lb_extra),
        hc = hc_section(port, ""),
    )
}

const QUICK: &str =
    "      sync-interval: 0s\n      startup-min-delay: 0s\n      startup-max-delay: 0s";

fn converge_two(d: &Daemon, sim: &vpp_maglev::sim::server::SimHandle) {
    d.wait_backend("x", "up", WAIT);
    d.wait_backend("y", "up", WAIT);
    wait_view(d, sim, WAIT, |v| {
        let w = |k: &str| {
            v.get(k).map(|(_, a)| {
                a.iter()
                    .map(|(a, w, _)| (a.clone(), *w))
                    .collect::<Vec<_>>()
            })
        };
        let full = Some(vec![
            ("127.60.1.1".to_string(), 70),
            ("127.60.1.2".to_string(), 100),
        ]);
        w("192.0.2.40/32 6 80") == full && w("192.0.2.41/32 6 80") == full
    });
}

fn set_weight_records(
    sim: &vpp_maglev::sim::server::SimHandle,
    vip: &str,
    addr: &str,
) -> Vec<String> {
    sim.records()
        .into_iter()
        .filter(|r| r.name == "lb_as_set_weight" && r.summary.contains(&format!("vip={vip}/")))
        .filter(|r| r.summary.contains(&format!("as={addr} ")))
        .map(|r| strip_hdr(&r.summary))
        .collect()
}

/// Item 2: a backend failure sets weight 0 with flush where flush-on-down
/// is true, and without where it is false.
#[test]
fn backend_failure_flushes_only_with_flush_on_down() {
    let sim = start_sim();
    let addrs = [lo(60, 1, 1), lo(60, 1, 2)];
    let port = common_port(&addrs);
    let http: Vec<HttpBackend> = addrs
        .iter()
        .map(|a| HttpBackend::start((*a, port).into()))
        .collect();
    let d = start_daemon(
        "vpp-prog-flush",
        &sim,
        &two_frontends_yaml(&sim, port, QUICK),
    );
    converge_two(&d, &sim);
    sim.clear_records();
    http[0].set(|b| b.status = 503);
    d.wait_backend("x", "down", WAIT);
    let is_x_zero = |vip: &'static str| {
        move |r: &vpp_maglev::sim::server::Record| {
            r.name == "lb_as_set_weight"
                && r.summary.contains(&format!("vip={vip}/"))
                && r.summary.contains("as=127.60.1.1 ")
                && r.summary.contains(" weight=0 ")
        }
    };
    sim.wait_for(is_x_zero("192.0.2.40"), WAIT)
        .expect("weight 0 on the flush VIP");
    sim.wait_for(is_x_zero("192.0.2.41"), WAIT)
        .expect("weight 0 on the drain VIP");
    wait_view(&d, &sim, WAIT, |v| {
        ["192.0.2.40/32 6 80", "192.0.2.41/32 6 80"]
            .iter()
            .all(|k| v.get(*k).is_some_and(|(_, a)| a[0].1 == 0 && a[1].1 == 100))
    });
    assert_eq!(
        set_weight_records(&sim, "192.0.2.40", "127.60.1.1"),
        ["vip=192.0.2.40/32 protocol=6 port=80 as=127.60.1.1 weight=0 is_flush=true"]
    );
    assert_eq!(
        set_weight_records(&sim, "192.0.2.41", "127.60.1.1"),
        ["vip=192.0.2.41/32 protocol=6 port=80 as=127.60.1.1 weight=0 is_flush=false"]
    );
    // y was not touched.
    assert!(set_weight_records(&sim, "192.0.2.40", "127.60.1.2").is_empty());
    assert!(set_weight_records(&sim, "192.0.2.41", "127.60.1.2").is_empty());
    drop(http);
}

/// Item 4: `disable` → weight 0 with flush (whatever flush-on-down says);
/// `enable` → back to the configured weight after one passing probe.
#[test]
fn disable_flushes_and_enable_restores_after_one_probe() {
    let sim = start_sim();
    let addrs = [lo(60, 1, 11), lo(60, 1, 12)];
    let port = common_port(&addrs);
    let http: Vec<HttpBackend> = addrs
        .iter()
        .map(|a| HttpBackend::start((*a, port).into()))
        .collect();
    let yaml = two_frontends_yaml(&sim, port, QUICK)
        .replace("127.60.1.1", "127.60.1.11")
        .replace("127.60.1.2", "127.60.1.12")
        // rise 2: "one probe" below is the unknown state's preset, not rise 1.
        .replace("rise: 1", "rise: 2");
    let d = start_daemon("vpp-prog-disable", &sim, &yaml);
    d.wait_backend("x", "up", WAIT);
    d.wait_backend("y", "up", WAIT);
    wait_view(&d, &sim, WAIT, |v| {
        v.get("192.0.2.41/32 6 80")
            .is_some_and(|(_, a)| a.iter().map(|x| x.1).collect::<Vec<_>>() == [70, 100])
            && v.get("192.0.2.40/32 6 80")
                .is_some_and(|(_, a)| a.iter().map(|x| x.1).collect::<Vec<_>>() == [70, 100])
    });
    sim.clear_records();
    d.ok("set backend x disable");
    for vip in ["192.0.2.40", "192.0.2.41"] {
        let summary =
            format!("vip={vip}/32 protocol=6 port=80 as=127.60.1.11 weight=0 is_flush=true");
        sim.wait_for(
            |r| r.name == "lb_as_set_weight" && strip_hdr(&r.summary) == summary,
            WAIT,
        )
        .unwrap_or_else(|| panic!("no {summary}; got {:?}", writes(&sim.records())));
    }
    assert_eq!(d.backend_state("x"), "disabled");
    sim.clear_records();
    let mut w = d.watch("backend");
    d.ok("set backend x enable");
    for vip in ["192.0.2.40", "192.0.2.41"] {
        let summary =
            format!("vip={vip}/32 protocol=6 port=80 as=127.60.1.11 weight=70 is_flush=false");
        sim.wait_for(
            |r| r.name == "lb_as_set_weight" && strip_hdr(&r.summary) == summary,
            WAIT,
        )
        .unwrap_or_else(|| panic!("no {summary}; got {:?}", writes(&sim.records())));
    }
    // The backend went disabled → unknown → up: one probe, no detour via down.
    let x_flush = ["\"backend\":\"x\"", "\"frontend\":\"flush\""];
    w.wait_for(
        &[
            &x_flush[..],
            &["\"from\":\"disabled\"", "\"to\":\"unknown\""],
        ]
        .concat(),
        WAIT,
    );
    let up = w.wait_for(&x_flush, WAIT);
    assert!(up.contains("\"to\":\"up\""), "{up}");
    // Only x's weight changed, once per VIP.
    assert_eq!(
        writes(&sim.records()).len(),
        2,
        "{:?}",
        writes(&sim.records())
    );
    drop(http);
}

fn flip_yaml(sim: &vpp_maglev::sim::server::SimHandle, sticky: bool, v6_backends: bool) -> String {
    let fam = if v6_backends {
        "{ s6a: {}, s6b: 50 }"
    } else {
        "{ s4a: {}, s4b: 50 }"
    };
    format!(
        r#"
maglev:
{vpp}
  backends:
    s4a: {{ address: 127.60.2.1 }}
    s4b: {{ address: 127.60.2.2 }}
    s6a: {{ address: "2001:db8:60::1" }}
    s6b: {{ address: "2001:db8:60::2" }}
  frontends:
    sticky:
      address: 192.0.2.50
      protocol: tcp
      port: 80
      src-ip-sticky: {sticky}
      pools:
        - name: primary
          backends: {{ s4a: {{}}, s4b: 50 }}
    family:
      address: 2001:db8::50
      protocol: tcp
      port: 443
      pools:
        - name: primary
          backends: {fam}
    steady:
      address: 192.0.2.51
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: {{ s4b: {{}} }}
"#,
        vpp = vpp_section(sim, QUICK),
    )
}

/// The recorded writes touching one VIP, header-free.
fn vip_writes(sim: &vpp_maglev::sim::server::SimHandle, vip: &str) -> Vec<String> {
    writes(&sim.records())
        .into_iter()
        .filter(|w| w.contains(&format!(" vip={vip}/")))
        .map(|w| {
            // Keep what identifies the call; the VIP add's constant fields
            // (dscp, type, target_port) are noise here.
            w.split(' ')
                .filter(|f| {
                    ![
                        "dscp=",
                        "type=",
                        "target_port=",
                        "new_flows_table_length=",
                        "protocol=",
                        "port=",
                    ]
                    .iter()
                    .any(|p| f.starts_with(p))
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// Item 5: flipping src-ip-sticky, and moving a frontend's backends to the
/// other family, recreate the VIP on reload: ASes deleted with flush, VIP
/// deleted, VIP added, ASes added — and `vpp-vip-recreate` says why.
#[test]
fn sticky_and_family_flips_recreate_the_vip_on_reload() {
    let sim = start_sim();
    let d = start_daemon("vpp-prog-flip", &sim, &flip_yaml(&sim, false, false));
    // Wait for the whole initial state (5 ASes), not just its first calls.
    wait_view(&d, &sim, WAIT, |v| {
        v.len() == 3 && v.values().map(|(_, a)| a.len()).sum::<usize>() == 5
    });
    assert_eq!(
        vip_types(&sim)["2001:db8::50/128 6 443"],
        ("ip6-gre4".to_string(), false)
    );
    sim.clear_records();
    let mut w = watch_ready(&d, "log level info");
    std::fs::write(&d.config, flip_yaml(&sim, true, true)).unwrap();
    d.ok("config reload");
    let sticky_log = wait_event(&mut w, "vpp-vip-recreate", &["192.0.2.50"], WAIT);
    assert!(
        sticky_log.contains("src-ip-sticky false->true"),
        "{sticky_log}"
    );
    let family_log = wait_event(&mut w, "vpp-vip-recreate", &["2001:db8::50"], WAIT);
    assert!(family_log.contains("encap gre4->gre6"), "{family_log}");
    let done = wait_event(&mut w, "vpp-lbsync", &["\"trigger\":\"reload\""], WAIT);
    assert!(done.contains("\"errors\":\"0\""), "{done}");
    assert_eq!(
        vip_writes(&sim, "192.0.2.50"),
        [
            "lb_add_del_as_v2 vip=192.0.2.50/32 as=127.60.2.1 weight=0 is_del=true is_flush=true",
            "lb_add_del_as_v2 vip=192.0.2.50/32 as=127.60.2.2 weight=0 is_del=true is_flush=true",
            "lb_add_del_vip_v2 vip=192.0.2.50/32 encap=0 src_ip_sticky=false is_del=true",
            "lb_add_del_vip_v2 vip=192.0.2.50/32 encap=0 src_ip_sticky=true is_del=false",
            "lb_add_del_as_v2 vip=192.0.2.50/32 as=127.60.2.1 weight=100 is_del=false is_flush=false",
            "lb_add_del_as_v2 vip=192.0.2.50/32 as=127.60.2.2 weight=50 is_del=false is_flush=false",
        ]
    );
    assert_eq!(
        vip_writes(&sim, "2001:db8::50"),
        [
            "lb_add_del_as_v2 vip=2001:db8::50/128 as=127.60.2.1 weight=0 is_del=true is_flush=true",
            "lb_add_del_as_v2 vip=2001:db8::50/128 as=127.60.2.2 weight=0 is_del=true is_flush=true",
            "lb_add_del_vip_v2 vip=2001:db8::50/128 encap=0 src_ip_sticky=false is_del=true",
            "lb_add_del_vip_v2 vip=2001:db8::50/128 encap=1 src_ip_sticky=false is_del=false",
            "lb_add_del_as_v2 vip=2001:db8::50/128 as=2001:db8:60::1 weight=100 is_del=false is_flush=false",
            "lb_add_del_as_v2 vip=2001:db8::50/128 as=2001:db8:60::2 weight=50 is_del=false is_flush=false",
        ]
    );
    // The untouched frontend saw no write at all.
    assert!(vip_writes(&sim, "192.0.2.51").is_empty());
    let types = vip_types(&sim);
    assert_eq!(types["192.0.2.50/32 6 80"], ("ip4-gre4".to_string(), true));
    assert_eq!(
        types["2001:db8::50/128 6 443"],
        ("ip6-gre6".to_string(), false)
    );
    // Both deletions precede every re-add (two-pass full sync).
    let names: Vec<String> = writes(&sim.records());
    let last_del = names
        .iter()
        .rposition(|w| w.contains("is_del=true"))
        .unwrap();
    let first_add = names
        .iter()
        .position(|w| w.contains("is_del=false"))
        .unwrap();
    assert!(last_del < first_add, "{names:#?}");
}

/// Item 14: `show vpp lb state` / `show vpp info` in text and JSON, the
/// drift marker after a change behind maglevd's back, `sync vpp lb state`
/// for one frontend, and an unknown frontend.
#[test]
fn show_and_sync_commands() {
    let sim = start_sim();
    let yaml = format!(
        r#"
maglev:
{vpp}
  backends:
    a: {{ address: 127.60.3.1 }}
    b: {{ address: 127.60.3.2 }}
  frontends:
    web-v4:
      address: 192.0.2.60
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: {{ a: {{}}, b: 40 }}
    web-v6:
      address: 2001:db8::60
      protocol: tcp
      port: 80
      src-ip-sticky: true
      pools:
        - name: primary
          backends: {{ a: {{}} }}
"#,
        vpp = vpp_section(&sim, QUICK),
    );
    let d = start_daemon("vpp-prog-show", &sim, &yaml);
    wait_view(&d, &sim, WAIT, |v| {
        v.get("192.0.2.60/32 6 80")
            .is_some_and(|(_, a)| a.len() == 2)
            && v.get("2001:db8::60/128 6 80")
                .is_some_and(|(_, a)| a.len() == 1)
    });
    let text = d.ok("show vpp lb state");
    assert!(text.contains("ipv4-src-address"), "{text}");
    assert!(text.contains("192.0.2.254"), "{text}");
    let vip_line = text
        .lines()
        .find(|l| l.starts_with("vip 192.0.2.60"))
        .expect(&text);
    assert!(
        vip_line.contains("frontend web-v4") && vip_line.contains("encap gre4"),
        "{vip_line}"
    );
    let v6_line = text
        .lines()
        .find(|l| l.starts_with("vip 2001:db8::60"))
        .expect(&text);
    assert!(v6_line.contains("src-ip-sticky true"), "{v6_line}");
    assert!(!text.contains("drift"), "{text}");
    let b_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("127.60.3.2"))
        .expect(&text);
    assert!(
        b_line.contains("weight 40") && b_line.contains("desired 40"),
        "{b_line}"
    );

    let json = d.ok("json show vpp lb state");
    let doc: serde_json::Value =
        serde_json::from_str(json.trim()).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert!(doc.is_object(), "{json}");
    assert!(
        json.contains("web-v4") && json.contains("127.60.3.2"),
        "{json}"
    );

    let info = vpp_info(&d);
    for key in [
        "version",
        "vpp-pid",
        "connected",
        "sync-runs-all",
        "drift-repairs",
        "api-failures",
    ] {
        assert!(info.contains_key(key), "{key} missing: {info:?}");
    }
    assert_eq!(info["vpp-pid"], sim.vpe_pid().to_string());
    assert_eq!(info["api-failures"], "0");
    let info_json = d.ok("json show vpp info");
    serde_json::from_str::<serde_json::Value>(info_json.trim())
        .unwrap_or_else(|e| panic!("{e}: {info_json}"));

    // Drift behind maglevd's back: b's weight in VPP becomes 7.
    let key = vpp_maglev::sim::lb::VipKey::new("192.0.2.60".parse().unwrap(), 32, 6, 80);
    assert_eq!(
        sim.with_lb(|lb| lb.set_weight(&key, "127.60.3.2".parse().unwrap(), 7, false)),
        0
    );
    let text = d.ok("show vpp lb state");
    let b_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("127.60.3.2"))
        .expect(&text);
    assert!(
        b_line.contains("weight 7") && b_line.contains("desired 40") && b_line.contains("drift"),
        "{b_line}"
    );
    let a_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("127.60.3.1"))
        .expect(&text);
    assert!(!a_line.contains("drift"), "{a_line}");
    let json = d.ok("json show vpp lb state");
    serde_json::from_str::<serde_json::Value>(json.trim())
        .unwrap_or_else(|e| panic!("{e}: {json}"));

    // Syncing the other frontend leaves the drift alone; this one repairs it.
    sim.clear_records();
    let r = d.ok("sync vpp lb state web-v6");
    assert!(r.contains("changes 0"), "{r}");
    assert!(
        writes(&sim.records()).is_empty(),
        "{:?}",
        writes(&sim.records())
    );
    let r = d.ok("sync vpp lb state web-v4");
    assert!(
        r.contains("changes 1") && r.contains("as-weight-updated 1"),
        "{r}"
    );
    assert_eq!(
        writes(&sim.records()),
        ["lb_as_set_weight vip=192.0.2.60/32 protocol=6 port=80 as=127.60.3.2 weight=40 is_flush=false"]
    );
    assert!(!d.ok("show vpp lb state").contains("drift"));
    let r = d.cmd("sync vpp lb state nope");
    assert!(is_error(&r), "{r}");
    assert!(r.contains("nope"), "{r}");
}
