//! The segment writer read back with the daemon's reader (`vpp::stats`),
//! over plain byte vectors: values, growth, relayout, the epoch /
//! in_progress protocol and clamping.

use std::net::IpAddr;

use super::writer::{SegmentWriter, WritableMemory, HEAP_START, NET_ROUTE_TO, SYS_HEARTBEAT};
use crate::sim::lb::{Encap, LbState, Packet, VipAdd, VipKey};
use crate::vpp::stats::segment::{OFF_EPOCH, OFF_IN_PROGRESS};
use crate::vpp::stats::{
    dump, read_boottime, read_lb_counters, DirectoryIndex, ReadPolicy, SegmentMemory, StatValue,
    VipCounters, VipQuery,
};

const BASE: u64 = 0x7f1d_7e50_d000;
const BOOTTIME: u64 = 1_795_313_094;

fn addr(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn vip(n: u32) -> VipKey {
    VipKey::new(
        addr(&format!("192.0.{}.{}", n / 250, n % 250 + 1)),
        32,
        6,
        80,
    )
}

/// An lb with `vips` VIPs, one AS each.
fn lb_with(vips: u32) -> LbState {
    let mut lb = LbState::default();
    for n in 0..vips {
        assert_eq!(lb.add_vip(&VipAdd::new(vip(n), Encap::Gre4)), 0);
        assert_eq!(lb.add_as(&vip(n), addr("198.51.100.1"), 100, false), 0);
    }
    lb
}

fn writer(size: usize) -> SegmentWriter<Vec<u8>> {
    SegmentWriter::new(vec![0; size], BASE, BOOTTIME)
}

fn query(lb: &LbState, key: &VipKey) -> VipQuery {
    VipQuery {
        lb_index: lb.vip_index(key).unwrap() as u32,
        fib_index: lb.route_stats_index(key.prefix, key.len),
    }
}

/// What the model says the reader must see.
fn model_counters(lb: &LbState, q: &VipQuery) -> VipCounters {
    let [next, first, untracked, no_server] = lb.vip_counters(q.lb_index as usize).unwrap();
    let (fib_packets, fib_bytes) = lb.route_counters(q.fib_index.unwrap());
    VipCounters {
        first,
        next,
        untracked,
        no_server,
        fib_packets,
        fib_bytes,
    }
}

fn read(mem: &Vec<u8>, queries: &[VipQuery]) -> Vec<VipCounters> {
    let mut index = DirectoryIndex::new();
    let snapshot = read_lb_counters(mem, &mut index, ReadPolicy::default(), queries).unwrap();
    assert!(snapshot.missing.is_empty(), "{:?}", snapshot.missing);
    assert_eq!(snapshot.boottime, BOOTTIME);
    snapshot.vips
}

fn word(mem: &[u8], offset: usize) -> u64 {
    mem.load_u64(offset).unwrap()
}

fn vector_len(mem: &Vec<u8>, name: &str) -> usize {
    let entries = dump(mem, ReadPolicy::default(), &|n| n == name).unwrap();
    match &entries[0].value {
        StatValue::Simple(rows) => rows[0].len(),
        StatValue::Combined(rows) => rows[0].len(),
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn fresh_segment_has_header_scalars_and_empty_counters() {
    let w = writer(1 << 20);
    let mem = w.memory();
    assert_eq!(word(mem, 0), 2);
    assert_eq!(word(mem, 8), BASE);
    assert_eq!(word(mem, OFF_IN_PROGRESS), 0);
    assert_eq!(word(mem, OFF_EPOCH), w.epoch());
    assert!(word(mem, 32) >= BASE + HEAP_START as u64);
    let mut index = DirectoryIndex::new();
    assert_eq!(
        read_boottime(mem, &mut index, ReadPolicy::default()).unwrap(),
        BOOTTIME
    );
    let names: Vec<String> = dump(mem, ReadPolicy::default(), &|_| true)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(
        names,
        [
            "/sys/boottime",
            "/sys/heartbeat",
            "/net/route/to",
            "packet from existing sessions",
            "first session packet",
            "untracked packet",
            "no server configured",
        ]
    );
}

#[test]
fn traffic_moves_the_counters_read_by_the_daemon_reader() {
    let mut lb = lb_with(3);
    let mut w = writer(1 << 20);
    w.sync(&lb, 0);
    let queries: Vec<VipQuery> = (0..3).map(|n| query(&lb, &vip(n))).collect();
    assert!(read(w.memory(), &queries)
        .iter()
        .all(|c| *c == VipCounters::default()));

    let epoch = w.epoch();
    let dst = vip(1).prefix;
    let mut packets: Vec<Packet> = (0..4)
        .map(|port| Packet::tcp(addr("10.0.0.1"), 1000 + port, dst, 80))
        .collect();
    packets.push(Packet::tcp(addr("10.0.0.1"), 1000, dst, 80).with_bytes(1500));
    // Unknown port on the per-port prefix: the route counts it, lb gives it
    // to the placeholder VIP.
    packets.push(Packet::tcp(addr("10.0.0.1"), 1000, dst, 81));
    lb.inject_traffic(&packets);
    w.sync(&lb, 0);
    // Values move in place: no structural change.
    assert_eq!(w.epoch(), epoch);
    let got = read(w.memory(), &queries);
    for (q, counters) in queries.iter().zip(&got) {
        assert_eq!(*counters, model_counters(&lb, q));
    }
    assert_eq!(got[1].first, 4);
    assert_eq!(got[1].next, 1);
    assert_eq!((got[1].fib_packets, got[1].fib_bytes), (6, 5 * 64 + 1500));
    assert_eq!(got[0], VipCounters::default());
}

#[test]
fn growth_within_capacity_and_beyond_follow_the_epoch_protocol() {
    let mut lb = LbState::default();
    let mut w = writer(1 << 20);
    let mut epoch = w.epoch();
    let mut added = 0;
    // 1 → 3 VIP indexes: lengths grow within the first capacity.
    for n in 0..2 {
        lb.add_vip(&VipAdd::new(vip(n), Encap::Gre4));
        added += 1;
    }
    w.sync(&lb, 0);
    assert_eq!(w.epoch(), epoch + 1);
    assert_eq!(vector_len(w.memory(), "first session packet"), 3);
    epoch = w.epoch();
    w.sync(&lb, 0);
    assert_eq!(w.epoch(), epoch, "nothing changed, nothing restructured");
    let directory = word(w.memory(), 32);

    // Far past the first capacity: a relayout, values kept.
    lb.inject(&Packet::tcp(addr("10.0.0.1"), 1, vip(1).prefix, 80));
    while added < 300 {
        lb.add_vip(&VipAdd::new(vip(added), Encap::Gre4));
        added += 1;
    }
    w.sync(&lb, 0);
    assert_eq!(w.epoch(), epoch + 1);
    assert_eq!(word(w.memory(), 32), directory, "directory stays first");
    assert_eq!(vector_len(w.memory(), "untracked packet"), 301);
    assert_eq!(
        vector_len(w.memory(), NET_ROUTE_TO),
        lb.route_stats_index_bound()
    );
    let queries: Vec<VipQuery> = [1, 299].iter().map(|n| query(&lb, &vip(*n))).collect();
    let got = read(w.memory(), &queries);
    assert_eq!(got[0].no_server, 1);
    assert_eq!(got[0].fib_packets, 1);
    assert_eq!(got[1], VipCounters::default());
}

#[test]
fn freed_indexes_read_zero_and_lengths_never_shrink() {
    let mut lb = lb_with(1);
    // No AS: nothing can keep the VIP from being collected.
    let key = vip(1);
    lb.add_vip(&VipAdd::new(key, Encap::Gre4));
    let mut w = writer(1 << 20);
    lb.inject(&Packet::tcp(addr("10.0.0.1"), 1, key.prefix, 80));
    w.sync(&lb, 0);
    let q = query(&lb, &key);
    assert_eq!(read(w.memory(), &[q])[0].no_server, 1);
    assert_eq!(read(w.memory(), &[q])[0].fib_packets, 1);
    lb.del_vip(&key);
    lb.tick(1000);
    lb.tick(2000);
    assert_eq!(lb.vip_counters(q.lb_index as usize), None, "collected");
    w.sync(&lb, 0);
    assert_eq!(read(w.memory(), &[q])[0], VipCounters::default());
    assert_eq!(vector_len(w.memory(), "first session packet"), 3);
}

#[test]
fn heartbeat_follows_uptime() {
    let lb = lb_with(1);
    let mut w = writer(1 << 20);
    let heartbeat = |w: &SegmentWriter<Vec<u8>>| {
        let e = dump(w.memory(), ReadPolicy::default(), &|n| n == SYS_HEARTBEAT).unwrap();
        e[0].value.clone()
    };
    for (uptime_tens, want) in [(0u64, 0u64), (1, 1), (7, 7)] {
        w.sync(&lb, uptime_tens);
        assert_eq!(heartbeat(&w), StatValue::Scalar(want));
    }
}

/// Memory that checks VPP's protocol: structural writes (plain copies) only
/// while `in_progress` is set, and the epoch only moves while it is set.
struct Checked {
    bytes: Vec<u8>,
    structural_writes: usize,
}

impl WritableMemory for Checked {
    fn size(&self) -> usize {
        self.bytes.as_slice().len()
    }

    fn write_bytes(&mut self, offset: usize, bytes: &[u8]) {
        assert_eq!(word(&self.bytes, OFF_IN_PROGRESS), 1, "write at {offset}");
        self.structural_writes += 1;
        self.bytes.write_bytes(offset, bytes);
    }

    fn store_u64(&mut self, offset: usize, value: u64) {
        if offset == OFF_EPOCH {
            assert_eq!(word(&self.bytes, OFF_IN_PROGRESS), 1);
            assert!(value > word(&self.bytes, OFF_EPOCH));
        }
        if offset == 32 {
            assert_eq!(word(&self.bytes, OFF_IN_PROGRESS), 1);
        }
        self.bytes.store_u64(offset, value);
    }
}

#[test]
fn structural_changes_happen_under_in_progress() {
    let mut lb = lb_with(1);
    let mut w = SegmentWriter::new(
        Checked {
            bytes: vec![0; 1 << 20],
            structural_writes: 0,
        },
        BASE,
        BOOTTIME,
    );
    w.sync(&lb, 0);
    for n in 1..200 {
        lb.add_vip(&VipAdd::new(vip(n), Encap::Gre4));
        lb.inject(&Packet::tcp(addr("10.0.0.1"), 1, vip(n).prefix, 80));
        w.sync(&lb, 0);
    }
    assert!(w.memory().structural_writes > 2);
    assert_eq!(word(&w.memory().bytes, OFF_IN_PROGRESS), 0);
}

#[test]
fn a_small_segment_clamps_the_rows_instead_of_overflowing() {
    let lb = lb_with(400);
    // Room for the fixed part and a few hundred counters, not for all.
    let mut w = writer(HEAP_START + 12_000);
    w.sync(&lb, 0);
    let clamped = w.clamped().expect("clamped");
    assert!(clamped.vip_len < 401);
    assert_eq!(
        vector_len(w.memory(), "first session packet"),
        clamped.vip_len
    );
    let epoch = w.epoch();
    w.sync(&lb, 0);
    assert_eq!(w.epoch(), epoch, "no relayout on every sync once clamped");
}
