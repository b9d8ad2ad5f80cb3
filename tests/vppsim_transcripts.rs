//! The simulator against the captured VPP sessions, over a real Unix socket.
//!
//! The four sessions are replayed in capture order (handshake, lb-lifecycle,
//! the packet-generator streams of transcripts/README.md, after-traffic,
//! errors) against one simulator: every client→VPP frame is sent as
//! captured, with the client index the simulator assigned (records that
//! deliberately used 0 keep 0), and every VPP→client frame is read from the
//! socket and compared with the captured one: byte for byte, except the
//! header's `q` junk, `vpe_pid` and show_version's build strings. Nothing
//! else may arrive (no reply to client_index 0), and after
//! `sockclnt_delete_reply` the socket must be closed.

mod vppsim_client;

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde_json::Value;
use vpp_maglev::sim::lb::Packet;
use vpp_maglev::sim::server::{SimOptions, Simulator};
use vpp_maglev::vpp::wire::frame::HEADER_LEN;
use vpp_maglev::vpp::wire::ip::IpRouteLookupReply;
use vpp_maglev::vpp::wire::lb::{LbAsV2Details, LbConfGetReply, LbVipDetails};
use vpp_maglev::vpp::wire::memclnt::{ControlPingReply, SockclntCreateReply};
use vpp_maglev::vpp::wire::vlib::CliInbandReply;
use vpp_maglev::vpp::wire::vpe::ShowVersionReply;
use vpp_maglev::vpp::wire::{Message, MessageTable, RetvalReply};
use vppsim_client::{Client, RecvError};

fn transcripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vpp-api/transcripts")
}

struct Captured {
    direction: u8,
    frame: Vec<u8>,
    meta: Value,
}

fn load(session: &str) -> (Vec<Captured>, Value) {
    let bytes = fs::read(transcripts().join(format!("{session}.bin"))).unwrap();
    let sidecar: Value = serde_json::from_str(
        &fs::read_to_string(transcripts().join(format!("{session}.json"))).unwrap(),
    )
    .unwrap();
    let mut records = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < bytes.len() {
        let n = u32::from_be_bytes(bytes[at + 1..at + 5].try_into().unwrap()) as usize;
        records.push(Captured {
            direction: bytes[at],
            frame: bytes[at + 5..at + 5 + n].to_vec(),
            meta: sidecar["records"][i].clone(),
        });
        at += 5 + n;
        i += 1;
    }
    (records, sidecar)
}

/// Replays one session; returns how many replies were compared.
fn replay(path: &Path, session: &str) -> usize {
    let (records, sidecar) = load(session);
    let captured_index = sidecar["client_index"].as_u64().unwrap() as u32;
    let captured_table = {
        let body = &records[1].frame[HEADER_LEN..];
        MessageTable::from_reply(&SockclntCreateReply::parse(body).unwrap())
    };
    let mut client = Client::connect(path);
    let mut compared = 0;
    for (i, record) in records.iter().enumerate() {
        let at = format!("{session} record {i} ({})", record.meta["message"]);
        let body = &record.frame[HEADER_LEN..];
        if record.direction == b'>' {
            let mut body = body.to_vec();
            if i > 0 {
                // client_index at offset 2 (sockclnt_create, record 0, has
                // none); records sent with 0 on purpose keep it.
                let sent = u32::from_be_bytes(body[2..6].try_into().unwrap());
                if sent == captured_index {
                    body[2..6].copy_from_slice(&client.index.to_be_bytes());
                }
                if record.meta["message"] == "sockclnt_delete" {
                    body[10..14].copy_from_slice(&client.index.to_be_bytes());
                }
            }
            client.send_body(&body);
            continue;
        }
        let got = client
            .recv()
            .unwrap_or_else(|e| panic!("{at}: no reply: {e:?}"));
        if i == 1 {
            let reply = SockclntCreateReply::parse(&got.body).unwrap();
            client.index = reply.index;
            client.table = MessageTable::from_reply(&reply);
        }
        let want_name = captured_table.name(u16::from_be_bytes([body[0], body[1]]));
        assert_eq!(client.table.name(got.msg_id()), want_name, "{at}: message");
        compare(&at, want_name.unwrap(), &got.body, body);
        compared += 1;
    }
    assert_eq!(client.recv().err(), Some(RecvError::Eof), "{session}: EOF");
    compared
}

/// Byte equality outside the build-specific fields; on a difference, the
/// decoded messages are compared for a readable failure.
fn compare(at: &str, name_crc: &str, got: &[u8], want: &[u8]) {
    let name = name_crc.rsplit_once('_').unwrap().0;
    match name {
        "control_ping_reply" => {
            let mut g = ControlPingReply::parse(got).unwrap();
            let w = ControlPingReply::parse(want).unwrap();
            assert_eq!(g.vpe_pid, std::process::id(), "{at}: vpe_pid is our pid");
            g.vpe_pid = w.vpe_pid;
            assert_eq!(g, w, "{at}");
        }
        "show_version_reply" => {
            let g = ShowVersionReply::parse(got).unwrap();
            let w = ShowVersionReply::parse(want).unwrap();
            assert_eq!(
                (g.context, g.retval, &g.program),
                (w.context, w.retval, &w.program)
            );
            assert_eq!(g.version, "26.10-vppsim", "{at}");
            assert!(!g.build_date.is_empty(), "{at}");
        }
        _ if got == want => {}
        _ => {
            let diff = match name {
                "sockclnt_create_reply" => decoded::<SockclntCreateReply>(got, want),
                "cli_inband_reply" => decoded::<CliInbandReply>(got, want),
                "lb_conf_get_reply" => decoded::<LbConfGetReply>(got, want),
                "lb_vip_details" => decoded::<LbVipDetails>(got, want),
                "lb_as_v2_details" => decoded::<LbAsV2Details>(got, want),
                "ip_route_lookup_reply" => decoded::<IpRouteLookupReply>(got, want),
                _ => format!(
                    "{:?}\n{:?}",
                    RetvalReply::parse_as("reply", got),
                    RetvalReply::parse_as("reply", want)
                ),
            };
            panic!("{at}: body differs\n{diff}");
        }
    }
}

fn decoded<M: Message + std::fmt::Debug>(got: &[u8], want: &[u8]) -> String {
    format!(
        "got:  {:?}\nwant: {:?}",
        M::parse(got).map(|m| format!("{m:?}")),
        M::parse(want).map(|m| format!("{m:?}"))
    )
}

/// The pg streams of transcripts/README.md ("Packet injection").
fn captured_traffic() -> Vec<Packet> {
    let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
    let mut packets = Vec::new();
    for i in 0..12u16 {
        packets.push(Packet::tcp(
            ip("10.10.10.2"),
            1000 + i % 4,
            ip("192.0.2.80"),
            80,
        ));
    }
    for i in 0..6u16 {
        packets.push(Packet::tcp(
            ip("2001:db8:ffff::2"),
            2000 + i % 2,
            ip("2001:db8::80"),
            80,
        ));
    }
    for i in 0..5u16 {
        packets.push(Packet::tcp(
            ip("2001:db8:ffff::3"),
            3000 + i,
            ip("2001:db8::443"),
            443,
        ));
    }
    for _ in 0..3 {
        packets.push(Packet::tcp(ip("10.10.10.5"), 5000, ip("192.0.2.81"), 8080));
    }
    packets
}

/// Every VPP→client frame of a session.
fn replies_in(session: &str) -> usize {
    load(session)
        .0
        .iter()
        .filter(|r| r.direction == b'<')
        .count()
}

#[test]
fn replays_all_captured_sessions_byte_for_byte() {
    let sim = Simulator::start(SimOptions::temp()).unwrap();
    let path = sim.socket_path().to_owned();
    // The captured VPP was up for less than a second; pinning uptime makes
    // `in_use_since` (0 in the captures) independent of test speed.
    sim.pin_uptime(Some(0));
    assert_eq!(replay(&path, "handshake"), replies_in("handshake"));
    assert_eq!(replay(&path, "lb-lifecycle"), replies_in("lb-lifecycle"));
    sim.pin_uptime(Some(5));
    sim.with_lb(|lb| lb.inject_traffic(&captured_traffic()));
    sim.pin_uptime(Some(8));
    assert_eq!(replay(&path, "after-traffic"), replies_in("after-traffic"));
    sim.pin_uptime(Some(20));
    assert_eq!(replay(&path, "errors"), replies_in("errors"));

    // The recorder saw every request of the four sessions, in order.
    let names: Vec<String> = sim.records().into_iter().map(|r| r.name).collect();
    let want: Vec<String> = ["handshake", "lb-lifecycle", "after-traffic", "errors"]
        .iter()
        .flat_map(|s| load(s).0)
        .filter(|r| r.direction == b'>')
        .map(|r| r.meta["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, want);
}

#[test]
fn handshake_reply_is_the_captured_frame() {
    let sim = Simulator::start(SimOptions::temp()).unwrap();
    let (records, _) = load("handshake");
    let mut client = Client::connect(sim.socket_path());
    client.send_body(&records[0].frame[HEADER_LEN..]);
    let got = client.recv().unwrap();
    assert_eq!(got.q, [0; 8], "sockclnt_create_reply has q = 0");
    assert_eq!(got.body, records[1].frame[HEADER_LEN..]);
    assert_eq!(got.body.len(), 57_638);
}
