//! Plans executed against the fake lb (VPP-shaped dumps and CLI text), the
//! way the daemon runs them: execute in order, stop the VIP on error, feed
//! successes to the flush memory, read VPP back, plan again.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::fake_lb::{FakeLb, NO_SUCH_ENTRY};
use super::test_support::{desired, ip, key, shuffle};
use super::*;

struct Daemon {
    memory: FlushMemory,
}

impl Daemon {
    /// One full sync; returns the calls VPP accepted.
    fn sync_all(&mut self, vpp: &mut FakeLb, want: &BTreeMap<VipKey, DesiredVip>) -> Vec<LbCall> {
        let plan = plan_all(want, &vpp.current(), &self.memory, &BTreeMap::new());
        self.execute(vpp, want, plan)
    }

    fn sync_vip(&mut self, vpp: &mut FakeLb, want: &DesiredVip, forced: &[&str]) -> Vec<LbCall> {
        let forced: BTreeSet<IpAddr> = forced.iter().map(|a| ip(a)).collect();
        let current = vpp.current();
        let plan = plan_vip(want, current.get(&want.key), &self.memory, &forced);
        let wants = [(want.key, want.clone())].into();
        self.execute(vpp, &wants, plan)
    }

    fn execute(
        &mut self,
        vpp: &mut FakeLb,
        want: &BTreeMap<VipKey, DesiredVip>,
        plan: Vec<LbCall>,
    ) -> Vec<LbCall> {
        let mut failed: BTreeSet<VipKey> = BTreeSet::new();
        let mut done = Vec::new();
        for call in plan {
            if failed.contains(call.key()) {
                continue;
            }
            match vpp.apply(&call) {
                Ok(()) => {
                    self.memory.record(&call, want.get(call.key()));
                    done.push(call);
                }
                Err(_) => {
                    failed.insert(*call.key());
                }
            }
        }
        done
    }
}

/// Production-shaped config: IPv6 VIP with IPv4 backends, two frontends on
/// one address, an all-port VIP, a sticky IPv6 VIP, zero weights.
fn config(epoch: u64, disabled: bool) -> BTreeMap<VipKey, DesiredVip> {
    let web = key("192.0.2.80", 6, 80);
    let tls = key("192.0.2.80", 6, 443);
    let v6 = key("2001:db8::80", 6, 80);
    let sticky = key("2001:db8::443", 6, 443);
    let any = key("192.0.2.90", 255, 0);
    let backup_state = if disabled { (0, true) } else { (0, false) };
    [
        desired(
            web,
            Encap::Gre4,
            false,
            &[
                ("198.51.100.10", 100, false, 1),
                ("198.51.100.2", 100, false, 1),
                ("198.51.100.3", backup_state.0, backup_state.1, epoch),
            ],
        ),
        desired(tls, Encap::Gre4, false, &[("198.51.100.2", 0, false, 1)]),
        desired(
            v6,
            Encap::Gre4,
            false,
            &[
                ("198.51.100.11", 100, false, 1),
                ("198.51.100.12", 20, false, 1),
            ],
        ),
        desired(
            sticky,
            Encap::Gre6,
            true,
            &[
                ("2001:db8:1::1", 100, false, 1),
                ("2001:db8:1::2", 0, true, 1),
            ],
        ),
        desired(any, Encap::Gre4, false, &[("198.51.100.53", 100, false, 1)]),
    ]
    .map(|v| (v.key, v))
    .into()
}

#[test]
fn converges_and_second_pass_is_silent() {
    let mut vpp = FakeLb::new();
    let mut daemon = Daemon {
        memory: FlushMemory::new(),
    };
    let want = config(1, false);
    let first = daemon.sync_all(&mut vpp, &want);
    let counts = ChangeCounts::count(&first);
    assert_eq!((counts.vip_added, counts.as_added), (5, 9));
    assert_eq!(counts.as_weight_updated, 0, "adds carry the weight");
    assert!(vpp.flushes.is_empty());
    for _ in 0..2 {
        assert!(daemon.sync_all(&mut vpp, &want).is_empty(), "no churn");
        for vip in want.values() {
            assert!(daemon.sync_vip(&mut vpp, vip, &[]).is_empty());
        }
    }
}

#[test]
fn disabled_at_zero_flushes_once_per_epoch() {
    let mut vpp = FakeLb::new();
    let mut daemon = Daemon {
        memory: FlushMemory::new(),
    };
    daemon.sync_all(&mut vpp, &config(1, false));
    let web = key("192.0.2.80", 6, 80);
    let backup = ip("198.51.100.3");
    assert_eq!(vpp.current()[&web].ases[&backup].weight, 0, "standby at 0");

    // Disabled while already drained by failover: one flush, weight unchanged.
    let disabled = config(2, true);
    let calls = daemon.sync_vip(&mut vpp, &disabled[&web], &[]);
    let expected = LbCall::SetWeight {
        key: web,
        addr: backup,
        weight: 0,
        flush: true,
    };
    assert_eq!(calls, vec![expected]);
    assert_eq!(vpp.flushes, vec![(web, backup)]);
    assert!(daemon.sync_vip(&mut vpp, &disabled[&web], &[]).is_empty());
    assert!(daemon.sync_all(&mut vpp, &disabled).is_empty());

    // A new state transition (new epoch) flushes again, once.
    let again = config(3, true);
    assert_eq!(daemon.sync_all(&mut vpp, &again), vec![expected]);
    assert!(daemon.sync_all(&mut vpp, &again).is_empty());
    assert_eq!(vpp.flushes.len(), 2);

    // VPP reconnect: nothing can be assumed, flush once more.
    daemon.memory.clear();
    let after_reconnect = daemon.sync_all(&mut vpp, &again);
    let sticky_flush = LbCall::SetWeight {
        key: key("2001:db8::443", 6, 443),
        addr: ip("2001:db8:1::2"),
        weight: 0,
        flush: true,
    };
    assert_eq!(after_reconnect, vec![expected, sticky_flush]);
    assert!(daemon.sync_all(&mut vpp, &again).is_empty());
}

#[test]
fn failed_flush_is_retried() {
    let mut vpp = FakeLb::new();
    let mut daemon = Daemon {
        memory: FlushMemory::new(),
    };
    daemon.sync_all(&mut vpp, &config(1, false));
    let web = key("192.0.2.80", 6, 80);
    let disabled = config(2, true);
    vpp.fail_at = Some((vpp.calls_seen, NO_SUCH_ENTRY));
    assert!(daemon.sync_vip(&mut vpp, &disabled[&web], &[]).is_empty());
    assert!(vpp.flushes.is_empty());
    assert_eq!(daemon.sync_vip(&mut vpp, &disabled[&web], &[]).len(), 1);
    assert_eq!(vpp.flushes.len(), 1);
    assert!(daemon.sync_vip(&mut vpp, &disabled[&web], &[]).is_empty());
}

#[test]
fn forced_flush_goes_out_every_time_it_is_asked() {
    let mut vpp = FakeLb::new();
    let mut daemon = Daemon {
        memory: FlushMemory::new(),
    };
    let want = config(1, false);
    daemon.sync_all(&mut vpp, &want);
    let web = key("192.0.2.80", 6, 80);
    for n in 1..=2 {
        let calls = daemon.sync_vip(&mut vpp, &want[&web], &["198.51.100.2"]);
        assert_eq!(calls.len(), 1);
        assert_eq!(vpp.flushes.len(), n);
    }
    assert!(daemon.sync_vip(&mut vpp, &want[&web], &[]).is_empty());
}

#[test]
fn externally_removed_as_is_re_added() {
    let mut vpp = FakeLb::new();
    let mut daemon = Daemon {
        memory: FlushMemory::new(),
    };
    let want = config(1, false);
    daemon.sync_all(&mut vpp, &want);
    let v6 = key("2001:db8::80", 6, 80);
    vpp.remove_as_externally(&v6, ip("198.51.100.12"));
    assert!(
        vpp.as_dump().iter().any(|a| a.flags == 0),
        "lingers with flags 0"
    );
    let calls = daemon.sync_all(&mut vpp, &want);
    assert_eq!(
        calls,
        vec![LbCall::AddAs {
            key: v6,
            addr: ip("198.51.100.12"),
            weight: 20
        }]
    );
    assert!(daemon.sync_all(&mut vpp, &want).is_empty());
}

#[test]
fn sticky_flip_recreates_and_then_settles() {
    let mut vpp = FakeLb::new();
    let mut daemon = Daemon {
        memory: FlushMemory::new(),
    };
    let mut want = config(1, false);
    daemon.sync_all(&mut vpp, &want);
    let web = key("192.0.2.80", 6, 80);
    want.get_mut(&web).unwrap().src_ip_sticky = true;
    let calls = daemon.sync_all(&mut vpp, &want);
    let counts = ChangeCounts::count(&calls);
    assert_eq!(
        (
            counts.as_removed,
            counts.vip_removed,
            counts.vip_added,
            counts.as_added
        ),
        (3, 1, 1, 3)
    );
    assert_eq!(vpp.flushes.len(), 3, "teardown flushes every AS");
    // The removed twin (same key, flags-0 ASes, `removed` in the CLI text)
    // must not disturb the next read.
    assert!(vpp.cli_text().contains(" removed\n"));
    assert!(daemon.sync_all(&mut vpp, &want).is_empty());
}

#[test]
fn encap_flip_recreates_and_then_settles() {
    let mut vpp = FakeLb::new();
    let mut daemon = Daemon {
        memory: FlushMemory::new(),
    };
    let mut want = config(1, false);
    daemon.sync_all(&mut vpp, &want);
    let v6 = key("2001:db8::80", 6, 80);
    want.insert(
        v6,
        desired(v6, Encap::Gre6, false, &[("2001:db8:2::1", 100, false, 1)]),
    );
    let calls = daemon.sync_all(&mut vpp, &want);
    assert_eq!(ChangeCounts::count(&calls).vip_added, 1);
    assert!(daemon.sync_all(&mut vpp, &want).is_empty());
    let current = vpp.current();
    assert_eq!(current[&v6].encap, Encap::Gre6);
    assert_eq!(
        current[&v6].ases.keys().copied().collect::<Vec<_>>(),
        vec![ip("2001:db8:2::1")]
    );
}

#[test]
fn full_sync_deletes_unconfigured_vip_ases_first() {
    let mut vpp = FakeLb::new();
    let mut daemon = Daemon {
        memory: FlushMemory::new(),
    };
    let mut want = config(1, false);
    daemon.sync_all(&mut vpp, &want);
    let web = key("192.0.2.80", 6, 80);
    want.remove(&web);
    // A VIP sync of another frontend never removes VIPs.
    let any = key("192.0.2.90", 255, 0);
    assert!(daemon.sync_vip(&mut vpp, &want[&any], &[]).is_empty());
    let calls = daemon.sync_all(&mut vpp, &want);
    let del = |a: &str| LbCall::DelAs {
        key: web,
        addr: ip(a),
        flush: true,
    };
    assert_eq!(
        calls,
        vec![
            del("198.51.100.2"),
            del("198.51.100.3"),
            del("198.51.100.10"),
            LbCall::DelVip { key: web }
        ]
    );
    assert!(!vpp.current().contains_key(&web));
    assert!(daemon.sync_all(&mut vpp, &want).is_empty());
}

#[test]
fn vpp_restart_rebuilds_everything() {
    let mut vpp = FakeLb::new();
    let mut daemon = Daemon {
        memory: FlushMemory::new(),
    };
    let want = config(2, true);
    let first = daemon.sync_all(&mut vpp, &want);
    assert!(
        first.iter().all(|c| !c.is_flush()),
        "fresh ASes need no flush"
    );
    assert!(daemon.sync_all(&mut vpp, &want).is_empty());
    let mut restarted = FakeLb::new();
    daemon.memory.clear();
    assert_eq!(daemon.sync_all(&mut restarted, &want), first);
}

#[test]
fn dump_order_does_not_change_the_plan() {
    let mut vpp = FakeLb::new();
    let mut daemon = Daemon {
        memory: FlushMemory::new(),
    };
    daemon.sync_all(&mut vpp, &config(1, false));
    let target = config(5, true);
    let sticky = sticky_from_cli(&parse_show_lb_vips(&vpp.cli_text()));
    let (mut vips, mut ases) = (vpp.vip_dump(), vpp.as_dump());
    let mut seed = 0x1234_5678_9abc_def1;
    let mut reference = None;
    for _ in 0..10 {
        shuffle(&mut vips, &mut seed);
        shuffle(&mut ases, &mut seed);
        let current = current_from_dumps(&vips, &ases, &sticky);
        let plan = plan_all(&target, &current, &daemon.memory, &BTreeMap::new());
        assert_eq!(plan.len(), 1);
        match &reference {
            None => reference = Some(plan),
            Some(r) => assert_eq!(&plan, r),
        }
    }
}
