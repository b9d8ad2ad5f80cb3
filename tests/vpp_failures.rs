//! End-to-end: maglevd against a VPP that restarts, fails calls, drifts,
//! lacks messages — and a maglevd that restarts (issue: VPP dataplane,
//! items 6, 7, 8, 12 and 13). Loopback range 127.61.x.x.

mod common;

use std::net::{IpAddr, Ipv6Addr, SocketAddr, TcpListener};
use std::time::Duration;

use common::backends::{common_port, lo, HttpBackend, TcpBackend};
use common::is_error;
use common::vpp::*;
use vpp_maglev::sim::lb::{Encap, VipAdd, VipKey};
use vpp_maglev::sim::server::{SimHandle, Times};

/// Two health-checked backends and a static one behind an IPv4 VIP (with
/// a fallback pool) and an IPv6 sticky VIP.
fn yaml(sim: &SimHandle, net: u8, port: u16, lb: &str) -> String {
    format!(
        r#"
maglev:
{vpp}
  healthchecks:
    web:
      type: http
      port: {port}
      interval: 100ms
      timeout: 500ms
      rise: 1
      fall: 1
      params: {{ path: /healthz }}
  backends:
    a: {{ address: 127.61.{net}.1, healthcheck: web }}
    b: {{ address: 127.61.{net}.2, healthcheck: web }}
    s: {{ address: 127.61.{net}.9 }}
  frontends:
    web-v4:
      address: 192.0.2.{net}
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: {{ a: {{}}, b: 60 }}
        - name: fallback
          backends: {{ s: {{}} }}
    web-v6:
      address: 2001:db8::{net}
      protocol: tcp
      port: 443
      src-ip-sticky: true
      pools:
        - name: primary
          backends: {{ a: 30, s: {{}} }}
"#,
        vpp = vpp_section(sim, lb),
    )
}

fn backends(net: u8) -> (u16, Vec<HttpBackend>) {
    let addrs = [lo(61, net, 1), lo(61, net, 2)];
    let port = common_port(&addrs);
    (
        port,
        addrs
            .iter()
            .map(|a| HttpBackend::start((*a, port).into()))
            .collect(),
    )
}

/// The converged view of [`yaml`] with a and b up.
fn converged(net: u8) -> impl Fn(&LbView) -> bool {
    move |v: &LbView| {
        let w = |k: String| {
            v.get(&k)
                .map(|(_, a)| a.iter().map(|x| x.1).collect::<Vec<_>>())
        };
        w(format!("192.0.2.{net}/32 6 80")) == Some(vec![100, 60, 0])
            && w(format!("2001:db8::{net}/128 6 443")) == Some(vec![30, 100])
    }
}

const NO_WARMUP: &str = "      startup-min-delay: 0s\n      startup-max-delay: 0s\n";

/// Item 6: a maglevd restart with every backend up writes no weight 0 to
/// an up backend and deletes nothing; the stop itself leaves VPP alone.
#[test]
fn maglevd_restart_is_neutral() {
    let sim = start_sim();
    let (port, http) = backends(1);
    let lb =
        "      sync-interval: 1s\n      startup-min-delay: 500ms\n      startup-max-delay: 3s\n";
    let cfg = yaml(&sim, 1, port, lb);
    let d1 = start_daemon("vpp-fail-restart1", &sim, &cfg);
    let before = wait_view(&d1, &sim, WAIT, converged(1));
    sim.clear_records();
    let st = d1.stop();
    assert!(st.success(), "{st:?}");
    assert!(
        writes(&sim.records()).is_empty(),
        "{:?}",
        writes(&sim.records())
    );
    assert_eq!(sim.with_lb(|lb| lb_view(lb)), before, "SIGTERM changed VPP");

    let d2 = start_daemon("vpp-fail-restart2", &sim, &cfg);
    let mut w = watch_ready(&d2, "log level debug");
    wait_logged(&d2, &mut w, "vpp-lb-warmup-done", &[], WAIT);
    wait_logged(
        &d2,
        &mut w,
        "vpp-lbsync",
        &[("trigger", "warmup-end"), ("errors", "0")],
        WAIT,
    );
    assert_eq!(d2.backend_state("a"), "up");
    assert_eq!(d2.backend_state("b"), "up");
    let recs = sim.records();
    let bad: Vec<String> = writes(&recs)
        .into_iter()
        .filter(|w| {
            w.contains("is_del=true")
                || (w.starts_with("lb_as_set_weight") || w.starts_with("lb_add_del_as"))
                    && w.contains(" weight=0 ")
                    && (w.contains("as=127.61.1.1 ") || w.contains("as=127.61.1.2 "))
        })
        .collect();
    assert!(bad.is_empty(), "restart wrote {bad:#?}");
    // VPP already held the right state: nothing but lb_conf was written.
    let non_conf: Vec<String> = writes(&recs)
        .into_iter()
        .filter(|w| !w.starts_with("lb_conf"))
        .collect();
    assert!(non_conf.is_empty(), "{non_conf:#?}");
    assert!(recs.iter().any(|r| r.name == "lb_conf"));
    assert_eq!(sim.with_lb(|lb| lb_view(lb)), before);
    drop(http);
}

/// Item 7: VPP restarts → maglevd reconnects, pushes lb_conf again and
/// re-programs every VIP and AS.
#[test]
fn vpp_restart_is_reprogrammed() {
    let sim = start_sim();
    let (port, http) = backends(2);
    let d = start_daemon(
        "vpp-fail-vpprestart",
        &sim,
        &yaml(
            &sim,
            2,
            port,
            &format!("      sync-interval: 0s\n{NO_WARMUP}"),
        ),
    );
    let before = wait_view(&d, &sim, WAIT, converged(2));
    let old_pid = sim.vpe_pid();
    sim.clear_records();
    sim.restart().unwrap();
    assert!(sim.with_lb(|lb| lb_view(lb)).is_empty());
    sim.wait_for(|r| r.name == "lb_conf", WAIT)
        .expect("lb_conf pushed again");
    let after = wait_view(&d, &sim, WAIT, |v| *v == before);
    assert_eq!(after, before);
    let w = writes(&sim.records());
    assert_eq!(
        w.iter()
            .filter(|w| w.starts_with("lb_add_del_vip_v2") && w.contains("is_del=false"))
            .count(),
        2,
        "{w:#?}"
    );
    assert_eq!(
        w.iter()
            .filter(|w| w.starts_with("lb_add_del_as_v2") && w.contains("is_del=false"))
            .count(),
        5,
        "{w:#?}"
    );
    assert!(!w.iter().any(|w| w.contains("is_del=true")), "{w:#?}");
    assert_eq!(
        vip_types(&sim)["2001:db8::2/128 6 443"],
        ("ip6-gre4".to_string(), true)
    );
    wait_until(&d, WAIT, "second connect counted", || {
        vpp_counter(&d, "connects") == 2
    });
    let info = vpp_info(&d);
    assert_eq!(info["vpp-pid"], sim.vpe_pid().to_string());
    assert_ne!(sim.vpe_pid(), old_pid);
    drop(http);
}

/// Item 8 (event path): a failed weight call is logged with its error
/// name, counted, and repaired by the next periodic pass.
#[test]
fn failed_event_sync_is_counted_and_retried_by_the_periodic_pass() {
    let sim = start_sim();
    let (port, http) = backends(3);
    let d = start_daemon(
        "vpp-fail-errevent",
        &sim,
        &yaml(
            &sim,
            3,
            port,
            &format!("      sync-interval: 1s\n{NO_WARMUP}"),
        ),
    );
    wait_view(&d, &sim, WAIT, converged(3));
    assert_eq!(vpp_counter(&d, "api-failures"), 0);
    sim.faults(|p| {
        p.error("lb_as_set_weight", -6, Times::Next(1));
    });
    let mut w = watch_ready(&d, "log level debug");
    http[1].set(|b| b.status = 503);
    let err = wait_event(&mut w, "vpp-reconciler-error", &[], WAIT);
    assert!(
        err.contains("\"retval\":\"-6\"") && err.contains("NO_SUCH_ENTRY"),
        "{err}"
    );
    assert!(err.contains("127.61.3.2"), "{err}");
    // The periodic pass (1s) re-reads VPP and sets the weight.
    wait_event(
        &mut w,
        "vpp-lbsync",
        &["\"trigger\":\"periodic\"", "\"as_weight_updated\":\"1\""],
        WAIT,
    );
    let v = sim.with_lb(|lb| lb_view(lb));
    let ases = &v["192.0.2.3/32 6 80"].1;
    assert_eq!(
        ases.iter().map(|x| x.1).collect::<Vec<_>>(),
        [100, 0, 0],
        "{v:#?}"
    );
    assert_eq!(vpp_counter(&d, "sync-errors-vip"), 1);
    assert_eq!(vpp_counter(&d, "api-failures"), 1);
    assert!(sim.faults(|p| p.rules().is_empty()));
    drop(http);
}

/// Item 8 (operator path): a failed full sync answers ERR and logs
/// `vpp-lbsync-error`; the next `sync vpp lb state` converges.
#[test]
fn failed_full_sync_answers_err_and_the_next_one_converges() {
    let sim = start_sim();
    let (port, http) = backends(4);
    let d = start_daemon(
        "vpp-fail-errfull",
        &sim,
        &yaml(
            &sim,
            4,
            port,
            &format!("      sync-interval: 0s\n{NO_WARMUP}"),
        ),
    );
    let before = wait_view(&d, &sim, WAIT, converged(4));
    let key = VipKey::new("192.0.2.4".parse().unwrap(), 32, 6, 80);
    assert_eq!(
        sim.with_lb(|lb| lb.set_weight(&key, "127.61.4.1".parse().unwrap(), 5, false)),
        0
    );
    sim.faults(|p| {
        p.error("lb_as_set_weight", -6, Times::Next(1));
    });
    let mut w = watch_ready(&d, "log level info");
    let r = d.cmd("sync vpp lb state");
    assert!(is_error(&r), "{r}");
    let err = wait_event(&mut w, "vpp-lbsync-error", &[], WAIT);
    assert!(
        err.contains("NO_SUCH_ENTRY") && err.contains("\"scope\":\"all\""),
        "{err}"
    );
    assert_eq!(vpp_counter(&d, "sync-errors-all"), 1);
    assert_eq!(vpp_counter(&d, "api-failures"), 1);
    let r = d.ok("sync vpp lb state");
    assert!(
        r.contains("changes 1") && r.contains("as-weight-updated 1"),
        "{r}"
    );
    assert_eq!(sim.with_lb(|lb| lb_view(lb)), before);
    // A VIP add refused by VPP: the frontend's sync fails and the next sync
    // retries the VIP as a whole.
    let v6 = VipKey::new("2001:db8::4".parse().unwrap(), 128, 6, 443);
    sim.with_lb(|lb| {
        for a in ["127.61.4.1", "127.61.4.9"] {
            lb.del_as(&v6, a.parse().unwrap(), true);
        }
        lb.del_vip(&v6)
    });
    sim.faults(|p| {
        p.error("lb_add_del_vip_v2", -81, Times::Next(1));
    });
    sim.clear_records();
    assert!(is_error(&d.cmd("sync vpp lb state")));
    // Plans are pipelined (VPP handles a connection's requests in order),
    // so the VIP's AS adds went out too and failed with -6: the VIP's sync
    // failed as a whole and is reported once.
    assert!(
        writes(&sim.records())
            .iter()
            .any(|w| w.starts_with("lb_add_del_as_v2")),
        "{:?}",
        writes(&sim.records())
    );
    let r = d.ok("sync vpp lb state");
    assert!(r.contains("vip-added 1") && r.contains("as-added 2"), "{r}");
    assert_eq!(sim.with_lb(|lb| lb_view(lb)), before);
    drop(http);
}

/// Item 12: drift made behind maglevd's back is repaired by the next
/// periodic pass and counted as drift repairs.
#[test]
fn drift_is_repaired_by_the_periodic_pass() {
    let sim = start_sim();
    let (port, http) = backends(5);
    let d = start_daemon(
        "vpp-fail-drift",
        &sim,
        &yaml(
            &sim,
            5,
            port,
            &format!("      sync-interval: 1s\n{NO_WARMUP}"),
        ),
    );
    let before = wait_view(&d, &sim, WAIT, converged(5));
    // A converged periodic pass repairs nothing.
    let mut w = watch_ready(&d, "log level debug");
    wait_event(&mut w, "vpp-lbsync", &["\"trigger\":\"periodic\""], WAIT);
    assert_eq!(vpp_counter(&d, "drift-repairs"), 0);
    let v4 = VipKey::new("192.0.2.5".parse().unwrap(), 32, 6, 80);
    let v6 = VipKey::new("2001:db8::5".parse().unwrap(), 128, 6, 443);
    let stray = VipKey::new("192.0.2.99".parse().unwrap(), 32, 6, 80);
    sim.with_lb(|lb| {
        assert_eq!(
            lb.set_weight(&v4, "127.61.5.2".parse().unwrap(), 7, false),
            0
        );
        assert_eq!(lb.del_as(&v6, "127.61.5.9".parse().unwrap(), true), 0);
        assert_eq!(lb.add_vip(&VipAdd::new(stray, Encap::Gre4)), 0);
    });
    assert_ne!(sim.with_lb(|lb| lb_view(lb)), before);
    // Three changes: a weight, an AS re-added, the stray VIP removed.
    wait_until(&d, WAIT, "drift repaired", || {
        vpp_counter(&d, "drift-repairs") == 3
    });
    assert_eq!(sim.with_lb(|lb| lb_view(lb)), before);
    assert_eq!(vpp_counter(&d, "sync-errors-all"), 0);
    drop(http);
}

/// Item 13: a VPP without a message maglevd needs → a clear error naming
/// it; health checking and the control socket go on; once VPP has it
/// (upgrade), maglevd connects and programs.
#[test]
fn old_vpp_is_reported_and_health_checking_goes_on() {
    let sim = start_sim();
    sim.faults(|p| {
        p.old_vpp(&["lb_as_set_weight_2d89bdbd"]);
    });
    let (port, http) = backends(6);
    let d = start_daemon(
        "vpp-fail-oldvpp",
        &sim,
        &yaml(
            &sim,
            6,
            port,
            &format!("      sync-interval: 0s\n{NO_WARMUP}"),
        ),
    );
    let mut w = watch_ready(&d, "log level info");
    let l = wait_logged(&d, &mut w, "vpp-api-incompatible", &[], WAIT);
    assert!(l.contains("lb_as_set_weight"), "{l}");
    d.wait_backend("a", "up", WAIT);
    http[0].set(|b| b.status = 503);
    d.wait_backend("a", "down", WAIT);
    assert!(d.ok("show backends").contains("a"));
    let info = d.cmd("show vpp info");
    assert!(is_error(&info) && info.contains("not connected"), "{info}");
    assert!(is_error(&d.cmd("sync vpp lb state")));
    assert!(
        !sim.records().iter().any(|r| is_write(&r.name)),
        "wrote to an incompatible VPP"
    );
    // "Upgrade" VPP: maglevd's reconnect finds every message.
    sim.faults(|p| p.clear());
    sim.restart().unwrap();
    wait_logged(&d, &mut w, "vpp-connect", &[], WAIT);
    wait_view(&d, &sim, WAIT, |v| {
        v.get("192.0.2.6/32 6 80")
            .is_some_and(|(_, a)| a.iter().map(|x| x.1).collect::<Vec<_>>() == [0, 60, 0])
    });
    drop(http);
}

/// An IPv6 backend probed on [::1]: health checking over IPv6 works, but
/// VPP's lb stores addresses as ip46 with IPv4 in the last four bytes, so
/// `::1` *is* 0.0.0.1 to it and a GRE6 VIP refuses it (-97). maglevd must
/// report this and must not retry in a loop (it did: a failing full sync
/// re-queued itself through the frontend's dirty mark). The error aborts
/// the VIP's sync (spec/dataplane.md §5), so the VIP stays empty.
#[test]
fn ipv4_compatible_backend_is_refused_without_a_retry_storm() {
    let sim = start_sim();
    let l6 = TcpListener::bind("[::1]:0").unwrap();
    let port6 = l6.local_addr().unwrap().port();
    drop(l6);
    let _tcp6 = TcpBackend::start(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port6));
    let yaml = format!(
        r#"
maglev:
{vpp}
  healthchecks:
    tcp6:
      type: tcp
      port: {port6}
      interval: 100ms
      rise: 1
      fall: 1
  backends:
    lo6: {{ address: "::1", healthcheck: tcp6 }}
    s6: {{ address: "2001:db8:61::1" }}
  frontends:
    v6:
      address: 2001:db8::61
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: {{ lo6: {{}}, s6: 50 }}
"#,
        vpp = vpp_section(&sim, &format!("      sync-interval: 0s\n{NO_WARMUP}"))
    );
    let d = start_daemon("vpp-fail-lo6", &sim, &yaml);
    d.wait_backend("lo6", "up", WAIT);
    let mut w = watch_ready(&d, "log level info");
    let l = wait_logged(&d, &mut w, "vpp-lbsync-error", &[("retval", "-97")], WAIT);
    assert!(
        l.contains("INVALID_ADDRESS_FAMILY") && l.contains("::1"),
        "{l}"
    );
    // The failure fails that VIP's sync; the VIP and its valid AS are there.
    let v = wait_view(&d, &sim, WAIT, |v| {
        v.get("2001:db8::61/128 6 80")
            .is_some_and(|(_, ases)| !ases.is_empty())
    });
    let ases: Vec<&str> = v["2001:db8::61/128 6 80"]
        .1
        .iter()
        .map(|a| a.0.as_str())
        .collect();
    assert_eq!(ases, ["2001:db8:61::1"]);
    assert!(vpp_counter(&d, "sync-errors-all") + vpp_counter(&d, "sync-errors-vip") >= 1);
    // Bounded wait for something that must not happen: more attempts.
    let attempts = || {
        sim.records()
            .iter()
            .filter(|r| r.name == "lb_add_del_as_v2" && r.summary.contains("as=::1 "))
            .count()
            + sim
                .records()
                .iter()
                .filter(|r| r.name == "lb_add_del_as_v2" && r.summary.contains("as=0.0.0.1 "))
                .count()
    };
    let n = attempts();
    // The connect sync, and a repair if lo6 came up after it.
    assert!((1..=2).contains(&n), "{n} attempts");
    // An event for the frontend while VPP's state is uncertain: one repair
    // pass (one more attempt), then quiet until the next trigger.
    d.ok("set backend lo6 pause");
    wait_until(&d, WAIT, "repair attempt", || attempts() == n + 1);
    let start = sim.records().len();
    assert!(
        sim.wait_for(|r| r.seq as usize >= start + 50, Duration::from_secs(2))
            .is_none(),
        "VPP hammered: {:?}",
        sim.records()
            .iter()
            .rev()
            .take(10)
            .map(|r| r.name.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(attempts(), n + 1);
}
