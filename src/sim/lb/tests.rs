//! Behaviour tests of the lb model beyond the captured sessions: return
//! codes, lazy removal and GC, dump quirks, flows and counters.

use std::net::IpAddr;

use super::*;

fn addr(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn key(prefix: &str, len: u8, protocol: u8, port: u16) -> VipKey {
    VipKey::new(addr(prefix), len, protocol, port)
}

fn vip80() -> VipKey {
    key("192.0.2.80", 32, 6, 80)
}

fn add(lb: &mut LbState, key: VipKey, encap: Encap) -> i32 {
    lb.add_vip(&VipAdd::new(key, encap))
}

/// VIP 192.0.2.80/32 tcp/80 gre4 with the given ASes.
fn state_with(ases: &[(&str, u8)]) -> LbState {
    let mut lb = LbState::default();
    assert_eq!(add(&mut lb, vip80(), Encap::Gre4), rv::OK);
    for (a, w) in ases {
        assert_eq!(lb.add_as(&vip80(), addr(a), *w, false), rv::OK);
    }
    lb
}

fn details(lb: &LbState, a: &str) -> Vec<AsDetails> {
    lb.as_v2_dump(&AsDumpFilter::all())
        .into_iter()
        .filter(|d| d.address == addr(a))
        .collect()
}

#[test]
fn add_vip_return_codes() {
    let mut lb = LbState::default();
    let v6 = |port| key("2001:db8::80", 128, 6, port);
    let cases: Vec<(VipAdd, i32)> = vec![
        (VipAdd::new(vip80(), Encap::Gre4), rv::OK),
        (VipAdd::new(vip80(), Encap::Gre4), rv::VALUE_EXIST),
        // Same prefix, other port, other encap type.
        (
            VipAdd::new(key("192.0.2.80", 32, 6, 443), Encap::Gre6),
            rv::INVALID_ARGUMENT,
        ),
        (
            VipAdd::new(key("192.0.2.80", 32, 6, 443), Encap::Gre4),
            rv::OK,
        ),
        // All-port VIP on a prefix with per-port VIPs.
        (
            VipAdd::new(key("192.0.2.80", 32, 6, 0), Encap::Gre4),
            rv::VALUE_EXIST,
        ),
        (
            VipAdd::new(key("192.0.2.90", 32, 17, 0), Encap::Gre4),
            rv::OK,
        ),
        // Per-port VIP on an all-port prefix.
        (
            VipAdd::new(key("192.0.2.90", 32, 6, 80), Encap::Gre4),
            rv::VALUE_EXIST,
        ),
        // Port 0 forces protocol 255: another protocol is the same VIP.
        (
            VipAdd::new(key("192.0.2.90", 32, 6, 0), Encap::Gre4),
            rv::VALUE_EXIST,
        ),
        (
            VipAdd {
                new_flows_table_length: 1000,
                ..VipAdd::new(key("192.0.2.82", 32, 6, 80), Encap::Gre4)
            },
            rv::INVALID_MEMORY_SIZE,
        ),
        // IPv4 prefix with an IPv6-only encap, unknown encap.
        (
            VipAdd::new(key("192.0.2.83", 32, 6, 80), Encap::Nat6),
            rv::INVALID_ADDRESS_FAMILY,
        ),
        (
            VipAdd::new(key("192.0.2.84", 32, 6, 80), Encap::Unknown(9)),
            rv::INVALID_ADDRESS_FAMILY,
        ),
        // IPv6 prefix, L3DSR: lb silently makes it ip6-gre6.
        (VipAdd::new(v6(80), Encap::L3dsr), rv::OK),
        // The IPv4-compatible spelling of an existing IPv4 VIP is that VIP.
        (
            VipAdd::new(key("::192.0.2.80", 128, 6, 80), Encap::Gre4),
            rv::VALUE_EXIST,
        ),
    ];
    for (i, (args, want)) in cases.iter().enumerate() {
        assert_eq!(lb.add_vip(args), *want, "case {i}: {args:?}");
    }
    let dump = lb.vip_dump();
    let all_port = dump
        .iter()
        .find(|d| d.key.prefix == addr("192.0.2.90"))
        .unwrap();
    assert_eq!((all_port.key.protocol, all_port.key.port), (255, 0));
    let l3dsr_v6 = dump
        .iter()
        .find(|d| d.key.prefix == addr("2001:db8::80"))
        .unwrap();
    assert_eq!(l3dsr_v6.encap, Encap::Gre6);
    assert!(lb
        .show_vips_verbose()
        .contains(" ip6-gre6 [4] 2001:db8::80/128\n"));
}

#[test]
fn prefixes_are_normalised_and_table_length_truncated_in_dump() {
    let mut lb = LbState::default();
    let args = VipAdd {
        new_flows_table_length: 65536,
        ..VipAdd::new(key("192.0.2.77", 24, 6, 80), Encap::Gre4)
    };
    assert_eq!(lb.add_vip(&args), rv::OK);
    let dump = lb.vip_dump();
    assert_eq!(dump[0].key, key("192.0.2.0", 24, 6, 80));
    assert_eq!(dump[0].flow_table_length, 0);
    assert!(lb
        .show_vips_verbose()
        .contains("] 192.0.2.0/24\n  new_size:65536\n"));
    assert_eq!(lb.vip_index(&key("192.0.2.1", 24, 6, 80)), Some(1));
}

#[test]
fn conf_return_codes_and_keep_values() {
    let mut lb = LbState::default();
    let (v4, v6) = (
        "192.0.2.254".parse().unwrap(),
        "2001:db8::fe".parse().unwrap(),
    );
    assert_eq!(lb.conf(v4, v6, 1000, 40), rv::INVALID_MEMORY_SIZE);
    assert_eq!(lb.conf_get(), LbConf::default());
    assert_eq!(lb.conf(v4, v6, 65536, 30), rv::OK);
    assert_eq!(lb.conf(v4, v6, u32::MAX, u32::MAX), rv::OK);
    assert_eq!(lb.conf_get().sticky_buckets_per_core, 65536);
    assert_eq!(lb.conf_get().flow_timeout, 30);
}

#[test]
fn as_return_codes() {
    let mut lb = state_with(&[("198.51.100.1", 100)]);
    let unknown_vip = key("192.0.2.99", 32, 6, 80);
    let cases = [
        (
            lb.add_as(&unknown_vip, addr("198.51.100.1"), 100, false),
            rv::NO_SUCH_ENTRY,
        ),
        (
            lb.add_as(&vip80(), addr("198.51.100.1"), 50, false),
            rv::VALUE_EXIST,
        ),
        (
            lb.add_as(&vip80(), addr("2001:db8:1::1"), 50, false),
            rv::INVALID_ADDRESS_FAMILY,
        ),
        // IPv4-compatible IPv6 *is* IPv4 for lb, and the same AS.
        (
            lb.add_as(&vip80(), addr("::198.51.100.1"), 50, false),
            rv::VALUE_EXIST,
        ),
        (
            lb.set_weight(&vip80(), addr("198.51.100.9"), 50, false),
            rv::NO_SUCH_ENTRY,
        ),
        (
            lb.del_as(&vip80(), addr("198.51.100.9"), false),
            rv::NO_SUCH_ENTRY,
        ),
        (
            lb.del_as(&unknown_vip, addr("198.51.100.1"), false),
            rv::NO_SUCH_ENTRY,
        ),
        (lb.del_vip(&unknown_vip), rv::NO_SUCH_ENTRY),
        (
            lb.set_weight(&vip80(), addr("198.51.100.1"), 200, false),
            rv::OK,
        ),
        (lb.flush_vip(&unknown_vip), rv::OK),
    ];
    for (i, (got, want)) in cases.iter().enumerate() {
        assert_eq!(got, want, "case {i}");
    }
    let mut v6 = LbState::default();
    assert_eq!(
        add(&mut v6, key("2001:db8::443", 128, 6, 443), Encap::Gre6),
        rv::OK
    );
    let k = key("2001:db8::443", 128, 6, 443);
    assert_eq!(
        v6.add_as(&k, addr("198.51.100.1"), 1, false),
        rv::INVALID_ADDRESS_FAMILY
    );
    assert_eq!(v6.add_as(&k, addr("2001:db8:1::1"), 1, false), rv::OK);
}

#[test]
fn weights_drive_buckets() {
    let mut lb = state_with(&[("198.51.100.1", 100), ("198.51.100.2", 100)]);
    assert_eq!(
        lb.set_weight(&vip80(), addr("198.51.100.2"), 0, false),
        rv::OK
    );
    assert_eq!(details(&lb, "198.51.100.1")[0].num_buckets, 1024);
    assert_eq!(details(&lb, "198.51.100.2")[0].num_buckets, 0);
    assert_eq!(details(&lb, "198.51.100.2")[0].flags, 1);
    // Unvalidated weight: 200 is used as is.
    assert_eq!(
        lb.set_weight(&vip80(), addr("198.51.100.2"), 200, false),
        rv::OK
    );
    let (b1, b2) = (
        details(&lb, "198.51.100.1")[0].num_buckets,
        details(&lb, "198.51.100.2")[0].num_buckets,
    );
    assert_eq!(b1 + b2, 1024);
    assert!(b2 > b1 * 3 / 2, "{b1} {b2}");
}

#[test]
fn insertion_order_gives_identical_buckets() {
    let set = [
        ("198.51.100.3", 25),
        ("198.51.100.1", 100),
        ("198.51.100.2", 75),
    ];
    let forward = state_with(&set);
    let mut reversed_set = set;
    reversed_set.reverse();
    let reversed = state_with(&reversed_set);
    let per_address = |lb: &LbState| {
        let mut v: Vec<(IpAddr, u32)> = lb
            .as_v2_dump(&AsDumpFilter::all())
            .into_iter()
            .map(|d| (d.address, d.num_buckets))
            .collect();
        v.sort();
        v
    };
    assert_eq!(per_address(&forward), per_address(&reversed));
    // The dump lists ASes in insertion order, though.
    let order = |lb: &LbState| lb.as_v2_dump(&AsDumpFilter::all())[0].address;
    assert_ne!(order(&forward), order(&reversed));
}

#[test]
fn removed_as_lingers_and_is_revived() {
    let mut lb = state_with(&[("198.51.100.1", 100), ("198.51.100.2", 50)]);
    lb.tick(44);
    assert_eq!(lb.del_as(&vip80(), addr("198.51.100.2"), true), rv::OK);
    let gone = details(&lb, "198.51.100.2");
    assert_eq!(
        (
            gone[0].flags,
            gone[0].num_buckets,
            gone[0].weight,
            gone[0].in_use_since
        ),
        (0, 0, 50, 44)
    );
    assert_eq!(
        lb.set_weight(&vip80(), addr("198.51.100.2"), 10, false),
        rv::NO_SUCH_ENTRY
    );
    // Deleting again succeeds and restarts the clock.
    lb.tick(45);
    assert_eq!(lb.del_as(&vip80(), addr("198.51.100.2"), false), rv::OK);
    assert_eq!(details(&lb, "198.51.100.2")[0].in_use_since, 45);
    let before = lb.show_vips_verbose();
    assert!(
        before.contains("    198.51.100.2 weight:50 buckets:0 flows:0 dpo:10  removed\n"),
        "{before}"
    );
    assert_eq!(lb.add_as(&vip80(), addr("198.51.100.2"), 70, false), rv::OK);
    let back = details(&lb, "198.51.100.2");
    assert_eq!(back.len(), 1);
    assert_eq!(
        (back[0].flags, back[0].weight, back[0].in_use_since),
        (1, 70, 45)
    );
    assert!(lb
        .show_vips_verbose()
        .contains("    198.51.100.2 weight:70 buckets:"));
    assert!(lb.show_vips_verbose().contains(" dpo:10 used\n"));
}

#[test]
fn deleted_vip_is_hidden_but_its_ases_are_not_and_readd_makes_a_second_vip() {
    let mut lb = state_with(&[("198.51.100.1", 100)]);
    assert_eq!(lb.del_vip(&vip80()), rv::OK);
    assert!(lb.vip_dump().is_empty());
    assert_eq!(lb.vip_index(&vip80()), None);
    assert_eq!(lb.route_stats_index(addr("192.0.2.80"), 32), None);
    assert_eq!(details(&lb, "198.51.100.1")[0].flags, 0);
    assert!(lb
        .show_vips_verbose()
        .starts_with(" ip4-gre4 [1] 192.0.2.80/32 removed\n"));
    assert_eq!(
        lb.add_as(&vip80(), addr("198.51.100.1"), 100, false),
        rv::NO_SUCH_ENTRY
    );

    assert_eq!(add(&mut lb, vip80(), Encap::Gre4), rv::OK);
    assert_eq!(lb.vip_index(&vip80()), Some(2));
    assert_eq!(
        lb.add_as(&vip80(), addr("198.51.100.1"), 100, false),
        rv::OK
    );
    let flags: Vec<u8> = details(&lb, "198.51.100.1")
        .iter()
        .map(|d| d.flags)
        .collect();
    assert_eq!(flags, [0, 1]);
}

#[test]
fn garbage_collection_timing() {
    let mut lb = state_with(&[("198.51.100.1", 100), ("198.51.100.2", 100)]);
    lb.tick(5);
    assert_eq!(lb.del_as(&vip80(), addr("198.51.100.2"), false), rv::OK);
    // Per-VIP collection needs 60 s since the last one (creation at 0).
    lb.tick(59);
    assert_eq!(lb.add_as(&vip80(), addr("198.51.100.3"), 1, false), rv::OK);
    assert_eq!(details(&lb, "198.51.100.2").len(), 1);
    // The gc process fires at 60: VIP collected at 0 → due; AS unused 55 s.
    lb.tick(60);
    assert!(details(&lb, "198.51.100.2").is_empty());
    // An AS removed after that waits for the next per-VIP run (≥ 120).
    lb.tick(61);
    assert_eq!(lb.del_as(&vip80(), addr("198.51.100.3"), false), rv::OK);
    lb.tick(119);
    lb.garbage_collection();
    assert_eq!(details(&lb, "198.51.100.3").len(), 1);
    lb.tick(120);
    assert!(details(&lb, "198.51.100.3").is_empty());
}

#[test]
fn removed_vip_is_collected_and_its_index_reused_last_freed_first() {
    let mut lb = state_with(&[("198.51.100.1", 100)]);
    let second = key("192.0.2.81", 32, 6, 80);
    let third = key("192.0.2.82", 32, 6, 80);
    assert_eq!(add(&mut lb, second, Encap::Gre4), rv::OK);
    assert_eq!(add(&mut lb, third, Encap::Gre4), rv::OK);
    assert_eq!(lb.del_vip(&second), rv::OK);
    assert_eq!(lb.del_vip(&vip80()), rv::OK);
    lb.tick(59);
    assert!(lb.show_vips_verbose().contains("[2] 192.0.2.81/32 removed"));
    lb.tick(60);
    let text = lb.show_vips_verbose();
    assert!(!text.contains("removed"), "{text}");
    assert!(details(&lb, "198.51.100.1").is_empty());
    // Index 1 was freed last (pool order), so it comes back first.
    assert_eq!(
        add(&mut lb, key("192.0.2.83", 32, 6, 80), Encap::Gre4),
        rv::OK
    );
    assert_eq!(lb.vip_index(&key("192.0.2.83", 32, 6, 80)), Some(2));
    assert_eq!(
        add(&mut lb, key("192.0.2.84", 32, 6, 80), Encap::Gre4),
        rv::OK
    );
    assert_eq!(lb.vip_index(&key("192.0.2.84", 32, 6, 80)), Some(1));
}

#[test]
fn as_dump_filter_quirk() {
    let mut lb = state_with(&[("198.51.100.1", 100)]);
    let v6 = key("2001:db8::443", 128, 6, 443);
    assert_eq!(add(&mut lb, v6, Encap::Gre6), rv::OK);
    assert_eq!(lb.add_as(&v6, addr("2001:db8:1::1"), 100, false), rv::OK);
    let count = |filter: AsDumpFilter| lb.as_v2_dump(&filter).len();
    let cases = [
        (AsDumpFilter::all(), 2),
        (AsDumpFilter::for_address(addr("192.0.2.80"), 6, 80), 0),
        (AsDumpFilter::for_address(addr("::192.0.2.80"), 6, 80), 1),
        (AsDumpFilter::for_address(addr("::192.0.2.80"), 17, 80), 0),
        (AsDumpFilter::for_address(addr("::192.0.2.80"), 6, 81), 0),
        (AsDumpFilter::for_address(addr("2001:db8::443"), 6, 443), 1),
        // Zero address bytes: all, whatever protocol and port say.
        (AsDumpFilter::for_address(addr("::"), 17, 53), 2),
    ];
    for (i, (filter, want)) in cases.into_iter().enumerate() {
        assert_eq!(count(filter), want, "case {i}");
    }
}

#[test]
fn traffic_counters_flows_and_gc_blocking() {
    let mut lb = state_with(&[("198.51.100.1", 100)]);
    lb.conf(
        "192.0.2.254".parse().unwrap(),
        "2001:db8::fe".parse().unwrap(),
        1024,
        40,
    );
    let packet = |port| Packet::tcp(addr("10.0.0.1"), port, addr("192.0.2.80"), 80);
    let outcomes = lb.inject_traffic(&[packet(1), packet(1), packet(2)]);
    let counters: Vec<Counter> = outcomes
        .iter()
        .map(|o| match o {
            PacketOutcome::Counted { counter, .. } => *counter,
            PacketOutcome::NotForLb => panic!("not for lb"),
        })
        .collect();
    assert_eq!(
        counters,
        [
            Counter::FirstPacket,
            Counter::NextPacket,
            Counter::FirstPacket
        ]
    );
    assert_eq!(lb.vip_counters(1), Some([1, 2, 0, 0]));
    assert!(lb
        .show_vips_verbose()
        .contains("198.51.100.1 weight:100 buckets:1024 flows:2 "));
    // Other port, other address: not lb's.
    assert_eq!(
        lb.inject(&Packet::tcp(addr("10.0.0.1"), 1, addr("192.0.2.99"), 80)),
        PacketOutcome::NotForLb
    );
    // Same prefix, unknown port: the placeholder VIP 0 counts it.
    let stray = lb.inject(&Packet::tcp(addr("10.0.0.1"), 1, addr("192.0.2.80"), 81));
    assert!(matches!(
        stray,
        PacketOutcome::Counted {
            vip_index: 0,
            counter: Counter::NoServer,
            as_address: None
        }
    ));

    // Flows keep a removed AS alive past GC until flushed.
    lb.tick(1);
    assert_eq!(lb.del_as(&vip80(), addr("198.51.100.1"), false), rv::OK);
    assert_eq!(
        lb.inject(&packet(1)),
        PacketOutcome::Counted {
            vip_index: 1,
            counter: Counter::NextPacket,
            as_address: Some(Ip46::from_ip(addr("198.51.100.1")))
        }
    );
    lb.tick(60);
    assert_eq!(details(&lb, "198.51.100.1").len(), 1);
    assert_eq!(lb.flush_vip(&vip80()), rv::OK);
    assert!(lb.show_vips_verbose().contains("flows:0"));
    lb.tick(120);
    assert!(details(&lb, "198.51.100.1").is_empty());
}

#[test]
fn no_server_flows_fill_the_sticky_bucket_then_go_untracked() {
    let mut lb = LbState::default();
    assert_eq!(add(&mut lb, vip80(), Encap::Gre4), rv::OK);
    let packet = Packet::tcp(addr("10.0.0.5"), 5000, addr("192.0.2.80"), 80);
    lb.inject_traffic(&[packet; 5]);
    // Each no-server packet takes a new slot of the 4-entry bucket.
    assert_eq!(lb.vip_counters(1), Some([0, 0, 1, 4]));
}

#[test]
fn flows_expire_after_the_timeout() {
    let mut lb = state_with(&[("198.51.100.1", 100)]);
    let packet = Packet::tcp(addr("10.0.0.1"), 7, addr("192.0.2.80"), 80);
    lb.inject(&packet);
    // Each hit refreshes the entry to now + 40; it is dead *at* that second.
    lb.tick(39);
    lb.inject(&packet);
    lb.tick(78);
    lb.inject(&packet);
    assert_eq!(lb.vip_counters(1), Some([2, 1, 0, 0]));
    lb.tick(118);
    lb.inject(&packet);
    assert_eq!(lb.vip_counters(1), Some([2, 2, 0, 0]));
    assert!(lb.show_vips_verbose().contains("flows:1 "));
}

#[test]
fn show_vips_line_format() {
    let mut lb = state_with(&[("198.51.100.1", 100)]);
    assert_eq!(
        add(&mut lb, key("2001:db8::", 64, 17, 0), Encap::Gre6),
        rv::OK
    );
    assert_eq!(
        lb.show_vips(),
        "ip4-gre4 192.0.2.80/32 new_size:1024 #as:1  protocol:6 port:80 \n\
         ip6-gre6 2001:db8::/64 new_size:1024 #as:0\n"
    );
}

#[test]
fn l3dsr_and_nat_formatting() {
    let mut lb = LbState::default();
    let dsr = VipAdd {
        dscp: 0x7f,
        ..VipAdd::new(key("192.0.2.10", 32, 6, 80), Encap::L3dsr)
    };
    assert_eq!(lb.add_vip(&dsr), rv::OK);
    let nat = VipAdd {
        srv_type: 1,
        target_port: 8080,
        ..VipAdd::new(key("192.0.2.11", 32, 6, 80), Encap::Nat4)
    };
    assert_eq!(lb.add_vip(&nat), rv::OK);
    let text = lb.show_vips_verbose();
    assert!(
        text.contains("  protocol:6 port:80\n  dscp:63\n  counters:\n"),
        "{text}"
    );
    assert!(
        text.contains("  type:nodeport port:20480 target_port:8080  counters:\n"),
        "{text}"
    );
    let dump = lb.vip_dump();
    assert_eq!((dump[0].encap, dump[0].dscp), (Encap::L3dsr, 63));
    assert_eq!(
        (dump[1].srv_type, dump[1].target_port),
        (1, 8080u16.swap_bytes())
    );
}
