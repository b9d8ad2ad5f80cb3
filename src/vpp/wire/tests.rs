//! Codec unit tests across message families: round trips, `buffer_len`
//! agreement, the WIRE.md example, and truncation at every prefix length.
//! Byte-exactness against real VPP is tested in tests/vpp_wire_transcripts.rs.

use std::net::IpAddr;

use super::ip::{FibPath, IpRoute, IpRouteLookup, IpRouteLookupReply, FIB_PATH_LEN};
use super::lb::*;
use super::memclnt::*;
use super::vlib::{CliInband, CliInbandReply};
use super::vpe::{ShowVersion, ShowVersionReply};
use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn pfx(s: &str, len: u8) -> Prefix {
    Prefix::new(ip(s), len)
}

/// Emits `msg`, checks `buffer_len`, parses it back, and checks that every
/// strict prefix of the body (and one extra trailing byte) is rejected.
fn round_trip<M: Message + PartialEq + std::fmt::Debug>(msg: &M, msg_id: u16) -> Vec<u8> {
    let mut body = Vec::new();
    msg.emit(msg_id, &mut body);
    assert_eq!(body.len(), msg.buffer_len(), "{} buffer_len", M::NAME);
    assert_eq!(frame::body_msg_id(&body).unwrap(), msg_id);
    assert_eq!(&M::parse(&body).unwrap(), msg, "{} round trip", M::NAME);
    for cut in 0..body.len() {
        let err = M::parse(&body[..cut]).unwrap_err();
        assert!(
            matches!(err, WireError::Truncated { message, .. } if message == M::NAME),
            "{} cut at {cut}: {err:?}",
            M::NAME
        );
    }
    let mut longer = body.clone();
    longer.push(0);
    assert!(matches!(
        M::parse(&longer),
        Err(WireError::TrailingBytes { .. })
    ));
    body
}

#[test]
fn wire_md_vip_example_is_byte_exact() {
    // WIRE.md §2, lb-lifecycle record 10.
    let want: Vec<u8> = [
        &[0x00, 0x5f, 0x80, 0x00, 0x00, 0x01, 0x00, 0x00, 0x20, 0x06][..],
        &[
            0x01, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x04, 0x43, 0x80,
        ],
        &[0x06, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0],
        &[0, 0, 0, 0, 0, 0, 0x04, 0, 1, 0],
    ]
    .concat();
    let msg = LbAddDelVipV2 {
        client_index: 0x8000_0001,
        context: 0x2006,
        pfx: pfx("2001:db8::443", 128),
        protocol: 6,
        port: 443,
        encap: LbEncapType::Gre6,
        dscp: 0,
        srv_type: LbSrvType::ClusterIp,
        target_port: 0,
        node_port: 0,
        new_flows_table_length: 1024,
        src_ip_sticky: true,
        is_del: false,
    };
    assert_eq!(round_trip(&msg, 95), want);
    // encap sits at body offset 31.
    assert_eq!(want[31..35], [0, 0, 0, 1]);
}

#[test]
fn memclnt_round_trips() {
    round_trip(
        &SockclntCreate {
            context: 0x1001,
            name: "vpp-maglev".into(),
        },
        SOCKCLNT_CREATE_ID,
    );
    let reply = SockclntCreateReply {
        client_index: 0,
        context: 0x1001,
        response: 0,
        index: 0x8000_0001,
        message_table: vec![
            MessageTableEntry {
                index: 101,
                name: "lb_as_set_weight_2d89bdbd".into(),
            },
            MessageTableEntry {
                index: 23,
                name: "control_ping_51077d14".into(),
            },
        ],
    };
    assert_eq!(
        round_trip(&reply, SOCKCLNT_CREATE_REPLY_ID).len(),
        20 + 2 * 66
    );
    round_trip(
        &SockclntDelete {
            client_index: 0x8000_0001,
            context: 4,
            index: 0x8000_0001,
        },
        17,
    );
    round_trip(
        &SockclntDeleteReply {
            context: 4,
            response: 1,
        },
        18,
    );
    round_trip(
        &ControlPing {
            client_index: 1,
            context: 2,
        },
        23,
    );
    round_trip(
        &ControlPingReply {
            context: 2,
            retval: 0,
            client_index: 1,
            vpe_pid: 21150,
        },
        24,
    );
}

#[test]
fn message_table_count_beyond_body_is_truncated_not_allocated() {
    let mut body = vec![0, 16];
    body.extend_from_slice(&[0; 16]);
    body.extend_from_slice(&u16::MAX.to_be_bytes());
    let err = SockclntCreateReply::parse(&body).unwrap_err();
    assert_eq!(
        err,
        WireError::Truncated {
            message: "sockclnt_create_reply",
            field: "message_table",
            offset: 20,
            needed: 65_535 * 66,
            available: 0,
        }
    );
}

#[test]
fn vpe_and_vlib_round_trips() {
    round_trip(
        &ShowVersion {
            client_index: 1,
            context: 3,
        },
        848,
    );
    let body = round_trip(
        &ShowVersionReply {
            context: 3,
            retval: 0,
            program: "vpe".into(),
            version: "26.10-rc0~374-gb575ec2c56d".into(),
            build_date: "2026-11-22T01:41:59".into(),
            build_directory: String::new(),
        },
        849,
    );
    assert_eq!(body.len(), 362);
    let cmd = round_trip(
        &CliInband {
            client_index: 1,
            context: 5,
            cmd: "show lb vips verbose".into(),
        },
        119,
    );
    assert_eq!(cmd[10..14], [0, 0, 0, 20]);
    round_trip(
        &CliInbandReply {
            context: 5,
            retval: 0,
            reply: " ip4-gre4 [1] 192.0.2.80/32\n".into(),
        },
        121,
    );
}

#[test]
fn lb_round_trips() {
    round_trip(
        &LbConf {
            client_index: 1,
            context: 2,
            ip4_src_address: "192.0.2.254".parse().unwrap(),
            ip6_src_address: "2001:db8::fe".parse().unwrap(),
            sticky_buckets_per_core: 65536,
            flow_timeout: 40,
        },
        89,
    );
    round_trip(
        &LbConfGet {
            client_index: 1,
            context: 3,
        },
        91,
    );
    round_trip(
        &LbConfGetReply {
            context: 3,
            retval: 0,
            ip4_src_address: "192.0.2.254".parse().unwrap(),
            ip6_src_address: "2001:db8::fe".parse().unwrap(),
            sticky_buckets_per_core: 65536,
            flow_timeout: 40,
        },
        92,
    );
    let add_as = LbAddDelAsV2 {
        client_index: 1,
        context: 4,
        pfx: pfx("192.0.2.80", 32),
        protocol: 6,
        port: 80,
        as_address: ip("198.51.100.1"),
        weight: 100,
        is_del: false,
        is_flush: false,
    };
    assert_eq!(round_trip(&add_as, 99).len(), 51);
    let set_weight = LbAsSetWeight {
        client_index: 1,
        context: 5,
        pfx: pfx("2001:db8::443", 128),
        protocol: 6,
        port: 443,
        as_address: ip("2001:db8:1::2"),
        weight: 10,
        is_flush: true,
    };
    assert_eq!(round_trip(&set_weight, 101).len(), 50);
    assert_eq!(round_trip(&LbVipDump::all(1, 6), 105).len(), 33);
    assert_eq!(round_trip(&LbAsV2Dump::all(1, 7), 109).len(), 31);
    let vip = LbVip {
        pfx: pfx("192.0.2.80", 32),
        protocol: 6,
        port: 80,
    };
    let details = LbVipDetails {
        context: 6,
        vip,
        encap: LbEncapType::Gre4,
        dscp: 0,
        srv_type: LbSrvType::ClusterIp,
        target_port: 0,
        flow_table_length: 1024,
    };
    assert_eq!(round_trip(&details, 106).len(), 40);
    let as_details = LbAsV2Details {
        context: 7,
        vip,
        app_srv: ip("198.51.100.3"),
        flags: 0,
        in_use_since: 44,
        weight: 25,
        num_buckets: 0,
    };
    assert_eq!(round_trip(&as_details, 110).len(), 54);
    assert!(!as_details.is_used());
}

#[test]
fn unknown_encap_is_an_invalid_value() {
    let mut body = Vec::new();
    LbVipDetails {
        context: 1,
        vip: LbVip {
            pfx: Prefix::ZERO_V4,
            protocol: 255,
            port: 0,
        },
        encap: LbEncapType::Nat6,
        dscp: 0,
        srv_type: LbSrvType::NodePort,
        target_port: 0,
        flow_table_length: 0,
    }
    .emit(106, &mut body);
    body[27..31].copy_from_slice(&9u32.to_be_bytes());
    assert_eq!(
        LbVipDetails::parse(&body).unwrap_err(),
        WireError::InvalidValue {
            message: "lb_vip_details",
            field: "encap",
            offset: 27,
            value: 9,
        }
    );
}

#[test]
fn ip_round_trips() {
    round_trip(
        &IpRouteLookup {
            client_index: 1,
            context: 8,
            table_id: 0,
            exact: 1,
            prefix: pfx("192.0.2.80", 32),
        },
        402,
    );
    let mut raw = [0u8; FIB_PATH_LEN];
    raw[..4].copy_from_slice(&u32::MAX.to_be_bytes());
    raw[12] = 1;
    let path = FibPath(raw);
    assert_eq!(path.sw_if_index(), u32::MAX);
    assert_eq!(path.weight(), 1);
    let reply = IpRouteLookupReply {
        context: 8,
        retval: 0,
        route: IpRoute {
            table_id: 0,
            stats_index: 8,
            prefix: pfx("192.0.2.80", 32),
            paths: vec![path.clone(), path],
        },
    };
    assert_eq!(round_trip(&reply, 404).len(), 37 + 2 * 167);
    let empty = IpRouteLookupReply {
        context: 9,
        retval: -6,
        route: IpRoute {
            table_id: 0,
            stats_index: 0,
            prefix: Prefix::ZERO_V4,
            paths: vec![],
        },
    };
    assert_eq!(round_trip(&empty, 404).len(), 37);
}

#[test]
fn retval_reply_every_prefix_fails() {
    let mut body = Vec::new();
    RetvalReply {
        context: 0x3003,
        retval: -81,
    }
    .emit(96, &mut body);
    assert_eq!(body, [0, 96, 0, 0, 0x30, 0x03, 0xff, 0xff, 0xff, 0xaf]);
    assert_eq!(
        RetvalReply::parse_as("lb_add_del_vip_v2_reply", &body).unwrap(),
        RetvalReply {
            context: 0x3003,
            retval: -81
        }
    );
    for cut in 0..body.len() {
        let err = RetvalReply::parse_as("lb_conf_reply", &body[..cut]).unwrap_err();
        assert!(matches!(
            err,
            WireError::Truncated {
                message: "lb_conf_reply",
                ..
            }
        ));
    }
}

#[test]
fn emit_frame_prefixes_the_header() {
    let mut out = Vec::new();
    ControlPing {
        client_index: 0x8000_0001,
        context: 0x1002,
    }
    .emit_frame(23, &mut out);
    assert_eq!(out.len(), HEADER_LEN + 10);
    assert_eq!(out[8..12], [0, 0, 0, 10]);
    assert_eq!(out[16..18], [0, 23]);
}
