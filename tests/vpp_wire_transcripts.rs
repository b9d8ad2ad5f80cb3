//! Byte-exactness of `vpp::wire` against the four captured VPP sessions in
//! tests/fixtures/vpp-api/transcripts.
//!
//! For every record: the ids are resolved through that session's own
//! `sockclnt_create_reply`; the expected `Repr` is built from the sidecar's
//! `fields` (decoded independently by vpp_papi); the captured body must parse
//! to exactly that value, and emitting that value must give exactly the
//! captured bytes. Every record must be one of the supported messages, and
//! the per-message counts are asserted.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use vpp_maglev::vpp::wire::frame::{FrameReader, HEADER_LEN};
use vpp_maglev::vpp::wire::ip::IpRouteLookupReply;
use vpp_maglev::vpp::wire::lb::{
    LbAddDelAsV2, LbAddDelVipV2, LbAsSetWeight, LbAsV2Details, LbVipDetails,
};
use vpp_maglev::vpp::wire::memclnt::{
    SockclntCreateReply, SOCKCLNT_CREATE_ID, SOCKCLNT_CREATE_REPLY_ID,
};
use vpp_maglev::vpp::wire::table::{message_name, resolve, REQUIRED_MESSAGES};
use vpp_maglev::vpp::wire::vlib::CliInbandReply;
use vpp_maglev::vpp::wire::{Message, MessageTable};

mod wire_expect;
use wire_expect::{check_record, num};

const SESSIONS: [&str; 4] = ["handshake", "lb-lifecycle", "after-traffic", "errors"];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vpp-api")
}

struct Record {
    direction: u8,
    frame: Vec<u8>,
}

fn read_records(path: &Path) -> Vec<Record> {
    let bytes = fs::read(path).unwrap();
    let mut records = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let direction = bytes[at];
        let n = u32::from_be_bytes(bytes[at + 1..at + 5].try_into().unwrap()) as usize;
        records.push(Record {
            direction,
            frame: bytes[at + 5..at + 5 + n].to_vec(),
        });
        at += 5 + n;
    }
    assert_eq!(at, bytes.len(), "{} ends inside a record", path.display());
    records
}

#[test]
fn every_record_of_every_session_decodes_and_re_encodes_exactly() {
    let mut decoded: BTreeMap<String, usize> = BTreeMap::new();
    let mut requests_re_encoded = 0;
    let mut unsupported = Vec::new();
    for session in SESSIONS {
        let dir = fixtures().join("transcripts");
        let records = read_records(&dir.join(format!("{session}.bin")));
        let sidecar: Value =
            serde_json::from_str(&fs::read_to_string(dir.join(format!("{session}.json"))).unwrap())
                .unwrap();
        let meta = sidecar["records"].as_array().unwrap();
        assert_eq!(records.len(), meta.len(), "{session}: record count");
        assert_eq!(records.len() as u64, num(&sidecar, "n_records"));

        // Bootstrap: record 0 is sockclnt_create (id 15), record 1 its reply
        // (id 16) carrying the table every other id is resolved through.
        let reply_body = &records[1].frame[HEADER_LEN..];
        assert_eq!(
            u16::from_be_bytes([reply_body[0], reply_body[1]]),
            SOCKCLNT_CREATE_REPLY_ID
        );
        let reply = SockclntCreateReply::parse(reply_body).unwrap();
        assert_eq!(u64::from(reply.index), num(&sidecar, "client_index"));
        let table = MessageTable::from_reply(&reply);
        assert_eq!(table.len(), 873, "{session}: table size");
        let ids = resolve(&table).unwrap_or_else(|e| panic!("{session}: {e}"));
        assert_eq!(ids.sockclnt_create, SOCKCLNT_CREATE_ID);
        assert_eq!(ids.sockclnt_create_reply, SOCKCLNT_CREATE_REPLY_ID);

        for (i, (record, m)) in records.iter().zip(meta).enumerate() {
            let at = format!("{session} record {i}");
            assert_eq!(
                record.direction,
                m["direction"].as_str().unwrap().as_bytes()[0],
                "{at}"
            );
            let frame = &record.frame;
            let data_len = u32::from_be_bytes(frame[8..12].try_into().unwrap()) as usize;
            assert_eq!(data_len + HEADER_LEN, frame.len(), "{at}: header length");
            let body = &frame[HEADER_LEN..];
            let id = u16::from_be_bytes([body[0], body[1]]);
            assert_eq!(u64::from(id), num(m, "msg_id"), "{at}");
            let Some(key) = ids.key_of(id) else {
                unsupported.push(format!("{at}: {}", m["message"]));
                continue;
            };
            assert_eq!(key, m["name_crc"].as_str().unwrap(), "{at}: name_crc");
            assert_eq!(table.name(id), Some(key), "{at}");
            if !check_record(key, body, id, m, &at) {
                unsupported.push(format!("{at}: {key}"));
                continue;
            }
            *decoded.entry(message_name(key).to_owned()).or_default() += 1;
            if record.direction == b'>' {
                assert!(m["papi_repack_identical"].as_bool().unwrap(), "{at}");
                requests_re_encoded += 1;
            }
        }
    }
    assert!(
        unsupported.is_empty(),
        "records not covered: {unsupported:#?}"
    );

    let want: BTreeMap<String, usize> = [
        ("cli_inband", 3),
        ("cli_inband_reply", 3),
        ("control_ping", 13),
        ("control_ping_reply", 12),
        ("ip_route_lookup", 10),
        ("ip_route_lookup_reply", 10),
        ("lb_add_del_as_v2", 13),
        ("lb_add_del_as_v2_reply", 13),
        ("lb_add_del_vip_v2", 9),
        ("lb_add_del_vip_v2_reply", 9),
        ("lb_as_set_weight", 5),
        ("lb_as_set_weight_reply", 4),
        ("lb_as_v2_details", 42),
        ("lb_as_v2_dump", 7),
        ("lb_conf", 1),
        ("lb_conf_get", 1),
        ("lb_conf_get_reply", 1),
        ("lb_conf_reply", 1),
        ("lb_vip_details", 9),
        ("lb_vip_dump", 3),
        ("show_version", 1),
        ("show_version_reply", 1),
        ("sockclnt_create", 4),
        ("sockclnt_create_reply", 4),
        ("sockclnt_delete", 4),
        ("sockclnt_delete_reply", 4),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(decoded, want);
    assert_eq!(decoded.values().sum::<usize>(), 187);
    // transcripts/README.md: 74 requests, all re-packed identically by papi.
    assert_eq!(requests_re_encoded, 74);
}

#[test]
fn frame_reader_reassembles_vpp_replies_from_4k_chunks() {
    for session in SESSIONS {
        let records = read_records(&fixtures().join(format!("transcripts/{session}.bin")));
        let replies: Vec<&Record> = records.iter().filter(|r| r.direction == b'<').collect();
        let stream: Vec<u8> = replies
            .iter()
            .flat_map(|r| r.frame.iter().copied())
            .collect();
        for chunk_len in [1usize, 7, 4096, stream.len()] {
            let mut reader = FrameReader::new();
            let mut bodies = Vec::new();
            for chunk in stream.chunks(chunk_len) {
                reader.push(chunk);
                while let Some(frame) = reader.next_frame() {
                    bodies.push(frame.unwrap().body);
                }
            }
            assert_eq!(
                bodies.len(),
                replies.len(),
                "{session} chunks of {chunk_len}"
            );
            for (body, record) in bodies.iter().zip(&replies) {
                assert_eq!(body[..], record.frame[HEADER_LEN..]);
            }
            assert_eq!(reader.buffered(), 0);
        }
    }
}

#[test]
fn required_name_crcs_match_the_api_json() {
    let mut crcs: BTreeMap<String, String> = BTreeMap::new();
    for file in ["memclnt", "vpe", "vlib", "lb", "ip"] {
        let path = fixtures().join(format!("json/{file}.api.json"));
        let api: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
        for msg in api["messages"].as_array().unwrap() {
            let items = msg.as_array().unwrap();
            let name = items[0].as_str().unwrap();
            let crc = items.last().unwrap()["crc"].as_str().unwrap();
            crcs.insert(name.to_owned(), crc.trim_start_matches("0x").to_owned());
        }
    }
    for key in REQUIRED_MESSAGES {
        let name = message_name(key);
        let crc = crcs
            .get(name)
            .unwrap_or_else(|| panic!("{name} not in the API JSON"));
        assert_eq!(format!("{name}_{crc}"), *key);
    }
}

#[test]
fn truncated_captured_frames_are_errors_at_every_length() {
    let records = read_records(&fixtures().join("transcripts/lb-lifecycle.bin"));
    let body = |i: usize| records[i].frame[HEADER_LEN..].to_vec();
    // 10: add VIP, 16: add AS, 34: set weight, 40: vip details, 48: as
    // details, 59: cli reply, 61: route lookup reply with one path.
    type Fails = fn(&[u8]) -> bool;
    let samples: [(usize, Fails); 7] = [
        (10, |b| LbAddDelVipV2::parse(b).is_err()),
        (16, |b| LbAddDelAsV2::parse(b).is_err()),
        (34, |b| LbAsSetWeight::parse(b).is_err()),
        (40, |b| LbVipDetails::parse(b).is_err()),
        (48, |b| LbAsV2Details::parse(b).is_err()),
        (59, |b| CliInbandReply::parse(b).is_err()),
        (61, |b| IpRouteLookupReply::parse(b).is_err()),
    ];
    for (i, fails) in samples {
        let full = body(i);
        for cut in 0..full.len() {
            assert!(fails(&full[..cut]), "record {i} cut at {cut} parsed");
        }
        assert!(!fails(&full), "record {i} in full must parse");
    }
    let handshake = read_records(&fixtures().join("transcripts/handshake.bin"));
    let reply = &handshake[1].frame[HEADER_LEN..];
    for cut in (0..reply.len()).step_by(97).chain([reply.len() - 1]) {
        assert!(
            SockclntCreateReply::parse(&reply[..cut]).is_err(),
            "cut at {cut}"
        );
    }
}
