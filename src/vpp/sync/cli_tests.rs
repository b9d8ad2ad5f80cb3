//! `show lb vips verbose` parsing on the captured replies and on garbage.

use std::net::IpAddr;
use std::path::PathBuf;

use super::*;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// Every `cli_inband_reply` text of a captured session, in record order.
/// The transcripts are JSON; serde_yaml reads JSON, so no extra dependency.
fn captured_replies(session: &str) -> Vec<String> {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests/fixtures/vpp-api/transcripts",
        &format!("{session}.json"),
    ]
    .iter()
    .collect();
    let text = std::fs::read_to_string(&path).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    doc["records"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|r| r["message"].as_str() == Some("cli_inband_reply"))
        .map(|r| r["fields"]["reply"].as_str().unwrap().to_string())
        .collect()
}

/// (index, type, prefix, sticky, removed)
type Header<'a> = (u32, &'a str, (IpAddr, u8), bool, bool);

fn by_index(vips: &[CliVip], index: u32) -> &CliVip {
    vips.iter().find(|v| v.index == index).unwrap()
}

#[test]
fn after_traffic_reply() {
    let replies = captured_replies("after-traffic");
    assert_eq!(replies.len(), 1);
    let vips = parse_show_lb_vips(&replies[0]);
    let headers: Vec<Header> = vips
        .iter()
        .map(|v| {
            (
                v.index,
                v.vip_type.as_str(),
                v.prefix,
                v.src_ip_sticky,
                v.removed,
            )
        })
        .collect();
    assert_eq!(
        headers,
        vec![
            (1, "ip4-gre4", (ip("192.0.2.80"), 32), false, false),
            (2, "ip6-gre4", (ip("2001:db8::80"), 128), false, false),
            (3, "ip6-gre6", (ip("2001:db8::443"), 128), true, false),
            (4, "ip4-gre4", (ip("192.0.2.53"), 32), false, true),
            (5, "ip4-gre4", (ip("192.0.2.81"), 32), false, false),
        ]
    );

    let v1 = by_index(&vips, 1);
    assert_eq!(
        (v1.protocol, v1.port, v1.new_size),
        (Some(6), Some(80), Some(1024))
    );
    assert_eq!(
        v1.counters,
        CliCounters {
            existing_sessions: 8,
            first_session: 4,
            untracked: 0,
            no_server: 0
        }
    );
    let ases: Vec<(IpAddr, u32, u32, u64, bool)> = v1
        .ases
        .iter()
        .map(|a| (a.addr, a.weight, a.buckets, a.flows, a.used))
        .collect();
    assert_eq!(
        ases,
        vec![
            (ip("198.51.100.1"), 100, 575, 3, true),
            (ip("198.51.100.2"), 75, 449, 1, true),
            (ip("198.51.100.3"), 25, 0, 0, false),
        ]
    );

    let v3 = by_index(&vips, 3);
    assert_eq!(v3.counters.first_session, 1);
    assert_eq!(v3.ases.len(), 3);
    assert_eq!(v3.ases[1].addr, ip("2001:db8:1::2"));
    assert_eq!((v3.ases[1].weight, v3.ases[1].flows), (10, 1));

    let v4 = by_index(&vips, 4);
    assert_eq!((v4.protocol, v4.port), (Some(17), Some(53)));
    assert_eq!(v4.ases.len(), 1);
    assert!(!v4.ases[0].used);

    let v5 = by_index(&vips, 5);
    assert_eq!(v5.counters.no_server, 3);
    assert!(v5.ases.is_empty());
}

#[test]
fn lifecycle_replies_before_and_after_delete() {
    let replies = captured_replies("lb-lifecycle");
    assert_eq!(replies.len(), 2);
    let before = parse_show_lb_vips(&replies[0]);
    let after = parse_show_lb_vips(&replies[1]);
    assert_eq!(before.len(), 5);
    assert_eq!(after.len(), 5);
    assert!(!by_index(&before, 4).removed);
    assert!(by_index(&before, 4).ases[0].used);
    assert_eq!(by_index(&before, 4).ases[0].buckets, 1024);
    assert!(by_index(&after, 4).removed);
    assert!(!by_index(&after, 4).ases[0].used);
    assert!(by_index(&before, 1).ases.iter().all(|a| a.used));
    assert!(!by_index(&after, 1).ases[2].used);
}

#[test]
fn sticky_flags_from_captured_reply() {
    let vips = parse_show_lb_vips(&captured_replies("after-traffic")[0]);
    let sticky = sticky_from_cli(&vips);
    let expected = vec![
        (VipKey::host(ip("192.0.2.80"), 6, 80), false),
        (VipKey::host(ip("2001:db8::80"), 6, 80), false),
        (VipKey::host(ip("2001:db8::443"), 6, 443), true),
        // 192.0.2.53 is removed and must not be listed
        (VipKey::host(ip("192.0.2.81"), 6, 8080), false),
    ];
    assert_eq!(sticky, expected);
}

#[test]
fn all_port_vip_has_no_protocol_line() {
    let text = " ip4-gre4 [7] 192.0.2.90/32\n  new_size:1024\n  counters:\n  #as:0\n\n";
    let vips = parse_show_lb_vips(text);
    assert_eq!(vips.len(), 1);
    assert_eq!((vips[0].protocol, vips[0].port), (None, None));
    assert_eq!(vips[0].key(), Some(VipKey::host(ip("192.0.2.90"), 255, 0)));
}

#[test]
fn removed_vip_and_live_twin_keep_live_flag() {
    let text = " ip4-gre4 [1] 192.0.2.80/32 src_ip_sticky removed\n  protocol:6 port:80\n\n \
                ip4-gre4 [6] 192.0.2.80/32\n  protocol:6 port:80\n\n";
    let sticky = sticky_from_cli(&parse_show_lb_vips(text));
    assert_eq!(sticky, vec![(VipKey::host(ip("192.0.2.80"), 6, 80), false)]);
}

#[test]
fn unknown_and_broken_lines_are_tolerated() {
    let text = " ip4-l3dsr [2] 192.0.2.7/32
  new_size:1024
  dscp:10
  some future line: with words
    198.51.100.9 weight:7 buckets:3 flows:0 dpo:1 used
    198.51.100.10 weight:x buckets:3 flows:0 dpo:1 used
    not-an-address weight:1
 ip4-gre4 [bad] 192.0.2.8/32
    198.51.100.11 weight:1 buckets:1 flows:1 dpo:1 used
 ip4-gre4 [3] 192.0.2.9/33
 ip6-gre6 [4] 2001:db8::9/128 src_ip_sticky
  protocol:17 port:99999
  #as:0
";
    let vips = parse_show_lb_vips(text);
    assert_eq!(vips.len(), 2, "{vips:?}");
    assert_eq!(vips[0].vip_type, "ip4-l3dsr");
    assert_eq!(vips[0].ases.len(), 1, "only the well-formed AS line");
    assert_eq!(vips[0].ases[0].weight, 7);
    assert_eq!(vips[1].index, 4);
    assert!(vips[1].src_ip_sticky);
    assert_eq!((vips[1].protocol, vips[1].port), (Some(17), None));
}

#[test]
fn garbage_never_panics() {
    // Deterministic pseudo-random texts built from fragments of the format.
    let fragments = [
        " ",
        "  ",
        "    ",
        "\n",
        "[",
        "]",
        "[1]",
        "/",
        "/32",
        "/200",
        ":",
        ": ",
        "ip4-gre4",
        "198.51.100.1",
        "2001:db8::1",
        "weight:",
        "weight:5",
        "buckets:18446744073709551616",
        "flows:-1",
        "used",
        "removed",
        "src_ip_sticky",
        "protocol:",
        "port:",
        "new_size:",
        "#as:",
        "\u{e9}",
        "\t",
        "\r\n",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..2000 {
        let mut text = String::new();
        for _ in 0..40 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            text.push_str(fragments[(seed % fragments.len() as u64) as usize]);
        }
        let _ = sticky_from_cli(&parse_show_lb_vips(&text));
    }
    assert!(parse_show_lb_vips("").is_empty());
    assert!(parse_show_lb_vips("\0\0\n\n  \n").is_empty());
}
