//! Expected values for the transcript test: builds each message's `Repr`
//! from the vpp_papi-decoded sidecar JSON and checks a captured body against
//! it in both directions (parse and emit).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::Value;
use vpp_maglev::vpp::wire::ip::{
    FibPath, IpRoute, IpRouteLookup, IpRouteLookupReply, FIB_PATH_LEN,
};
use vpp_maglev::vpp::wire::lb::*;
use vpp_maglev::vpp::wire::memclnt::*;
use vpp_maglev::vpp::wire::table::names;
use vpp_maglev::vpp::wire::vlib::{CliInband, CliInbandReply};
use vpp_maglev::vpp::wire::vpe::{ShowVersion, ShowVersionReply};
use vpp_maglev::vpp::wire::{Message, Prefix, RetvalReply};

// --- JSON field accessors (panicking is fine in tests) ---

pub fn num(v: &Value, key: &str) -> u64 {
    v.get(key)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("field {key} in {v}"))
}
fn u32f(v: &Value, key: &str) -> u32 {
    u32::try_from(num(v, key)).unwrap()
}
fn u16f(v: &Value, key: &str) -> u16 {
    u16::try_from(num(v, key)).unwrap()
}
fn u8f(v: &Value, key: &str) -> u8 {
    u8::try_from(num(v, key)).unwrap()
}
fn i32f(v: &Value, key: &str) -> i32 {
    let n = v
        .get(key)
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("field {key}"));
    i32::try_from(n).unwrap()
}
fn boolf(v: &Value, key: &str) -> bool {
    v.get(key)
        .and_then(Value::as_bool)
        .unwrap_or_else(|| panic!("field {key}"))
}
fn strf(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("field {key}"))
        .to_owned()
}
fn addrf(v: &Value, key: &str) -> IpAddr {
    strf(v, key).parse().unwrap()
}
fn prefixf(v: &Value, key: &str) -> Prefix {
    let s = strf(v, key);
    let (addr, len) = s.split_once('/').unwrap();
    Prefix::new(addr.parse().unwrap(), len.parse().unwrap())
}
fn vipf(v: &Value) -> LbVip {
    LbVip {
        pfx: prefixf(v, "pfx"),
        protocol: u8f(v, "protocol"),
        port: u16f(v, "port"),
    }
}
fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Encodes one `vl_api_fib_path_t` from vpp_papi's raw view, field by field
/// per fib_types.api.json — an independent check of the 167-byte layout.
fn fib_path_from_json(p: &Value) -> FibPath {
    let mut b = Vec::with_capacity(FIB_PATH_LEN);
    for key in ["sw_if_index", "table_id", "rpf_id"] {
        b.extend_from_slice(&u32f(p, key).to_be_bytes());
    }
    b.push(u8f(p, "weight"));
    b.push(u8f(p, "preference"));
    for key in ["type", "flags", "proto"] {
        b.extend_from_slice(&u32f(p, key).to_be_bytes());
    }
    let nh = &p["nh"];
    b.extend_from_slice(&hex(nh["address"]["ip6"].as_str().unwrap()));
    for key in ["via_label", "obj_id", "classify_table_index"] {
        b.extend_from_slice(&u32f(nh, key).to_be_bytes());
    }
    b.push(u8f(p, "n_labels"));
    let labels = p["label_stack"].as_array().unwrap();
    assert_eq!(labels.len(), 16);
    for l in labels {
        b.push(u8f(l, "is_uniform"));
        b.extend_from_slice(&u32f(l, "label").to_be_bytes());
        b.push(u8f(l, "ttl"));
        b.push(u8f(l, "exp"));
    }
    FibPath(b.try_into().unwrap())
}

/// Parse must give `expected`; emitting `expected` must give `body`.
fn check<M: Message + PartialEq + std::fmt::Debug>(
    body: &[u8],
    msg_id: u16,
    expected: M,
    at: &str,
) {
    let parsed = M::parse(body).unwrap_or_else(|e| panic!("{at}: {e}"));
    assert_eq!(parsed, expected, "{at}: decoded fields");
    let mut out = Vec::new();
    expected.emit(msg_id, &mut out);
    assert_eq!(out.len(), expected.buffer_len(), "{at}: buffer_len");
    assert_eq!(out, body, "{at}: re-encoded bytes");
}

fn check_retval(body: &[u8], msg_id: u16, f: &Value, name: &'static str, at: &str) {
    let expected = RetvalReply {
        context: u32f(f, "context"),
        retval: i32f(f, "retval"),
    };
    assert_eq!(RetvalReply::parse_as(name, body).unwrap(), expected, "{at}");
    let mut out = Vec::new();
    expected.emit(msg_id, &mut out);
    assert_eq!(out, body, "{at}: re-encoded bytes");
}

/// Checks one record against its sidecar `fields`; returns false if the
/// message is not one this codec supports.
pub fn check_record(key: &str, body: &[u8], id: u16, record: &Value, at: &str) -> bool {
    let f = &record["fields"];
    let ci = |f: &Value| u32f(f, "client_index");
    let cx = |f: &Value| u32f(f, "context");
    match key {
        names::SOCKCLNT_CREATE => check(
            body,
            id,
            SockclntCreate {
                context: cx(f),
                name: strf(f, "name"),
            },
            at,
        ),
        names::SOCKCLNT_CREATE_REPLY => {
            let table = f["message_table"].as_array().unwrap();
            assert_eq!(table.len(), usize::from(u16f(f, "count")));
            let message_table = table
                .iter()
                .map(|e| MessageTableEntry {
                    index: u16f(e, "index"),
                    name: strf(e, "name"),
                })
                .collect();
            let expected = SockclntCreateReply {
                client_index: ci(f),
                context: cx(f),
                response: i32f(f, "response"),
                index: u32f(f, "index"),
                message_table,
            };
            check(body, id, expected, at)
        }
        names::SOCKCLNT_DELETE => check(
            body,
            id,
            SockclntDelete {
                client_index: ci(f),
                context: cx(f),
                index: u32f(f, "index"),
            },
            at,
        ),
        names::SOCKCLNT_DELETE_REPLY => check(
            body,
            id,
            SockclntDeleteReply {
                context: cx(f),
                response: i32f(f, "response"),
            },
            at,
        ),
        names::CONTROL_PING => check(
            body,
            id,
            ControlPing {
                client_index: ci(f),
                context: cx(f),
            },
            at,
        ),
        names::CONTROL_PING_REPLY => {
            let expected = ControlPingReply {
                context: cx(f),
                retval: i32f(f, "retval"),
                client_index: ci(f),
                vpe_pid: u32f(f, "vpe_pid"),
            };
            check(body, id, expected, at)
        }
        names::SHOW_VERSION => check(
            body,
            id,
            ShowVersion {
                client_index: ci(f),
                context: cx(f),
            },
            at,
        ),
        names::SHOW_VERSION_REPLY => {
            let expected = ShowVersionReply {
                context: cx(f),
                retval: i32f(f, "retval"),
                program: strf(f, "program"),
                version: strf(f, "version"),
                build_date: strf(f, "build_date"),
                build_directory: strf(f, "build_directory"),
            };
            check(body, id, expected, at)
        }
        names::CLI_INBAND => check(
            body,
            id,
            CliInband {
                client_index: ci(f),
                context: cx(f),
                cmd: strf(f, "cmd"),
            },
            at,
        ),
        names::CLI_INBAND_REPLY => {
            let expected = CliInbandReply {
                context: cx(f),
                retval: i32f(f, "retval"),
                reply: strf(f, "reply"),
            };
            check(body, id, expected, at)
        }
        names::LB_CONF => {
            let expected = LbConf {
                client_index: ci(f),
                context: cx(f),
                ip4_src_address: strf(f, "ip4_src_address").parse::<Ipv4Addr>().unwrap(),
                ip6_src_address: strf(f, "ip6_src_address").parse::<Ipv6Addr>().unwrap(),
                sticky_buckets_per_core: u32f(f, "sticky_buckets_per_core"),
                flow_timeout: u32f(f, "flow_timeout"),
            };
            check(body, id, expected, at)
        }
        names::LB_CONF_GET => check(
            body,
            id,
            LbConfGet {
                client_index: ci(f),
                context: cx(f),
            },
            at,
        ),
        names::LB_CONF_GET_REPLY => {
            let expected = LbConfGetReply {
                context: cx(f),
                retval: i32f(f, "retval"),
                ip4_src_address: strf(f, "ip4_src_address").parse::<Ipv4Addr>().unwrap(),
                ip6_src_address: strf(f, "ip6_src_address").parse::<Ipv6Addr>().unwrap(),
                sticky_buckets_per_core: u32f(f, "sticky_buckets_per_core"),
                flow_timeout: u32f(f, "flow_timeout"),
            };
            check(body, id, expected, at)
        }
        names::LB_ADD_DEL_VIP_V2 => {
            let expected = LbAddDelVipV2 {
                client_index: ci(f),
                context: cx(f),
                pfx: prefixf(f, "pfx"),
                protocol: u8f(f, "protocol"),
                port: u16f(f, "port"),
                encap: LbEncapType::from_u32(u32f(f, "encap")).unwrap(),
                dscp: u8f(f, "dscp"),
                srv_type: LbSrvType::from_u32(u32f(f, "type")).unwrap(),
                target_port: u16f(f, "target_port"),
                node_port: u16f(f, "node_port"),
                new_flows_table_length: u32f(f, "new_flows_table_length"),
                src_ip_sticky: boolf(f, "src_ip_sticky"),
                is_del: boolf(f, "is_del"),
            };
            check(body, id, expected, at)
        }
        names::LB_ADD_DEL_AS_V2 => {
            let expected = LbAddDelAsV2 {
                client_index: ci(f),
                context: cx(f),
                pfx: prefixf(f, "pfx"),
                protocol: u8f(f, "protocol"),
                port: u16f(f, "port"),
                as_address: addrf(f, "as_address"),
                weight: u8f(f, "weight"),
                is_del: boolf(f, "is_del"),
                is_flush: boolf(f, "is_flush"),
            };
            check(body, id, expected, at)
        }
        names::LB_AS_SET_WEIGHT => {
            let expected = LbAsSetWeight {
                client_index: ci(f),
                context: cx(f),
                pfx: prefixf(f, "pfx"),
                protocol: u8f(f, "protocol"),
                port: u16f(f, "port"),
                as_address: addrf(f, "as_address"),
                weight: u8f(f, "weight"),
                is_flush: boolf(f, "is_flush"),
            };
            check(body, id, expected, at)
        }
        names::LB_VIP_DUMP => {
            let m = &f["pfx_matcher"];
            let expected = LbVipDump {
                client_index: ci(f),
                context: cx(f),
                pfx: prefixf(f, "pfx"),
                pfx_matcher: PrefixMatcher {
                    le: u8f(m, "le"),
                    ge: u8f(m, "ge"),
                },
                protocol: u8f(f, "protocol"),
                port: u16f(f, "port"),
            };
            check(body, id, expected, at)
        }
        names::LB_VIP_DETAILS => {
            let expected = LbVipDetails {
                context: cx(f),
                vip: vipf(&f["vip"]),
                encap: LbEncapType::from_u32(u32f(f, "encap")).unwrap(),
                dscp: u8f(f, "dscp"),
                srv_type: LbSrvType::from_u32(u32f(f, "srv_type")).unwrap(),
                target_port: u16f(f, "target_port"),
                flow_table_length: u16f(f, "flow_table_length"),
            };
            check(body, id, expected, at)
        }
        names::LB_AS_V2_DUMP => {
            let expected = LbAsV2Dump {
                client_index: ci(f),
                context: cx(f),
                pfx: prefixf(f, "pfx"),
                protocol: u8f(f, "protocol"),
                port: u16f(f, "port"),
            };
            check(body, id, expected, at)
        }
        names::LB_AS_V2_DETAILS => {
            let expected = LbAsV2Details {
                context: cx(f),
                vip: vipf(&f["vip"]),
                app_srv: addrf(f, "app_srv"),
                flags: u8f(f, "flags"),
                in_use_since: u32f(f, "in_use_since"),
                weight: u8f(f, "weight"),
                num_buckets: u32f(f, "num_buckets"),
            };
            check(body, id, expected, at)
        }
        names::IP_ROUTE_LOOKUP => {
            let expected = IpRouteLookup {
                client_index: ci(f),
                context: cx(f),
                table_id: u32f(f, "table_id"),
                exact: u8f(f, "exact"),
                prefix: prefixf(f, "prefix"),
            };
            check(body, id, expected, at)
        }
        names::IP_ROUTE_LOOKUP_REPLY => {
            let route = &f["route"];
            // The next-hop union only has a byte view in `fields_raw`.
            let raw_paths = &record["fields_raw"]["route"]["paths"];
            let paths: Vec<FibPath> = raw_paths
                .as_array()
                .unwrap()
                .iter()
                .map(fib_path_from_json)
                .collect();
            assert_eq!(paths.len(), usize::from(u8f(route, "n_paths")));
            let expected = IpRouteLookupReply {
                context: cx(f),
                retval: i32f(f, "retval"),
                route: IpRoute {
                    table_id: u32f(route, "table_id"),
                    stats_index: u32f(route, "stats_index"),
                    prefix: prefixf(route, "prefix"),
                    paths,
                },
            };
            check(body, id, expected, at)
        }
        names::LB_CONF_REPLY => check_retval(body, id, f, "lb_conf_reply", at),
        names::LB_ADD_DEL_VIP_V2_REPLY => check_retval(body, id, f, "lb_add_del_vip_v2_reply", at),
        names::LB_ADD_DEL_AS_V2_REPLY => check_retval(body, id, f, "lb_add_del_as_v2_reply", at),
        names::LB_AS_SET_WEIGHT_REPLY => check_retval(body, id, f, "lb_as_set_weight_reply", at),
        _ => return false,
    }
    true
}
