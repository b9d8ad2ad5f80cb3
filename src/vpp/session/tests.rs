//! Session tests: contexts, dumps, lost replies, timeouts, handshake failures.
use super::*;
use crate::vpp::sync::VipKey;
use crate::vpp::wire::lb::LbAsSetWeight;
use crate::vpp::wire::memclnt::MessageTableEntry;
use crate::vpp::wire::{encode_frame, RetvalReply};

fn reply_table() -> Vec<MessageTableEntry> {
    // Real ids of the captured build for what we use, plus one more.
    let mut out = Vec::new();
    for (i, key) in crate::vpp::wire::table::REQUIRED_MESSAGES
        .iter()
        .enumerate()
    {
        out.push(MessageTableEntry {
            index: 100 + i as u16,
            name: key.to_string(),
        });
    }
    out
}

fn ready_session(now: Instant) -> (Session, MsgIds) {
    let mut s = Session::new(now, Duration::from_secs(1));
    let req = s.output().clone();
    s.output().clear();
    // The handshake request: id 15, our name.
    assert_eq!(&req[16..18], &[0, 15]);
    let sent = SockclntCreate::parse(&req[16..]).unwrap();
    assert_eq!(sent.name, CLIENT_NAME);
    let reply = SockclntCreateReply {
        client_index: 0,
        context: sent.context,
        response: 0,
        index: 0x8000_0001,
        message_table: reply_table(),
    };
    let mut bytes = Vec::new();
    reply.emit_frame(SOCKCLNT_CREATE_REPLY_ID, &mut bytes);
    let mut events = Vec::new();
    s.on_bytes(&bytes, now, &mut events).unwrap();
    assert_eq!(
        events,
        vec![SessionEvent::Ready {
            client_index: 0x8000_0001,
            table_len: reply_table().len()
        }]
    );
    let ids = MsgIds::resolve(&MessageTable::from_entries(&reply_table())).unwrap();
    (s, ids)
}

fn frames(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut r = FrameReader::new();
    r.push(bytes);
    let mut out = Vec::new();
    while let Some(f) = r.next_frame() {
        out.push(f.unwrap().body);
    }
    out
}

#[test]
fn requests_carry_client_index_and_fresh_contexts() {
    let now = Instant::now();
    let (mut s, ids) = ready_session(now);
    s.send(7, &Request::Ping, now).unwrap();
    s.send(8, &Request::Ping, now).unwrap();
    let sent = frames(s.output());
    assert_eq!(sent.len(), 2);
    let a = ControlPing::parse(&sent[0]).unwrap();
    let b = ControlPing::parse(&sent[1]).unwrap();
    assert_eq!(
        u16::from_be_bytes([sent[0][0], sent[0][1]]),
        ids.control_ping
    );
    assert_eq!(a.client_index, 0x8000_0001);
    assert_ne!(a.context, b.context);
    // Replies out of order still find their tags.
    let mut bytes = Vec::new();
    for (ctx, pid) in [(b.context, 2), (a.context, 1)] {
        ControlPingReply {
            context: ctx,
            retval: 0,
            client_index: 0x8000_0001,
            vpe_pid: pid,
        }
        .emit_frame(ids.control_ping_reply, &mut bytes);
    }
    let mut events = Vec::new();
    s.on_bytes(&bytes, now, &mut events).unwrap();
    let tags: Vec<(u64, Response)> = events
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::Completed { tag, response, .. } => Some((tag, response)),
            _ => None,
        })
        .collect();
    assert_eq!(
        tags,
        vec![
            (8, Response::Ping { vpe_pid: 2 }),
            (7, Response::Ping { vpe_pid: 1 })
        ]
    );
}

#[test]
fn dump_ends_with_the_ping_reply() {
    let now = Instant::now();
    let (mut s, ids) = ready_session(now);
    s.send(1, &Request::VipDump, now).unwrap();
    let sent = frames(s.output());
    assert_eq!(sent.len(), 2, "dump then control_ping");
    let dump = LbVipDump::parse(&sent[0]).unwrap();
    let ping = ControlPing::parse(&sent[1]).unwrap();
    let mut bytes = Vec::new();
    // An empty dump: only the ping reply.
    ControlPingReply {
        context: ping.context,
        retval: 0,
        client_index: 0,
        vpe_pid: 9,
    }
    .emit_frame(ids.control_ping_reply, &mut bytes);
    let mut events = Vec::new();
    s.on_bytes(&bytes, now, &mut events).unwrap();
    assert_eq!(
        events,
        vec![SessionEvent::Completed {
            tag: 1,
            message: "lb_vip_dump",
            response: Response::VipDump(vec![])
        }]
    );
    let _ = dump;
    assert_eq!(s.in_flight(), 0);
}

#[test]
fn a_lost_reply_times_out_alone() {
    let now = Instant::now();
    let (mut s, ids) = ready_session(now);
    let call = LbCall::SetWeight {
        key: VipKey::host("192.0.2.80".parse().unwrap(), 6, 80),
        addr: "198.51.100.1".parse().unwrap(),
        weight: 50,
        flush: false,
    };
    s.send(1, &Request::Lb(call), now).unwrap();
    s.send(2, &Request::Lb(call), now).unwrap();
    let sent = frames(s.output());
    let second = LbAsSetWeight::parse(&sent[1]).unwrap();
    assert_eq!(second.weight, 50);
    assert_eq!(second.pfx, Prefix::new("192.0.2.80".parse().unwrap(), 32));
    // Only the second request is answered.
    let mut body = Vec::new();
    RetvalReply {
        context: second.context,
        retval: -6,
    }
    .emit(ids.lb_as_set_weight_reply, &mut body);
    let mut bytes = Vec::new();
    encode_frame(&body, &mut bytes);
    let mut events = Vec::new();
    s.on_bytes(&bytes, now, &mut events).unwrap();
    assert_eq!(events.len(), 1);
    assert!(matches!(
        &events[0],
        SessionEvent::Completed {
            tag: 2,
            response: Response::Retval(-6),
            ..
        }
    ));
    assert!(s.next_deadline().is_some());
    let mut events = Vec::new();
    s.expire(now + Duration::from_millis(500), &mut events)
        .unwrap();
    assert!(events.is_empty());
    s.expire(now + Duration::from_secs(2), &mut events).unwrap();
    assert!(matches!(
        &events[..],
        [SessionEvent::Completed {
            tag: 1,
            response: Response::TimedOut,
            ..
        }]
    ));
    assert_eq!(s.next_deadline(), None);
}

/// (name, request count, replies answered at these ms offsets in
/// order, expire at, tags expected to time out).
type TimeoutCase = (&'static str, usize, &'static [u64], u64, &'static [u64]);

#[test]
fn timeouts_run_from_the_last_progress() {
    let ms = Duration::from_millis;
    let cases: &[TimeoutCase] = &[
        // A slow VPP working steadily through a batch: nothing fails
        // although the tail was sent long before the expiry time.
        ("steady progress", 3, &[900, 1800], 2500, &[]),
        ("stall after progress", 3, &[900, 1800], 2900, &[2]),
        // A hung VPP fails everything outstanding at once.
        ("hung", 3, &[], 1000, &[0, 1, 2]),
        ("not yet", 3, &[], 999, &[]),
    ];
    for (name, n, answers, expire_at, want) in cases {
        let now = Instant::now();
        let (mut s, ids) = ready_session(now);
        for tag in 0..*n as u64 {
            s.send(tag, &Request::Ping, now).unwrap();
        }
        let sent = frames(s.output());
        for (i, at) in answers.iter().enumerate() {
            let ping = ControlPing::parse(&sent[i]).unwrap();
            let mut bytes = Vec::new();
            ControlPingReply {
                context: ping.context,
                retval: 0,
                client_index: 0,
                vpe_pid: 1,
            }
            .emit_frame(ids.control_ping_reply, &mut bytes);
            s.on_bytes(&bytes, now + ms(*at), &mut Vec::new()).unwrap();
        }
        let mut events = Vec::new();
        s.expire(now + ms(*expire_at), &mut events).unwrap();
        let failed: Vec<u64> = events
            .iter()
            .filter_map(|e| match e {
                SessionEvent::Completed {
                    tag,
                    response: Response::TimedOut,
                    ..
                } => Some(*tag),
                _ => None,
            })
            .collect();
        assert_eq!(&failed, want, "{name}");
    }
}

#[test]
fn a_large_show_lb_vips_reply_is_accepted() {
    let now = Instant::now();
    let (mut s, ids) = ready_session(now);
    s.send(1, &Request::Cli("show lb vips verbose".into()), now)
        .unwrap();
    let sent = CliInband::parse(&frames(s.output())[0]).unwrap();
    // Over the 1 MiB wire default, like 1,000 VIPs × 64 ASes (3.8 MB).
    let text = "    198.18.0.1 used:64 weight:100\n".repeat(120_000);
    let mut bytes = Vec::new();
    CliInbandReply {
        context: sent.context,
        retval: 0,
        reply: text.clone(),
    }
    .emit_frame(ids.cli_inband_reply, &mut bytes);
    assert!(bytes.len() > 3 << 20);
    let mut events = Vec::new();
    for chunk in bytes.chunks(4096) {
        s.on_bytes(chunk, now, &mut events).unwrap();
    }
    assert_eq!(
        events,
        vec![SessionEvent::Completed {
            tag: 1,
            message: "cli_inband",
            response: Response::Cli { retval: 0, text }
        }]
    );
}

#[test]
fn missing_messages_fail_the_handshake() {
    let now = Instant::now();
    let mut s = Session::new(now, Duration::from_secs(1));
    let sent = SockclntCreate::parse(&s.output()[16..]).unwrap();
    let table: Vec<MessageTableEntry> = reply_table()
        .into_iter()
        .filter(|e| !e.name.starts_with("lb_as_set_weight_2d89bdbd"))
        .collect();
    let mut bytes = Vec::new();
    SockclntCreateReply {
        client_index: 0,
        context: sent.context,
        response: 0,
        index: 1,
        message_table: table,
    }
    .emit_frame(SOCKCLNT_CREATE_REPLY_ID, &mut bytes);
    let err = s.on_bytes(&bytes, now, &mut Vec::new()).unwrap_err();
    assert!(
        err.to_string().contains("lb_as_set_weight_2d89bdbd"),
        "{err}"
    );
    assert!(matches!(
        s.send(1, &Request::Ping, now),
        Err(SessionError::NotReady)
    ));
}

#[test]
fn handshake_timeout_is_fatal() {
    let now = Instant::now();
    let mut s = Session::new(now, Duration::from_secs(1));
    assert!(s
        .expire(now + Duration::from_secs(2), &mut Vec::new())
        .is_err());
}
