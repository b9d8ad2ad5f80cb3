//! VPP-side helpers for the end-to-end tests: a simulator per test, and a
//! compact view of what it holds.

use std::collections::BTreeMap;
use std::time::Duration;

use vpp_maglev::sim::lb::{AsDumpFilter, LbState};
use vpp_maglev::sim::server::{SimHandle, SimOptions, Simulator};

pub fn start_sim() -> SimHandle {
    Simulator::start(SimOptions::temp()).expect("start vppsim")
}

/// VIP "prefix proto port" → (encap, [(AS address, weight, buckets)] of live ASes).
pub type LbView = BTreeMap<String, (String, Vec<(String, u8, u32)>)>;

pub fn lb_view(lb: &LbState) -> LbView {
    let mut out: LbView = BTreeMap::new();
    for v in lb.vip_dump() {
        out.insert(
            format!(
                "{}/{} {} {}",
                v.key.prefix, v.key.len, v.key.protocol, v.key.port
            ),
            (format!("{:?}", v.encap), Vec::new()),
        );
    }
    let all = AsDumpFilter {
        raw_address: [0; 16],
        protocol: 0,
        port: 0,
    };
    for a in lb.as_v2_dump(&all) {
        if a.flags & 1 == 0 {
            continue;
        }
        let k = format!(
            "{}/{} {} {}",
            a.vip.prefix, a.vip.len, a.vip.protocol, a.vip.port
        );
        if let Some((_, ases)) = out.get_mut(&k) {
            ases.push((a.address.to_string(), a.weight, a.num_buckets));
        }
    }
    for (_, ases) in out.values_mut() {
        ases.sort();
    }
    out
}

/// Weights only: VIP → [(AS, weight)].
pub fn weights(sim: &SimHandle) -> BTreeMap<String, Vec<(String, u8)>> {
    sim.with_lb(|lb| {
        lb_view(lb)
            .into_iter()
            .map(|(k, (_, ases))| (k, ases.into_iter().map(|(a, w, _)| (a, w)).collect()))
            .collect()
    })
}

/// Names of the requests the simulator received, in order.
pub fn request_names(sim: &SimHandle) -> Vec<String> {
    sim.records().into_iter().map(|r| r.name).collect()
}

pub const WAIT: Duration = Duration::from_secs(10);
