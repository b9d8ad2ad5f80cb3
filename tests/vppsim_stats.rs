//! The simulator's stats segment end to end: the daemon's reader
//! (`vpp::stats`) fetches the memfd over the simulator's stats socket,
//! reads boottime, and sees the lb and `/net/route/to` counters move when a
//! test injects traffic; a restart hands out a new segment.

mod vppsim_client;

use std::net::IpAddr;
use std::time::Duration;

use vpp_maglev::sim::lb::{Packet, VipKey};
use vpp_maglev::sim::server::{SimHandle, SimOptions, Simulator};
use vpp_maglev::vpp::stats::{
    connect_blocking, read_boottime, read_lb_counters, DirectoryIndex, MappedSegment, ReadPolicy,
    VipCounters, VipQuery,
};
use vpp_maglev::vpp::wire::lb::{LbAddDelAsV2, LbAddDelVipV2, LbEncapType};
use vpp_maglev::vpp::wire::table::names;
use vpp_maglev::vpp::wire::vlib::{CliInband, CliInbandReply};
use vpp_maglev::vpp::wire::{Message, Prefix};
use vppsim_client::Client;

const TIMEOUT: Duration = Duration::from_secs(5);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn vip_key(n: u8) -> VipKey {
    VipKey::new(ip(&format!("192.0.2.{n}")), 32, 6, 80)
}

/// Adds VIP 192.0.2.n/32 tcp/80 with two ASes over the API socket.
fn add_vip_over_api(client: &mut Client, n: u8, context: u32) {
    let pfx = Prefix::new(ip(&format!("192.0.2.{n}")), 32);
    let vip = LbAddDelVipV2::gre(client.index, context, pfx, 6, 80, LbEncapType::Gre4, false);
    let id = client.id(names::LB_ADD_DEL_VIP_V2);
    client.send(&vip, id);
    assert_eq!(client.recv().unwrap().retval(), 0);
    for (i, address) in ["198.51.100.1", "198.51.100.2"].iter().enumerate() {
        let add = LbAddDelAsV2 {
            client_index: client.index,
            context: context + 1 + i as u32,
            pfx,
            protocol: 6,
            port: 80,
            as_address: ip(address),
            weight: 100,
            is_del: false,
            is_flush: false,
        };
        let id = client.id(names::LB_ADD_DEL_AS_V2);
        client.send(&add, id);
        assert_eq!(client.recv().unwrap().retval(), 0);
    }
}

/// The VIP's `[n]` as `show lb vips verbose` prints it.
fn cli_vip_index(client: &mut Client, prefix: &str) -> u32 {
    let cli = CliInband {
        client_index: client.index,
        context: 900,
        cmd: "show lb vips verbose".to_owned(),
    };
    let id = client.id(names::CLI_INBAND);
    client.send(&cli, id);
    let text = CliInbandReply::parse(&client.recv().unwrap().body)
        .unwrap()
        .reply;
    let line = text
        .lines()
        .find(|l| l.contains(&format!("] {prefix}")))
        .unwrap_or_else(|| panic!("{prefix} not in {text:?}"));
    let open = line.find('[').unwrap();
    let close = line.find(']').unwrap();
    line[open + 1..close].parse().unwrap()
}

fn query(sim: &SimHandle, key: &VipKey) -> VipQuery {
    sim.with_lb(|lb| VipQuery {
        lb_index: lb.vip_index(key).unwrap() as u32,
        fib_index: lb.route_stats_index(key.prefix, key.len),
    })
}

fn model(sim: &SimHandle, q: &VipQuery) -> VipCounters {
    sim.with_lb(|lb| {
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
    })
}

fn read(segment: &MappedSegment, queries: &[VipQuery]) -> Vec<VipCounters> {
    let mut index = DirectoryIndex::new();
    let snapshot = read_lb_counters(segment, &mut index, ReadPolicy::default(), queries).unwrap();
    assert!(snapshot.missing.is_empty(), "{:?}", snapshot.missing);
    snapshot.vips
}

fn boottime(segment: &MappedSegment) -> u64 {
    read_boottime(segment, &mut DirectoryIndex::new(), ReadPolicy::default()).unwrap()
}

#[test]
fn counters_move_with_injected_traffic_and_restart_gives_a_new_segment() {
    let sim = Simulator::start(SimOptions::temp()).unwrap();
    let stats_path = sim.stats_socket_path().unwrap().to_owned();
    let segment = connect_blocking(&stats_path, TIMEOUT).unwrap();
    let again = connect_blocking(&stats_path, TIMEOUT).unwrap();
    assert!(segment.same_segment(&again), "one VPP, one memfd");
    let boot = boottime(&segment);
    assert_eq!(Some(boot), sim.stats_boottime());

    // VIPs created over the API: the segment grows as requests are handled.
    let mut client = Client::open(sim.socket_path());
    add_vip_over_api(&mut client, 80, 10);
    add_vip_over_api(&mut client, 81, 20);
    let keys = [vip_key(80), vip_key(81)];
    let queries: Vec<VipQuery> = keys.iter().map(|k| query(&sim, k)).collect();
    assert_eq!(
        cli_vip_index(&mut client, "192.0.2.81/32"),
        queries[1].lb_index
    );
    assert!(read(&segment, &queries)
        .iter()
        .all(|c| *c == VipCounters::default()));

    let dst = keys[1].prefix;
    let packets: Vec<Packet> = (0..6u16)
        .map(|i| Packet::tcp(ip("10.0.0.9"), 4000 + i % 3, dst, 80).with_bytes(100))
        .collect();
    sim.with_lb(|lb| lb.inject_traffic(&packets));
    let got = read(&segment, &queries);
    assert_eq!(got[0], VipCounters::default());
    assert_eq!(got[1], model(&sim, &queries[1]));
    assert_eq!(
        (
            got[1].first,
            got[1].next,
            got[1].fib_packets,
            got[1].fib_bytes
        ),
        (3, 3, 6, 600)
    );

    // A restart: new memfd, new boottime, counters from zero; the old
    // mapping stays readable and frozen.
    sim.restart().unwrap();
    let fresh = connect_blocking(&stats_path, TIMEOUT).unwrap();
    assert_ne!(fresh.inode(), segment.inode());
    assert!(!fresh.same_segment(&segment));
    let new_boot = boottime(&fresh);
    assert!(new_boot > boot, "{new_boot} after {boot}");
    assert_eq!(Some(new_boot), sim.stats_boottime());
    assert_eq!(read(&segment, &queries)[1], got[1]);
    let mut client = Client::open(sim.socket_path());
    add_vip_over_api(&mut client, 81, 30);
    let q = query(&sim, &keys[1]);
    assert_eq!(read(&fresh, &[q])[0], VipCounters::default());
    sim.with_lb(|lb| lb.inject(&Packet::tcp(ip("10.0.0.9"), 1, dst, 80)));
    assert_eq!(read(&fresh, &[q])[0].first, 1);
    assert_eq!(read(&fresh, &[q])[0], model(&sim, &q));
}

#[test]
fn stop_removes_the_stats_socket_and_new_has_none() {
    let mut sim = Simulator::start(SimOptions::temp()).unwrap();
    let path = sim.stats_socket_path().unwrap().to_owned();
    assert!(path.exists());
    assert!(path
        .to_string_lossy()
        .ends_with(&format!("{}.stats", sim.socket_path().display())));
    sim.stop();
    assert!(!path.exists());
    assert!(connect_blocking(&path, Duration::from_millis(200)).is_err());

    let api = std::env::temp_dir().join(format!("vppsim-nostats-{}.sock", std::process::id()));
    let sim = Simulator::start(SimOptions::new(&api)).unwrap();
    assert_eq!(sim.stats_socket_path(), None);
    assert_eq!(sim.stats_boottime(), None);
}
