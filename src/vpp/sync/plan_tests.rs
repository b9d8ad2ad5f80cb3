//! Table-driven tests of `plan_vip` / `plan_all` on hand-built states.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::test_support::*;
use super::*;

struct Case {
    name: &'static str,
    desired: DesiredVip,
    current: Option<CurrentVip>,
    /// (AS, epoch) already flushed
    memory: Vec<(&'static str, u64)>,
    forced: Vec<&'static str>,
    expected: Vec<LbCall>,
}

#[test]
fn plan_vip_table() {
    use Encap::{Gre4, Gre6};
    let k = key("192.0.2.80", 6, 80);
    let k6 = key("2001:db8::443", 6, 443);
    let cases = vec![
        Case {
            name: "absent: add VIP then ASes in numeric order",
            desired: desired(
                k,
                Gre4,
                false,
                &[("10.0.0.10", 100, false, 1), ("10.0.0.2", 50, false, 1)],
            ),
            current: None,
            memory: vec![],
            forced: vec![],
            expected: vec![
                add_vip(k, Gre4, false),
                add(k, "10.0.0.2", 50),
                add(k, "10.0.0.10", 100),
            ],
        },
        Case {
            name: "absent sticky gre6 VIP with zero weights",
            desired: desired(
                k6,
                Gre6,
                true,
                &[
                    ("2001:db8:1::1", 0, false, 1),
                    ("2001:db8:1::2", 0, true, 1),
                ],
            ),
            current: None,
            memory: vec![],
            forced: vec![],
            expected: vec![
                add_vip(k6, Gre6, true),
                add(k6, "2001:db8:1::1", 0),
                add(k6, "2001:db8:1::2", 0),
            ],
        },
        Case {
            name: "absent VIP without ASes",
            desired: desired(k, Gre4, false, &[]),
            current: None,
            memory: vec![],
            forced: vec![],
            expected: vec![add_vip(k, Gre4, false)],
        },
        Case {
            name: "converged: nothing",
            desired: desired(
                k,
                Gre4,
                false,
                &[("10.0.0.1", 100, false, 1), ("10.0.0.2", 0, false, 1)],
            ),
            current: Some(current(
                k,
                Gre4,
                Some(false),
                &[("10.0.0.1", 100), ("10.0.0.2", 0)],
            )),
            memory: vec![],
            forced: vec![],
            expected: vec![],
        },
        Case {
            name: "missing AS added with its weight",
            desired: desired(
                k,
                Gre4,
                false,
                &[("10.0.0.1", 100, false, 1), ("10.0.0.2", 30, false, 1)],
            ),
            current: Some(current(k, Gre4, Some(false), &[("10.0.0.1", 100)])),
            memory: vec![],
            forced: vec![],
            expected: vec![add(k, "10.0.0.2", 30)],
        },
        Case {
            name: "undesired AS deleted with flush",
            desired: desired(k, Gre4, false, &[("10.0.0.1", 100, false, 1)]),
            current: Some(current(
                k,
                Gre4,
                Some(false),
                &[("10.0.0.1", 100), ("10.0.0.9", 100)],
            )),
            memory: vec![],
            forced: vec![],
            expected: vec![del(k, "10.0.0.9")],
        },
        Case {
            name: "weight differs: set weight, no flush",
            desired: desired(k, Gre4, false, &[("10.0.0.1", 0, false, 1)]),
            current: Some(current(k, Gre4, Some(false), &[("10.0.0.1", 100)])),
            memory: vec![],
            forced: vec![],
            expected: vec![set(k, "10.0.0.1", 0, false)],
        },
        Case {
            name: "flush wanted, weight already 0, not flushed yet: flush anyway",
            desired: desired(k, Gre4, false, &[("10.0.0.1", 0, true, 7)]),
            current: Some(current(k, Gre4, Some(false), &[("10.0.0.1", 0)])),
            memory: vec![],
            forced: vec![],
            expected: vec![set(k, "10.0.0.1", 0, true)],
        },
        Case {
            name: "flush wanted, already flushed for this epoch: nothing",
            desired: desired(k, Gre4, false, &[("10.0.0.1", 0, true, 7)]),
            current: Some(current(k, Gre4, Some(false), &[("10.0.0.1", 0)])),
            memory: vec![("10.0.0.1", 7)],
            forced: vec![],
            expected: vec![],
        },
        Case {
            name: "flush wanted, flushed for an older epoch: flush again",
            desired: desired(k, Gre4, false, &[("10.0.0.1", 0, true, 8)]),
            current: Some(current(k, Gre4, Some(false), &[("10.0.0.1", 0)])),
            memory: vec![("10.0.0.1", 7)],
            forced: vec![],
            expected: vec![set(k, "10.0.0.1", 0, true)],
        },
        Case {
            name: "flush wanted and weight drifted, epoch flushed: repair without flush",
            desired: desired(k, Gre4, false, &[("10.0.0.1", 0, true, 7)]),
            current: Some(current(k, Gre4, Some(false), &[("10.0.0.1", 60)])),
            memory: vec![("10.0.0.1", 7)],
            forced: vec![],
            expected: vec![set(k, "10.0.0.1", 0, false)],
        },
        Case {
            name: "going down with flush: one call carries weight and flush",
            desired: desired(k, Gre4, false, &[("10.0.0.1", 0, true, 2)]),
            current: Some(current(k, Gre4, Some(false), &[("10.0.0.1", 100)])),
            memory: vec![],
            forced: vec![],
            expected: vec![set(k, "10.0.0.1", 0, true)],
        },
        Case {
            name: "forced flush with unchanged weight",
            desired: desired(
                k,
                Gre4,
                false,
                &[("10.0.0.1", 40, false, 1), ("10.0.0.2", 40, false, 1)],
            ),
            current: Some(current(
                k,
                Gre4,
                Some(false),
                &[("10.0.0.1", 40), ("10.0.0.2", 40)],
            )),
            memory: vec![],
            forced: vec!["10.0.0.2"],
            expected: vec![set(k, "10.0.0.2", 40, true)],
        },
        Case {
            name: "forced flush overrides the flush memory",
            desired: desired(k, Gre4, false, &[("10.0.0.1", 0, true, 3)]),
            current: Some(current(k, Gre4, Some(false), &[("10.0.0.1", 0)])),
            memory: vec![("10.0.0.1", 3)],
            forced: vec!["10.0.0.1"],
            expected: vec![set(k, "10.0.0.1", 0, true)],
        },
        Case {
            name: "forced flush of an AS not yet in VPP: plain add",
            desired: desired(k, Gre4, false, &[("10.0.0.1", 10, false, 1)]),
            current: Some(current(k, Gre4, Some(false), &[])),
            memory: vec![],
            forced: vec!["10.0.0.1"],
            expected: vec![add(k, "10.0.0.1", 10)],
        },
        Case {
            name: "mixed diff interleaved in address order",
            desired: desired(
                k,
                Gre4,
                false,
                &[
                    ("10.0.0.10", 5, false, 1),
                    ("10.0.0.3", 100, false, 1),
                    ("10.0.0.1", 100, false, 1),
                ],
            ),
            current: Some(current(
                k,
                Gre4,
                Some(false),
                &[("10.0.0.1", 50), ("10.0.0.2", 100), ("10.0.0.20", 1)],
            )),
            memory: vec![],
            forced: vec![],
            expected: vec![
                set(k, "10.0.0.1", 100, false),
                del(k, "10.0.0.2"),
                add(k, "10.0.0.3", 100),
                add(k, "10.0.0.10", 5),
                del(k, "10.0.0.20"),
            ],
        },
        Case {
            name: "sticky flip: recreate",
            desired: desired(
                k,
                Gre4,
                true,
                &[("10.0.0.1", 100, false, 1), ("10.0.0.2", 0, true, 1)],
            ),
            current: Some(current(
                k,
                Gre4,
                Some(false),
                &[("10.0.0.2", 0), ("10.0.0.1", 100), ("10.0.0.3", 5)],
            )),
            memory: vec![],
            forced: vec![],
            expected: vec![
                del(k, "10.0.0.1"),
                del(k, "10.0.0.2"),
                del(k, "10.0.0.3"),
                LbCall::DelVip { key: k },
                add_vip(k, Gre4, true),
                add(k, "10.0.0.1", 100),
                add(k, "10.0.0.2", 0),
            ],
        },
        Case {
            name: "encap flip (all backends changed family): recreate",
            desired: desired(k, Gre6, false, &[("2001:db8:1::1", 100, false, 1)]),
            current: Some(current(k, Gre4, Some(false), &[("10.0.0.1", 100)])),
            memory: vec![],
            forced: vec![],
            expected: vec![
                del(k, "10.0.0.1"),
                LbCall::DelVip { key: k },
                add_vip(k, Gre6, false),
                add(k, "2001:db8:1::1", 100),
            ],
        },
        Case {
            name: "sticky unknown (missing from CLI scrape): never recreate",
            desired: desired(k, Gre4, true, &[("10.0.0.1", 100, false, 1)]),
            current: Some(current(k, Gre4, None, &[("10.0.0.1", 90)])),
            memory: vec![],
            forced: vec![],
            expected: vec![set(k, "10.0.0.1", 100, false)],
        },
    ];
    for case in cases {
        let mut memory = FlushMemory::new();
        for (addr, epoch) in &case.memory {
            let flushed = desired(
                case.desired.key,
                case.desired.encap,
                false,
                &[(addr, 0, true, *epoch)],
            );
            memory.record(&set(case.desired.key, addr, 0, true), Some(&flushed));
        }
        let forced: BTreeSet<IpAddr> = case.forced.iter().map(|a| ip(a)).collect();
        let plan = plan_vip(&case.desired, case.current.as_ref(), &memory, &forced);
        assert_eq!(plan, case.expected, "case: {}", case.name);
    }
}

#[test]
fn recreate_reasons() {
    let k = key("192.0.2.80", 6, 80);
    let want = desired(k, Encap::Gre6, true, &[]);
    let cases = vec![
        (current(k, Encap::Gre6, Some(true), &[]), None),
        (current(k, Encap::Gre6, None, &[]), None),
        (
            current(k, Encap::Gre6, Some(false), &[]),
            Some(RecreateReason {
                src_ip_sticky: Some((false, true)),
                encap: None,
            }),
        ),
        (
            current(k, Encap::Gre4, Some(true), &[]),
            Some(RecreateReason {
                src_ip_sticky: None,
                encap: Some((Encap::Gre4, Encap::Gre6)),
            }),
        ),
        (
            current(k, Encap::Other(2), Some(false), &[]),
            Some(RecreateReason {
                src_ip_sticky: Some((false, true)),
                encap: Some((Encap::Other(2), Encap::Gre6)),
            }),
        ),
    ];
    for (have, expected) in cases {
        assert_eq!(recreate_reason(&want, &have), expected, "{have:?}");
    }
    let reason = recreate_reason(&want, &current(k, Encap::Gre4, Some(false), &[])).unwrap();
    assert_eq!(
        reason.to_string(),
        "src-ip-sticky false->true, encap gre4->gre6"
    );
}

#[test]
fn numeric_not_lexicographic_order() {
    let k = key("2001:db8::80", 6, 80);
    // Inserted in string order; the plan must be numeric, v4 before v6.
    let addrs = [
        "10.0.0.10",
        "10.0.0.2",
        "2001:db8::10",
        "2001:db8::9",
        "2001:db8::a",
        "9.255.255.255",
    ];
    let want = desired(k, Encap::Gre4, false, &addrs.map(|a| (a, 1, false, 1)));
    let plan = plan_vip(&want, None, &FlushMemory::new(), &BTreeSet::new());
    let order: Vec<IpAddr> = plan
        .iter()
        .filter_map(|c| match c {
            LbCall::AddAs { addr, .. } => Some(*addr),
            _ => None,
        })
        .collect();
    let expected = [
        "9.255.255.255",
        "10.0.0.2",
        "10.0.0.10",
        "2001:db8::9",
        "2001:db8::a",
        "2001:db8::10",
    ];
    assert_eq!(order, expected.map(ip).to_vec());

    // Deletes walk the same order.
    let have = current(k, Encap::Gre4, Some(false), &addrs.map(|a| (a, 1)));
    let empty = desired(k, Encap::Gre4, false, &[]);
    let plan = plan_vip(&empty, Some(&have), &FlushMemory::new(), &BTreeSet::new());
    assert_eq!(plan, expected.map(|a| del(k, a)).to_vec());
}

#[test]
fn insertion_order_does_not_matter() {
    let k = key("192.0.2.80", 6, 80);
    let mut entries: Vec<(IpAddr, DesiredAs)> = (1..=40u8)
        .map(|i| {
            let addr = if i % 3 == 0 {
                format!("2001:db8::{i:x}")
            } else {
                format!("10.0.{}.{}", i % 4, i)
            };
            (
                ip(&addr),
                DesiredAs {
                    weight: i,
                    flush: i % 5 == 0,
                    flush_epoch: u64::from(i),
                },
            )
        })
        .collect();
    let stale = ["10.9.0.1", "10.0.0.100", "2001:db8::ffff"];
    let mut have: Vec<(&str, u8)> = vec![("10.0.1.1", 3), ("10.0.2.2", 2), ("2001:db8::3", 0)];
    have.extend(stale.iter().map(|a| (*a, 9)));
    let mut seed = 0x2545_f491_4f6c_dd1d;
    let mut reference: Option<(Vec<LbCall>, Vec<LbCall>)> = None;
    for _ in 0..25 {
        shuffle(&mut entries, &mut seed);
        shuffle(&mut have, &mut seed);
        let mut want = DesiredVip::new(k, Encap::Gre4, false);
        for (addr, d) in &entries {
            want.insert_as(*addr, *d);
        }
        let cur = current(k, Encap::Gre4, Some(false), &have);
        let fresh = plan_vip(&want, None, &FlushMemory::new(), &BTreeSet::new());
        let diff = plan_vip(&want, Some(&cur), &FlushMemory::new(), &BTreeSet::new());
        match &reference {
            None => reference = Some((fresh, diff)),
            Some((f, d)) => {
                assert_eq!(&fresh, f);
                assert_eq!(&diff, d);
            }
        }
    }
    let (fresh, _) = reference.unwrap();
    assert_eq!(fresh.len(), 41);
}

#[test]
fn plan_all_removes_unconfigured_vips_first() {
    let a = key("192.0.2.1", 6, 80);
    let b = key("192.0.2.2", 6, 80);
    let z = key("2001:db8::99", 17, 53);
    let want: BTreeMap<VipKey, DesiredVip> = [
        (
            b,
            desired(b, Encap::Gre4, false, &[("10.0.0.1", 100, false, 1)]),
        ),
        (
            z,
            desired(z, Encap::Gre4, false, &[("10.0.0.5", 100, false, 1)]),
        ),
    ]
    .into();
    let have: BTreeMap<VipKey, CurrentVip> = [
        (
            a,
            current(
                a,
                Encap::Gre4,
                Some(false),
                &[("10.0.0.10", 1), ("10.0.0.9", 1)],
            ),
        ),
        (b, current(b, Encap::Gre4, Some(false), &[("10.0.0.1", 50)])),
    ]
    .into();
    let plan = plan_all(&want, &have, &FlushMemory::new(), &BTreeMap::new());
    assert_eq!(
        plan,
        vec![
            del(a, "10.0.0.9"),
            del(a, "10.0.0.10"),
            LbCall::DelVip { key: a },
            set(b, "10.0.0.1", 100, false),
            add_vip(z, Encap::Gre4, false),
            add(z, "10.0.0.5", 100),
        ]
    );
}

#[test]
fn plan_all_tears_down_shared_address_before_rebuilding() {
    // Two frontends on one VIP address whose backends all moved to IPv6:
    // VPP refuses mixed encaps on one prefix, so both go before either returns.
    let k80 = key("192.0.2.80", 6, 80);
    let k443 = key("192.0.2.80", 6, 443);
    let want: BTreeMap<VipKey, DesiredVip> = [k80, k443]
        .map(|k| {
            (
                k,
                desired(k, Encap::Gre6, false, &[("2001:db8:1::1", 100, false, 1)]),
            )
        })
        .into();
    let have: BTreeMap<VipKey, CurrentVip> = [k80, k443]
        .map(|k| {
            (
                k,
                current(k, Encap::Gre4, Some(false), &[("10.0.0.1", 100)]),
            )
        })
        .into();
    let plan = plan_all(&want, &have, &FlushMemory::new(), &BTreeMap::new());
    assert_eq!(
        plan,
        vec![
            del(k80, "10.0.0.1"),
            LbCall::DelVip { key: k80 },
            del(k443, "10.0.0.1"),
            LbCall::DelVip { key: k443 },
            add_vip(k80, Encap::Gre6, false),
            add(k80, "2001:db8:1::1", 100),
            add_vip(k443, Encap::Gre6, false),
            add(k443, "2001:db8:1::1", 100),
        ]
    );
}

#[test]
fn plan_all_forced_flush_is_per_vip() {
    let a = key("192.0.2.1", 6, 80);
    let b = key("192.0.2.2", 6, 80);
    let want: BTreeMap<VipKey, DesiredVip> = [a, b]
        .map(|k| {
            (
                k,
                desired(k, Encap::Gre4, false, &[("10.0.0.1", 7, false, 1)]),
            )
        })
        .into();
    let have: BTreeMap<VipKey, CurrentVip> = [a, b]
        .map(|k| (k, current(k, Encap::Gre4, Some(false), &[("10.0.0.1", 7)])))
        .into();
    let forced = [(b, [ip("10.0.0.1")].into())].into();
    let plan = plan_all(&want, &have, &FlushMemory::new(), &forced);
    assert_eq!(plan, vec![set(b, "10.0.0.1", 7, true)]);
    assert!(plan_all(
        &BTreeMap::new(),
        &BTreeMap::new(),
        &FlushMemory::new(),
        &BTreeMap::new()
    )
    .is_empty());
}
