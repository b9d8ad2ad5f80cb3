//! Key construction and dump normalisation, exercised separately for the
//! desired side (config) and the current side (VPP's representation).

use std::net::{IpAddr, Ipv4Addr};

use super::model::{AS_FLAG_USED, PROTOCOL_ANY};
use super::*;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// VPP's `vl_api_address_t` union as the dump carries it.
fn union(text: &str) -> DumpAddr {
    match ip(text) {
        IpAddr::V4(v4) => {
            let mut un = [0u8; 16];
            un[..4].copy_from_slice(&v4.octets());
            DumpAddr::Union { af: 0, un }
        }
        IpAddr::V6(v6) => DumpAddr::Union {
            af: 1,
            un: v6.octets(),
        },
    }
}

fn dump_vip(addr: DumpAddr, len: u8, protocol: u8, port: u16, encap: u32) -> DumpVip {
    DumpVip {
        prefix_addr: addr,
        prefix_len: len,
        protocol,
        port,
        encap,
    }
}

fn dump_as(vip: &DumpVip, addr: DumpAddr, flags: u8, weight: u8) -> DumpAs {
    DumpAs {
        vip_prefix_addr: vip.prefix_addr,
        vip_prefix_len: vip.prefix_len,
        vip_protocol: vip.protocol,
        vip_port: vip.port,
        addr,
        flags,
        weight,
        num_buckets: if flags & AS_FLAG_USED != 0 { 512 } else { 0 },
    }
}

#[test]
fn desired_and_dumped_keys_agree() {
    // (config address, protocol, port) vs (dump address form, len, protocol, port)
    let cases: Vec<(&str, u8, u16, DumpAddr, u8, u8, u16)> = vec![
        ("192.0.2.80", 6, 80, union("192.0.2.80"), 32, 6, 80),
        (
            "192.0.2.80",
            6,
            80,
            DumpAddr::Ip(ip("192.0.2.80")),
            32,
            6,
            80,
        ),
        (
            "192.0.2.80",
            6,
            80,
            DumpAddr::Ip(ip("::ffff:192.0.2.80")),
            128,
            6,
            80,
        ),
        ("2001:db8::80", 6, 80, union("2001:db8::80"), 128, 6, 80),
        (
            "2001:db8::80",
            17,
            53,
            DumpAddr::Ip(ip("2001:db8::80")),
            128,
            17,
            53,
        ),
        // all-port VIP: VPP forces protocol 255
        ("192.0.2.81", 255, 0, union("192.0.2.81"), 32, 255, 0),
        ("192.0.2.81", 6, 0, union("192.0.2.81"), 32, 255, 0),
    ];
    for (addr, proto, port, dumped, len, dproto, dport) in cases {
        let desired = VipKey::host(ip(addr), proto, port);
        let current = dump_vip(dumped, len, dproto, dport, 0).key().unwrap();
        assert_eq!(desired, current, "{addr} {proto} {port} vs {dumped:?}");
    }
}

#[test]
fn key_canonical_form() {
    let key = VipKey::host(ip("::ffff:192.0.2.1"), 17, 53);
    assert_eq!(key.addr(), IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(key.prefix_len(), 32);
    assert_eq!((key.protocol(), key.port()), (17, 53));
    assert_eq!(key.prefix_string(), "192.0.2.1/32");
    let v6 = VipKey::host(ip("2001:db8::1"), 6, 0);
    assert_eq!((v6.prefix_len(), v6.protocol()), (128, PROTOCOL_ANY));
}

#[test]
fn bad_dump_keys_are_errors() {
    let cases = vec![
        (union("192.0.2.1"), 33),
        (union("2001:db8::1"), 129),
        (DumpAddr::Union { af: 7, un: [1; 16] }, 32),
    ];
    for (addr, len) in cases {
        assert!(
            dump_vip(addr, len, 6, 80, 0).key().is_err(),
            "{addr:?}/{len}"
        );
    }
}

#[test]
fn vip_key_order_is_numeric_v4_first() {
    let ordered = [
        VipKey::host(ip("10.0.0.2"), 6, 80),
        VipKey::host(ip("10.0.0.2"), 6, 443),
        VipKey::host(ip("10.0.0.2"), 17, 53),
        VipKey::host(ip("10.0.0.10"), 6, 80),
        VipKey::host(ip("192.0.2.1"), 6, 80),
        VipKey::host(ip("2001:db8::2"), 6, 80),
        VipKey::host(ip("2001:db8::10"), 6, 80),
        VipKey::host(ip("2001:db8::1:0"), 6, 80),
    ];
    for pair in ordered.windows(2) {
        assert!(pair[0] < pair[1], "{} < {}", pair[0], pair[1]);
    }
}

#[test]
fn encap_wire_values() {
    let cases = [
        (0, Encap::Gre4),
        (1, Encap::Gre6),
        (2, Encap::Other(2)),
        (4, Encap::Other(4)),
    ];
    for (wire, encap) in cases {
        assert_eq!(Encap::from_wire(wire), encap);
        assert_eq!(encap.to_wire(), wire);
    }
    assert_eq!(Encap::for_backend(ip("198.51.100.1")), Encap::Gre4);
    assert_eq!(Encap::for_backend(ip("::ffff:198.51.100.1")), Encap::Gre4);
    assert_eq!(Encap::for_backend(ip("2001:db8:1::1")), Encap::Gre6);
}

/// The after-traffic dump of the captured session, in VPP's representation.
fn captured_dumps() -> (Vec<DumpVip>, Vec<DumpAs>) {
    let v80 = dump_vip(union("192.0.2.80"), 32, 6, 80, 0);
    let v6_80 = dump_vip(union("2001:db8::80"), 128, 6, 80, 0);
    let v443 = dump_vip(union("2001:db8::443"), 128, 6, 443, 1);
    let v8080 = dump_vip(union("192.0.2.81"), 32, 6, 8080, 0);
    // 192.0.2.53 udp/53 was deleted: hidden from the VIP dump, its AS lingers.
    let gone = dump_vip(union("192.0.2.53"), 32, 17, 53, 0);
    let ases = vec![
        dump_as(&v80, union("198.51.100.1"), 1, 100),
        dump_as(&v80, union("198.51.100.2"), 1, 75),
        dump_as(&v80, union("198.51.100.3"), 0, 25),
        dump_as(&v6_80, union("198.51.100.11"), 1, 100),
        dump_as(&v6_80, union("198.51.100.12"), 1, 20),
        dump_as(&v443, union("2001:db8:1::1"), 1, 100),
        dump_as(&v443, union("2001:db8:1::2"), 1, 10),
        dump_as(&v443, union("2001:db8:1::3"), 1, 30),
        dump_as(&gone, union("198.51.100.53"), 0, 100),
    ];
    (vec![v80, v6_80, v443, v8080], ases)
}

#[test]
fn current_from_captured_dumps() {
    let (vips, ases) = captured_dumps();
    let k443 = VipKey::host(ip("2001:db8::443"), 6, 443);
    let current = current_from_dumps(&vips, &ases, &[(k443, true)]);
    assert_eq!(current.len(), 4);

    let v80 = &current[&VipKey::host(ip("192.0.2.80"), 6, 80)];
    let addrs: Vec<IpAddr> = v80.ases.keys().copied().collect();
    assert_eq!(
        addrs,
        vec![ip("198.51.100.1"), ip("198.51.100.2")],
        "flags 0 skipped"
    );
    assert_eq!(v80.ases[&ip("198.51.100.2")].weight, 75);
    assert_eq!((v80.encap, v80.src_ip_sticky), (Encap::Gre4, None));

    let v443 = &current[&k443];
    assert_eq!((v443.encap, v443.src_ip_sticky), (Encap::Gre6, Some(true)));
    assert_eq!(v443.ases.len(), 3);

    let v6_80 = &current[&VipKey::host(ip("2001:db8::80"), 6, 80)];
    assert_eq!(v6_80.ases.len(), 2, "IPv4 ASes on an IPv6 VIP");

    assert!(current[&VipKey::host(ip("192.0.2.81"), 6, 8080)]
        .ases
        .is_empty());
    assert!(!current.contains_key(&VipKey::host(ip("192.0.2.53"), 17, 53)));
}

#[test]
fn duplicate_as_removed_and_live_keeps_live() {
    // A VIP re-added before GC: the same (VIP, AS) once with flags 0, once 1,
    // in either order.
    let vip = dump_vip(union("192.0.2.80"), 32, 6, 80, 0);
    let stale = dump_as(&vip, union("198.51.100.1"), 0, 100);
    let live = dump_as(&vip, union("198.51.100.1"), 1, 40);
    for ases in [vec![stale, live], vec![live, stale]] {
        let current = current_from_dumps(&[vip], &ases, &[]);
        let v = &current[&VipKey::host(ip("192.0.2.80"), 6, 80)];
        assert_eq!(v.ases.len(), 1);
        assert_eq!(v.ases[&ip("198.51.100.1")].weight, 40);
    }
}

#[test]
fn ipv4_as_from_bytes_and_union_is_one_entry() {
    let vip = dump_vip(DumpAddr::Ip(ip("192.0.2.80")), 32, 6, 80, 0);
    let by_union = dump_as(&vip, union("198.51.100.1"), 1, 10);
    let mut by_bytes = dump_as(&vip, DumpAddr::Ip(ip("198.51.100.1")), 1, 20);
    by_bytes.vip_prefix_addr = union("192.0.2.80");
    let current = current_from_dumps(&[vip], &[by_union, by_bytes], &[]);
    let v = &current[&VipKey::host(ip("192.0.2.80"), 6, 80)];
    assert_eq!(v.ases.len(), 1);
    assert!(v.ases.contains_key(&ip("198.51.100.1")));
}

#[test]
fn ases_matched_on_full_key() {
    // Two VIPs on one address, different ports; plus an all-port VIP.
    let v80 = dump_vip(union("192.0.2.80"), 32, 6, 80, 0);
    let v443 = dump_vip(union("192.0.2.80"), 32, 6, 443, 0);
    let all = dump_vip(union("192.0.2.90"), 32, 255, 0, 0);
    let ases = vec![
        dump_as(&v80, union("198.51.100.1"), 1, 100),
        dump_as(&v443, union("198.51.100.2"), 1, 100),
        dump_as(&all, union("198.51.100.3"), 1, 100),
    ];
    let current = current_from_dumps(&[v80, v443, all], &ases, &[]);
    let only = |key: VipKey| current[&key].ases.keys().copied().collect::<Vec<_>>();
    assert_eq!(
        only(VipKey::host(ip("192.0.2.80"), 6, 80)),
        vec![ip("198.51.100.1")]
    );
    assert_eq!(
        only(VipKey::host(ip("192.0.2.80"), 6, 443)),
        vec![ip("198.51.100.2")]
    );
    assert_eq!(
        only(VipKey::host(ip("192.0.2.90"), 255, 0)),
        vec![ip("198.51.100.3")]
    );
}

#[test]
fn undecodable_entries_are_skipped() {
    let vip = dump_vip(union("192.0.2.80"), 32, 6, 80, 0);
    let bad_vip = dump_vip(DumpAddr::Union { af: 9, un: [0; 16] }, 32, 6, 80, 0);
    let bad_as = dump_as(&vip, DumpAddr::Union { af: 2, un: [0; 16] }, 1, 1);
    let good_as = dump_as(&vip, union("198.51.100.1"), 1, 1);
    let current = current_from_dumps(&[bad_vip, vip], &[bad_as, good_as], &[]);
    assert_eq!(current.len(), 1);
    assert_eq!(current.values().next().unwrap().ases.len(), 1);
}
