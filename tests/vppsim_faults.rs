//! The simulator's fault layer, connection handling and recorder, over real
//! Unix sockets.

mod vppsim_client;

use std::io::{Read, Write};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use vpp_maglev::sim::lb::{Encap, VipAdd, VipKey};
use vpp_maglev::sim::server::{SimHandle, SimOptions, Simulator, Times};
use vpp_maglev::vpp::wire::lb::{
    LbAddDelAsV2, LbAddDelVipV2, LbAsSetWeight, LbConfGet, LbEncapType, LbVipDump,
};
use vpp_maglev::vpp::wire::memclnt::{
    ControlPing, ControlPingReply, SockclntCreate, SockclntCreateReply, SockclntDelete,
    SOCKCLNT_CREATE_ID,
};
use vpp_maglev::vpp::wire::table::names;
use vpp_maglev::vpp::wire::{Message, Prefix};
use vppsim_client::{Client, RecvError, TIMEOUT};

const SILENCE: Duration = Duration::from_millis(200);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn start() -> SimHandle {
    Simulator::start(SimOptions::temp()).unwrap()
}

fn ping(client: &mut Client, context: u32) {
    let id = client.id(names::CONTROL_PING);
    let index = client.index;
    client.send(
        &ControlPing {
            client_index: index,
            context,
        },
        id,
    );
}

fn add_vip(client: &mut Client, context: u32) {
    let msg = LbAddDelVipV2::gre(
        client.index,
        context,
        Prefix::new(ip("192.0.2.80"), 32),
        6,
        80,
        LbEncapType::Gre4,
        false,
    );
    let id = client.id(names::LB_ADD_DEL_VIP_V2);
    client.send(&msg, id);
}

fn as_msg(client: &Client, context: u32, weight: u8) -> LbAddDelAsV2 {
    LbAddDelAsV2 {
        client_index: client.index,
        context,
        pfx: Prefix::new(ip("192.0.2.80"), 32),
        protocol: 6,
        port: 80,
        as_address: ip("198.51.100.1"),
        weight,
        is_del: false,
        is_flush: false,
    }
}

fn vip_key() -> VipKey {
    VipKey::new(ip("192.0.2.80"), 32, 6, 80)
}

fn weights(sim: &SimHandle) -> Vec<u8> {
    sim.with_lb(|lb| {
        lb.as_v2_dump(&vpp_maglev::sim::lb::AsDumpFilter::all())
            .iter()
            .map(|d| d.weight)
            .collect()
    })
}

#[test]
fn injected_error_replaces_the_handler_for_k_requests() {
    let sim = start();
    let mut client = Client::open(sim.socket_path());
    add_vip(&mut client, 1);
    assert_eq!(client.recv().unwrap().retval(), 0);
    sim.faults(|plan| {
        plan.error("lb_add_del_as_v2", -81, Times::Next(1));
    });
    let id = client.id(names::LB_ADD_DEL_AS_V2);
    client.send(&as_msg(&client, 2, 50), id);
    let reply = client.recv().unwrap();
    assert_eq!((reply.context(), reply.retval()), (2, -81));
    assert_eq!(weights(&sim), Vec::<u8>::new(), "handler did not run");
    client.send(&as_msg(&client, 3, 50), id);
    assert_eq!(client.recv().unwrap().retval(), 0, "rule spent");
    assert_eq!(weights(&sim), vec![50]);
    assert!(sim.faults(|plan| plan.rules().is_empty()));
}

#[test]
fn always_error_on_a_dump_sends_no_details() {
    let sim = start();
    sim.with_lb(|lb| lb.add_vip(&VipAdd::new(vip_key(), Encap::Gre4)));
    let mut client = Client::open(sim.socket_path());
    sim.faults(|plan| {
        plan.error(names::LB_VIP_DUMP, -1, Times::Always);
    });
    for round in 0..2 {
        let id = client.id(names::LB_VIP_DUMP);
        client.send(&LbVipDump::all(client.index, 10 + round), id);
        ping(&mut client, 20 + round);
        let reply = client.recv().unwrap();
        assert_eq!(reply.context(), 20 + round, "only the ping reply");
    }
}

#[test]
fn swallowed_reply_still_changes_state_and_the_connection_stays_usable() {
    let sim = start();
    sim.with_lb(|lb| {
        lb.add_vip(&VipAdd::new(vip_key(), Encap::Gre4));
        lb.add_as(&vip_key(), ip("198.51.100.1"), 100, false)
    });
    let mut client = Client::open(sim.socket_path());
    sim.faults(|plan| {
        plan.swallow("lb_as_set_weight", Times::Next(1));
    });
    let msg = LbAsSetWeight {
        client_index: client.index,
        context: 7,
        pfx: Prefix::new(ip("192.0.2.80"), 32),
        protocol: 6,
        port: 80,
        as_address: ip("198.51.100.1"),
        weight: 42,
        is_flush: false,
    };
    let id = client.id(names::LB_AS_SET_WEIGHT);
    client.send(&msg, id);
    client.expect_silence(SILENCE);
    assert_eq!(weights(&sim), vec![42]);
    ping(&mut client, 8);
    assert_eq!(client.recv().unwrap().context(), 8);
}

#[test]
fn delayed_reply_holds_back_everything_after_it() {
    let sim = start();
    let mut client = Client::open(sim.socket_path());
    let delay = Duration::from_millis(500);
    sim.faults(|plan| {
        plan.delay(Some("lb_conf_get"), delay, Times::Next(1));
    });
    let sent = Instant::now();
    let id = client.id(names::LB_CONF_GET);
    client.send(
        &LbConfGet {
            client_index: client.index,
            context: 1,
        },
        id,
    );
    ping(&mut client, 2);
    let first = client.recv().unwrap();
    let waited = sent.elapsed();
    let second = client.recv().unwrap();
    assert_eq!(
        (first.context(), second.context()),
        (1, 2),
        "VPP order kept"
    );
    assert!(waited >= delay, "reply came after {waited:?}");
    // Both requests were handled on arrival; only the replies waited.
    let conf_get = sim.wait_for(|r| r.name == "lb_conf_get", TIMEOUT).unwrap();
    assert!(conf_get.at.duration_since(sent) < delay);

    // Spent: the next one is immediate.
    client.send(
        &LbConfGet {
            client_index: client.index,
            context: 3,
        },
        id,
    );
    let again = Instant::now();
    assert_eq!(client.recv().unwrap().context(), 3);
    assert!(again.elapsed() < delay);
}

#[test]
fn drop_after_n_requests_closes_after_their_replies() {
    let sim = start();
    let mut client = Client::open(sim.socket_path());
    sim.faults(|plan| {
        plan.drop_after(2);
    });
    // One write: the third ping must not race the close.
    let id = client.id(names::CONTROL_PING);
    let mut frames = Vec::new();
    for context in [1, 2, 3] {
        let msg = ControlPing {
            client_index: client.index,
            context,
        };
        msg.emit_frame(id, &mut frames);
    }
    client.stream.write_all(&frames).unwrap();
    assert_eq!(client.recv().unwrap().context(), 1);
    assert_eq!(client.recv().unwrap().context(), 2);
    assert_eq!(client.recv().err(), Some(RecvError::Eof));
    // The drop was one-shot: a new connection works.
    let mut again = Client::open(sim.socket_path());
    ping(&mut again, 4);
    assert_eq!(again.recv().unwrap().context(), 4);
}

#[test]
fn drop_now_closes_every_connection() {
    let sim = start();
    let mut a = Client::open(sim.socket_path());
    let mut b = Client::open(sim.socket_path());
    assert_eq!((a.index, b.index), (0x8000_0001, 0x8000_0002));
    sim.faults(|plan| {
        plan.drop_now();
    });
    assert_eq!(a.recv().err(), Some(RecvError::Eof));
    assert_eq!(b.recv().err(), Some(RecvError::Eof));
}

#[test]
fn restart_loses_state_rebinds_and_changes_pid() {
    let sim = start();
    let mut client = Client::open(sim.socket_path());
    add_vip(&mut client, 1);
    assert_eq!(client.recv().unwrap().retval(), 0);
    ping(&mut client, 2);
    let before = ControlPingReply::parse(&client.recv().unwrap().body).unwrap();
    assert_eq!(before.vpe_pid, sim.vpe_pid());

    sim.restart().unwrap();
    assert_eq!(client.recv().err(), Some(RecvError::Eof));
    let mut client = Client::open(sim.socket_path());
    assert_eq!(client.index, 0x8000_0001);
    ping(&mut client, 3);
    let after = ControlPingReply::parse(&client.recv().unwrap().body).unwrap();
    assert_ne!(after.vpe_pid, before.vpe_pid);
    assert_eq!(sim.with_lb(|lb| lb.vip_dump().len()), 0, "lb state lost");
    // Adding the same VIP again succeeds: it really is gone.
    add_vip(&mut client, 4);
    assert_eq!(client.recv().unwrap().retval(), 0);
}

#[test]
fn old_vpp_table_lacks_the_message_and_its_id_gets_no_reply() {
    let sim = start();
    sim.faults(|plan| {
        plan.old_vpp(&["lb_as_set_weight"]);
    });
    let mut client = Client::connect(sim.socket_path());
    let reply = client.handshake(1);
    assert_eq!(reply.message_table.len(), 872);
    assert_eq!(client.table.id(names::LB_AS_SET_WEIGHT), None);
    assert!(client.table.id(names::LB_AS_SET_WEIGHT_REPLY).is_some());
    // A client that sends the real id anyway hears nothing.
    let msg = LbAsSetWeight {
        client_index: client.index,
        context: 2,
        pfx: Prefix::new(ip("192.0.2.80"), 32),
        protocol: 6,
        port: 80,
        as_address: ip("198.51.100.1"),
        weight: 1,
        is_flush: false,
    };
    client.send(&msg, 101);
    client.expect_silence(SILENCE);
    ping(&mut client, 3);
    assert_eq!(client.recv().unwrap().context(), 3);
}

#[test]
fn unknown_id_gets_no_reply_but_the_connection_stays_usable() {
    let sim = start();
    let mut client = Client::open(sim.socket_path());
    client.send(
        &ControlPing {
            client_index: client.index,
            context: 1,
        },
        4242,
    );
    client.expect_silence(SILENCE);
    ping(&mut client, 2);
    assert_eq!(client.recv().unwrap().context(), 2);
    let unknown = sim.wait_for(|r| r.msg_id == 4242, TIMEOUT).unwrap();
    assert_eq!(unknown.name, "unknown");
}

#[test]
fn replies_survive_partial_writes_to_a_slow_reader() {
    let sim = start();
    let mut client = Client::connect(sim.socket_path());
    // Six handshake replies (57,654 bytes each) overflow the socket buffer,
    // so the server must stop on EAGAIN and resume.
    let n = 6u32;
    for context in 0..n {
        let create = SockclntCreate {
            context,
            name: "slow".to_owned(),
        };
        client.send(&create, SOCKCLNT_CREATE_ID);
    }
    sim.wait_for(|r| r.summary.contains("context=0x5"), TIMEOUT)
        .unwrap();
    let mut stream = client.stream.try_clone().unwrap();
    let mut bytes = Vec::new();
    let mut byte = [0u8; 1];
    let frame_len = 16 + 57_638;
    while bytes.len() < frame_len * n as usize {
        assert_eq!(stream.read(&mut byte).unwrap(), 1);
        bytes.push(byte[0]);
    }
    for (i, frame) in bytes.chunks(frame_len).enumerate() {
        let reply = SockclntCreateReply::parse(&frame[16..]).unwrap();
        assert_eq!(reply.context, i as u32);
        assert_eq!(reply.index, 0x8000_0001, "re-registering keeps the index");
        assert_eq!(reply.message_table.len(), 873);
    }
}

#[test]
fn client_indexes_are_reused_after_delete() {
    let sim = start();
    let mut a = Client::open(sim.socket_path());
    let b = Client::open(sim.socket_path());
    assert_eq!(b.index, 0x8000_0002);
    let delete = SockclntDelete {
        client_index: a.index,
        context: 9,
        index: a.index,
    };
    let id = a.id(names::SOCKCLNT_DELETE);
    a.send(&delete, id);
    let reply = a.recv().unwrap();
    assert_eq!((reply.context(), reply.retval()), (9, 1), "response 1");
    assert_eq!(a.recv().err(), Some(RecvError::Eof));
    // The EOF means the server dropped the connection and its slot.
    let c = Client::open(sim.socket_path());
    assert_eq!(c.index, 0x8000_0001);
    drop(b);
}

#[test]
fn recorder_keeps_arrival_order_and_clears() {
    let sim = start();
    let mut client = Client::open(sim.socket_path());
    for context in 1..=3 {
        ping(&mut client, context);
        client.recv().unwrap();
    }
    let records = sim.records();
    let names: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "sockclnt_create",
            "control_ping",
            "control_ping",
            "control_ping"
        ]
    );
    assert!(records
        .windows(2)
        .all(|w| w[0].at <= w[1].at && w[0].seq < w[1].seq));
    assert!(records.iter().all(|r| r.conn == records[0].conn));
    assert_eq!(records[1].body.len(), 10, "raw body as received");
    sim.clear_records();
    assert!(sim.records().is_empty());
    assert_eq!(sim.wait_for(|_| true, Duration::from_millis(20)), None);
}

#[test]
fn stop_unlinks_the_socket() {
    let mut sim = start();
    let path = sim.socket_path().to_owned();
    assert!(path.exists());
    sim.stop();
    assert!(!path.exists());
    sim.stop();
}
