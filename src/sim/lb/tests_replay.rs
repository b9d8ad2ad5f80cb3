//! Replays the captured sessions (tests/fixtures/vpp-api/transcripts) through
//! the model in capture order — lb-lifecycle, the packet injection described
//! in transcripts/README.md, after-traffic, errors — and checks every reply:
//! retvals, dump contents, route indexes and the `show lb vips verbose` text.

use std::collections::HashMap;
use std::net::IpAddr;

use serde_json::Value;

use super::{AsDetails, AsDumpFilter, Encap, LbState, Packet, VipAdd, VipDetails, VipKey};

const TRANSCRIPTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/vpp-api/transcripts/"
);

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{TRANSCRIPTS}{name}.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn prefix(text: &Value) -> (IpAddr, u8) {
    let (addr, len) = text.as_str().unwrap().split_once('/').unwrap();
    (addr.parse().unwrap(), len.parse().unwrap())
}

fn num(fields: &Value, name: &str) -> u64 {
    fields[name]
        .as_u64()
        .unwrap_or_else(|| panic!("{name} in {fields}"))
}

fn key_of(fields: &Value) -> VipKey {
    let (addr, len) = prefix(&fields["pfx"]);
    VipKey::new(
        addr,
        len,
        num(fields, "protocol") as u8,
        num(fields, "port") as u16,
    )
}

fn ip(fields: &Value, name: &str) -> IpAddr {
    fields[name].as_str().unwrap().parse().unwrap()
}

fn hex16(text: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

fn vip_details(fields: &Value) -> VipDetails {
    let vip = &fields["vip"];
    VipDetails {
        key: key_of(vip),
        encap: Encap::from_api(num(fields, "encap") as u32),
        dscp: num(fields, "dscp") as u8,
        srv_type: num(fields, "srv_type") as u8,
        target_port: num(fields, "target_port") as u16,
        flow_table_length: num(fields, "flow_table_length") as u16,
    }
}

fn as_details(fields: &Value) -> AsDetails {
    AsDetails {
        vip: key_of(&fields["vip"]),
        address: ip(fields, "app_srv"),
        flags: num(fields, "flags") as u8,
        in_use_since: num(fields, "in_use_since") as u32,
        weight: num(fields, "weight") as u8,
        num_buckets: num(fields, "num_buckets") as u32,
    }
}

/// Applies every request of a session to `lb` and compares with the
/// captured replies. Returns how many replies were checked.
fn replay(lb: &mut LbState, session: &Value) -> usize {
    let client_index = session["client_index"].as_u64().unwrap();
    let records = session["records"].as_array().unwrap();
    let mut replies: HashMap<u64, Vec<&Value>> = HashMap::new();
    for record in records.iter().filter(|r| r["direction"] == "<") {
        replies
            .entry(num(record, "context"))
            .or_default()
            .push(record);
    }
    let mut checked = 0;
    for record in records.iter().filter(|r| r["direction"] == ">") {
        let index = num(record, "index");
        let fields = &record["fields"];
        let got = replies
            .get(&num(record, "context"))
            .cloned()
            .unwrap_or_default();
        // sockclnt_create has no client_index field.
        let delivered = fields["client_index"]
            .as_u64()
            .map_or(true, |c| c == client_index);
        if !delivered {
            assert!(
                got.is_empty(),
                "record {index}: wrong client_index but a reply"
            );
        }
        let retval = |got: &[&Value]| got.first().map(|r| r["retval"].as_i64().unwrap() as i32);
        let message = record["message"].as_str().unwrap();
        let model_rv = match message {
            "lb_conf" => Some(lb.conf(
                ip(fields, "ip4_src_address").to_string().parse().unwrap(),
                ip(fields, "ip6_src_address").to_string().parse().unwrap(),
                num(fields, "sticky_buckets_per_core") as u32,
                num(fields, "flow_timeout") as u32,
            )),
            "lb_conf_get" => {
                let conf = lb.conf_get();
                let reply = &got[0]["fields"];
                assert_eq!(IpAddr::V4(conf.ip4_src), ip(reply, "ip4_src_address"));
                assert_eq!(IpAddr::V6(conf.ip6_src), ip(reply, "ip6_src_address"));
                assert_eq!(
                    u64::from(conf.sticky_buckets_per_core),
                    num(reply, "sticky_buckets_per_core")
                );
                assert_eq!(u64::from(conf.flow_timeout), num(reply, "flow_timeout"));
                Some(0)
            }
            "lb_add_del_vip_v2" => {
                let key = key_of(fields);
                Some(if fields["is_del"].as_bool().unwrap() {
                    lb.del_vip(&key)
                } else {
                    lb.add_vip(&VipAdd {
                        key,
                        encap: Encap::from_api(num(fields, "encap") as u32),
                        dscp: num(fields, "dscp") as u8,
                        srv_type: num(fields, "type") as u8,
                        target_port: num(fields, "target_port") as u16,
                        new_flows_table_length: num(fields, "new_flows_table_length") as u32,
                        src_ip_sticky: fields["src_ip_sticky"].as_bool().unwrap(),
                    })
                })
            }
            "lb_add_del_as_v2" => {
                let (key, address) = (key_of(fields), ip(fields, "as_address"));
                let flush = fields["is_flush"].as_bool().unwrap();
                Some(if fields["is_del"].as_bool().unwrap() {
                    lb.del_as(&key, address, flush)
                } else {
                    lb.add_as(&key, address, num(fields, "weight") as u8, flush)
                })
            }
            "lb_as_set_weight" => Some(lb.set_weight(
                &key_of(fields),
                ip(fields, "as_address"),
                num(fields, "weight") as u8,
                fields["is_flush"].as_bool().unwrap(),
            )),
            "lb_vip_dump" => {
                let dump = lb.vip_dump();
                if delivered {
                    let want: Vec<VipDetails> =
                        got.iter().map(|r| vip_details(&r["fields"])).collect();
                    assert_eq!(dump, want, "record {index}");
                    checked += want.len();
                }
                None
            }
            "lb_as_v2_dump" => {
                let raw = &record["fields_raw"];
                let filter = AsDumpFilter {
                    raw_address: hex16(raw["pfx"]["address"]["un"]["ip6"].as_str().unwrap()),
                    protocol: num(raw, "protocol") as u8,
                    port: num(raw, "port") as u16,
                };
                let want: Vec<AsDetails> = got.iter().map(|r| as_details(&r["fields"])).collect();
                assert_eq!(lb.as_v2_dump(&filter), want, "record {index}");
                checked += want.len();
                None
            }
            "cli_inband" => {
                assert_eq!(fields["cmd"], "show lb vips verbose");
                let want = got[0]["fields"]["reply"].as_str().unwrap();
                assert_eq!(lb.show_vips_verbose(), want, "record {index}");
                Some(0)
            }
            "ip_route_lookup" => {
                let (addr, len) = prefix(&fields["prefix"]);
                let reply = &got[0]["fields"];
                match lb.route_stats_index(addr, len) {
                    Some(stats_index) => {
                        assert_eq!(
                            u64::from(stats_index),
                            num(&reply["route"], "stats_index"),
                            "record {index}"
                        );
                        Some(0)
                    }
                    None => Some(-6),
                }
            }
            "control_ping" | "sockclnt_create" | "sockclnt_delete" => None,
            other => panic!("record {index}: unhandled {other}"),
        };
        if let (Some(model_rv), true) = (model_rv, delivered) {
            assert_eq!(Some(model_rv), retval(&got), "record {index} {message}");
            checked += 1;
        }
    }
    checked
}

/// The pg streams of transcripts/README.md ("Packet injection").
fn inject_captured_traffic(lb: &mut LbState) {
    let v4 = |s: &str| -> IpAddr { s.parse().unwrap() };
    let mut packets = Vec::new();
    for i in 0..12u16 {
        packets.push(Packet::tcp(
            v4("10.10.10.2"),
            1000 + i % 4,
            v4("192.0.2.80"),
            80,
        ));
    }
    for i in 0..6u16 {
        packets.push(Packet::tcp(
            v4("2001:db8:ffff::2"),
            2000 + i % 2,
            v4("2001:db8::80"),
            80,
        ));
    }
    for i in 0..5u16 {
        packets.push(Packet::tcp(
            v4("2001:db8:ffff::3"),
            3000 + i,
            v4("2001:db8::443"),
            443,
        ));
    }
    for _ in 0..3 {
        packets.push(Packet::tcp(v4("10.10.10.5"), 5000, v4("192.0.2.81"), 8080));
    }
    lb.inject_traffic(&packets);
}

#[test]
fn replays_lifecycle_traffic_and_errors() {
    let mut lb = LbState::default();
    lb.tick(0);
    let lifecycle = load("lb-lifecycle");
    assert_eq!(replay(&mut lb, &lifecycle), content_replies(&lifecycle));
    lb.tick(5);
    inject_captured_traffic(&mut lb);
    lb.tick(8);
    let after = load("after-traffic");
    assert_eq!(replay(&mut lb, &after), content_replies(&after));
    lb.tick(20);
    let errors = load("errors");
    assert_eq!(replay(&mut lb, &errors), content_replies(&errors));
}

/// Replies other than pings and the socket handshake: each must have been
/// compared with the model.
fn content_replies(session: &Value) -> usize {
    let records = session["records"].as_array().unwrap();
    records
        .iter()
        .filter(|r| r["direction"] == "<")
        .filter(|r| {
            let message = r["message"].as_str().unwrap();
            message != "control_ping_reply" && !message.starts_with("sockclnt_")
        })
        .count()
}

#[test]
fn lifecycle_show_texts_differ_only_where_state_changed() {
    // Guards the replay itself: the two captured texts must not be equal,
    // so matching both proves the model tracked the deletions.
    let session = load("lb-lifecycle");
    let text = |i: usize| {
        session["records"][i]["fields"]["reply"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_ne!(text(59), text(94));
    assert!(text(94).contains(" ip4-gre4 [4] 192.0.2.53/32 removed\n"));
}

/// The stats fixture (stats/expected.json) was captured from the same VPP
/// after the same traffic: the model's VIP and route counters, and what the
/// daemon's reader sees in a segment the simulator writes from them, must
/// equal VPP's.
#[test]
fn captured_traffic_gives_the_captured_stats_values() {
    use crate::sim::stats::writer::SegmentWriter;
    use crate::vpp::stats::{read_lb_counters, DirectoryIndex, ReadPolicy, VipQuery};

    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/vpp-api/stats/expected.json"
    ))
    .unwrap();
    let expected: Value = serde_json::from_str(&text).unwrap();
    let mut lb = LbState::default();
    lb.tick(0);
    replay(&mut lb, &load("lb-lifecycle"));
    lb.tick(5);
    inject_captured_traffic(&mut lb);

    let lb_counters = &expected["lb_counters"];
    let names = [
        "packet from existing sessions",
        "first session packet",
        "untracked packet",
        "no server configured",
    ];
    let rows: Vec<&Vec<Value>> = names
        .iter()
        .map(|n| {
            lb_counters[n]["value_per_thread_per_vip_index"][0]
                .as_array()
                .unwrap()
        })
        .collect();
    for vip_index in 0..rows[0].len() {
        let want: Vec<u64> = rows
            .iter()
            .map(|r| r[vip_index].as_u64().unwrap())
            .collect();
        let got = lb.vip_counters(vip_index).unwrap_or([0; 4]);
        assert_eq!(got.to_vec(), want, "VIP index {vip_index}");
    }

    let mut segment = SegmentWriter::new(vec![0u8; 1 << 20], 0x7f1d_7e50_d000, 1);
    segment.sync(&lb, 0);
    let routes = expected["net_route_to"]["vips"].as_object().unwrap();
    assert_eq!(routes.len(), 4);
    for (text, want) in routes {
        let (prefix, len) = text.split_once('/').unwrap();
        let prefix: IpAddr = prefix.parse().unwrap();
        let len: u8 = len.parse().unwrap();
        let stats_index = want["stats_index"].as_u64().unwrap() as u32;
        assert_eq!(
            lb.route_stats_index(prefix, len),
            Some(stats_index),
            "{text}"
        );
        let packets = want["per_thread"][0]["packets"].as_u64().unwrap();
        let bytes = want["per_thread"][0]["bytes"].as_u64().unwrap();
        assert_eq!(lb.route_counters(stats_index), (packets, bytes), "{text}");

        let key = VipKey {
            prefix,
            len,
            protocol: 6,
            port: if text.contains("443") {
                443
            } else if text == "192.0.2.81/32" {
                8080
            } else {
                80
            },
        };
        let query = VipQuery {
            lb_index: lb.vip_index(&key).unwrap() as u32,
            fib_index: Some(stats_index),
        };
        let mut index = DirectoryIndex::new();
        let read = read_lb_counters(
            segment.memory(),
            &mut index,
            ReadPolicy::default(),
            &[query],
        )
        .unwrap();
        let vip = read.vips[0];
        assert_eq!((vip.fib_packets, vip.fib_bytes), (packets, bytes), "{text}");
        let [next, first, untracked, no_server] = lb.vip_counters(query.lb_index as usize).unwrap();
        assert_eq!(
            (vip.next, vip.first, vip.untracked, vip.no_server),
            (next, first, untracked, no_server)
        );
    }
}
