//! The lb plugin's control-plane state and API semantics, as a pure model:
//! VIPs and ASes in lb-style pools, the return codes of each API call, the
//! Maglev new-flow tables, lazy removal with garbage collection, the dumps
//! (quirks included) and `show lb vips [verbose]`. The wire layer maps API
//! messages to these calls; nothing here knows about bytes or sockets.
//!
//! Time comes in through [`LbState::tick`] (VPP uptime in whole seconds).
//! Ground truth: lb.c/api.c/cli.c/node.c of VPP b575ec2c56d and the captured
//! transcripts (tests/fixtures/vpp-api).

mod cli;
mod dump;
mod fib;
mod gc;
mod pool;
mod traffic;
mod types;
mod vip;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_replay;

use std::collections::HashMap;

use self::fib::Fib;
use self::pool::Pool;
use self::traffic::StickyTable;
use super::ip46::Ip46;

pub use self::dump::{AsDetails, AsDumpFilter, VipDetails};
pub use self::fib::FRESH_VPP_LOAD_BALANCES;
pub use self::traffic::{Counter, Packet, PacketOutcome};
pub use self::types::{Encap, LbConf, VipAdd, VipKey, VipType};

/// `VNET_API_ERROR_*` values lb returns.
pub mod rv {
    pub const OK: i32 = 0;
    pub const NO_SUCH_ENTRY: i32 = -6;
    pub const INVALID_MEMORY_SIZE: i32 = -70;
    pub const INVALID_ARGUMENT: i32 = -73;
    pub const VALUE_EXIST: i32 = -81;
    pub const INVALID_ADDRESS_FAMILY: i32 = -97;
}

/// `LB_GARBAGE_RUN`: per-VIP collection at most this often, and the period
/// of lb's gc process.
const GARBAGE_RUN_SECS: u32 = 60;
/// `LB_CONCURRENCY_TIMEOUT`: a removed AS is kept at least this long.
const CONCURRENCY_TIMEOUT_SECS: u32 = 10;

/// One application server entry (`lb_as_t`). Index 0 of the AS pool is lb's
/// placeholder ("no AS", drop) and is never attached to a VIP.
#[derive(Clone, Debug)]
pub(crate) struct AsEntry {
    pub(crate) address: Ip46,
    pub(crate) vip_index: usize,
    pub(crate) used: bool,
    pub(crate) weight: u8,
    /// Uptime at the last removal (`in_use_since` in the dumps).
    pub(crate) last_used: u32,
    /// Load-balance index of the AS's next-hop FIB entry (`dpo:N`).
    pub(crate) dpo: u32,
}

/// One VIP (`lb_vip_t`). Index 0 is lb's hidden placeholder.
#[derive(Clone, Debug)]
pub(crate) struct VipEntry {
    pub(crate) prefix: Ip46,
    /// Internal length: IPv4 prefixes count from 96.
    pub(crate) plen: u8,
    pub(crate) protocol: u8,
    pub(crate) port: u16,
    pub(crate) vip_type: VipType,
    /// `encap_args` byte 0: the L3DSR dscp or the NAT service type (a union
    /// in lb, so both read the same byte).
    pub(crate) dscp_or_srv_type: u8,
    /// NAT target port, host order (lb stores it swapped, see dump.rs).
    pub(crate) target_port: u16,
    pub(crate) used: bool,
    pub(crate) src_ip_sticky: bool,
    pub(crate) table_len: u32,
    /// Bucket → AS pool index; empty until read after a change (see vip.rs).
    pub(crate) new_flow_table: std::cell::OnceCell<vip::FlowTable>,
    /// This VIP's AS list: a pool of AS pool indexes.
    pub(crate) as_indexes: Pool<usize>,
    /// AS pool index per address in `as_indexes` (addresses are unique
    /// within a VIP), so lookups do not scan the AS list.
    pub(crate) as_by_address: HashMap<Ip46, usize>,
    pub(crate) last_garbage_collection: u32,
    pub(crate) counters: [u64; 4],
}

/// The whole lb plugin state (`lb_main_t`), single worker.
#[derive(Clone, Debug)]
pub struct LbState {
    pub(crate) conf: LbConf,
    pub(crate) vips: Pool<VipEntry>,
    pub(crate) ass: Pool<AsEntry>,
    /// `as_refcount`: sticky-table entries per AS pool index (`flows:`).
    pub(crate) as_refcount: HashMap<usize, i64>,
    pub(crate) sticky: StickyTable,
    pub(crate) fib: Fib,
    /// Live VIP indexes per (prefix, internal length), ascending (pool
    /// order), so VIP lookups do not scan every VIP.
    pub(crate) live_by_prefix: HashMap<(Ip46, u8), Vec<usize>>,
    /// Moves whenever a counter the stats segment shows may have changed.
    pub(crate) stats_generation: u64,
    pub(crate) now: u32,
    next_gc_process_run: u32,
}

impl Default for LbState {
    fn default() -> Self {
        LbState::new(FRESH_VPP_LOAD_BALANCES)
    }
}

impl LbState {
    /// A freshly started lb. `preallocated_load_balances` is how many FIB
    /// load-balance objects VPP used before lb ([`FRESH_VPP_LOAD_BALANCES`]
    /// for the captured VPP); it only shifts `dpo:N` and route stats indexes.
    pub fn new(preallocated_load_balances: u32) -> LbState {
        let mut vips = Pool::default();
        let placeholder = VipEntry::placeholder();
        let placeholder_key = (placeholder.prefix, placeholder.plen);
        let placeholder_index = vips.insert(placeholder);
        let live_by_prefix = HashMap::from([(placeholder_key, vec![placeholder_index])]);
        let mut ass = Pool::default();
        ass.insert(AsEntry {
            address: Ip46([0xff; 16]),
            vip_index: usize::MAX,
            used: false,
            weight: 0,
            last_used: 0,
            dpo: 0,
        });
        LbState {
            conf: LbConf::default(),
            vips,
            ass,
            as_refcount: HashMap::new(),
            sticky: StickyTable::default(),
            fib: Fib::new(preallocated_load_balances),
            live_by_prefix,
            stats_generation: 0,
            now: 0,
            next_gc_process_run: GARBAGE_RUN_SECS,
        }
    }

    /// Advances VPP uptime (whole seconds) and runs lb's gc process if its
    /// 60-second timer has expired. Call before handling each request.
    pub fn tick(&mut self, now_secs: u32) {
        self.now = now_secs;
        if now_secs >= self.next_gc_process_run {
            self.garbage_collection();
            self.next_gc_process_run = now_secs.saturating_add(GARBAGE_RUN_SECS);
        }
    }

    /// `lb_conf`. `u32::MAX` keeps the current sticky-bucket count or flow
    /// timeout, as the API handler does.
    pub fn conf(
        &mut self,
        ip4_src: std::net::Ipv4Addr,
        ip6_src: std::net::Ipv6Addr,
        sticky_buckets_per_core: u32,
        flow_timeout: u32,
    ) -> i32 {
        let buckets = if sticky_buckets_per_core == u32::MAX {
            self.conf.sticky_buckets_per_core
        } else {
            sticky_buckets_per_core
        };
        let timeout = if flow_timeout == u32::MAX {
            self.conf.flow_timeout
        } else {
            flow_timeout
        };
        if !is_pow2(buckets) {
            return rv::INVALID_MEMORY_SIZE;
        }
        self.conf = LbConf {
            ip4_src,
            ip6_src,
            sticky_buckets_per_core: buckets,
            flow_timeout: timeout,
        };
        rv::OK
    }

    /// `lb_conf_get`.
    pub fn conf_get(&self) -> LbConf {
        self.conf
    }

    /// lb's VIP pool index for a live VIP (the `[n]` of the CLI and the
    /// column of the stats counters).
    pub fn vip_index(&self, key: &VipKey) -> Option<usize> {
        let (prefix, plen) = key.internal_prefix();
        self.find_vip(prefix, plen, key.effective_protocol(), key.port)
    }

    /// The four counters of a VIP index (placeholder 0 included), in stats
    /// order: existing sessions, first packet, untracked, no server.
    pub fn vip_counters(&self, vip_index: usize) -> Option<[u64; 4]> {
        self.vips.get(vip_index).map(|vip| vip.counters)
    }

    /// One past the highest VIP index ever used: the length of lb's VIP
    /// counter vectors in the stats segment.
    pub fn vip_index_bound(&self) -> usize {
        self.vips.slot_count()
    }

    /// `/net/route/to` of a route `stats_index`: (packets, bytes). Only lb's
    /// VIP routes carry traffic in the model.
    pub fn route_counters(&self, stats_index: u32) -> (u64, u64) {
        self.fib.to_counter(stats_index)
    }

    /// One past the highest route `stats_index` ever used: the length of
    /// `/net/route/to` in the stats segment.
    pub fn route_stats_index_bound(&self) -> usize {
        self.fib.index_bound()
    }

    /// Changes whenever a VIP or route counter may have changed (traffic,
    /// a VIP or route freed); equal values mean the counters are as they
    /// were, so the simulator's stats segment skips rewriting them.
    pub fn stats_generation(&self) -> u64 {
        self.stats_generation
    }

    /// Drops a reference to an lb FIB entry; a freed route loses its
    /// counters.
    pub(crate) fn release_route(&mut self, prefix: Ip46, plen: u8) {
        self.fib.release(prefix, plen);
        self.stats_generation = self.stats_generation.wrapping_add(1);
    }

    /// `stats_index` of an lb-created FIB entry, as `ip_route_lookup` with
    /// `exact` reports it; `None` is the -6 of a missing route.
    pub fn route_stats_index(&self, prefix: std::net::IpAddr, len: u8) -> Option<u32> {
        let key = VipKey {
            prefix,
            len,
            protocol: 0,
            port: 0,
        };
        let (prefix, plen) = key.internal_prefix();
        self.fib.lookup(prefix, plen)
    }

    /// `lb_vip_port_find_index(.., LB_LKP_SAME_IP_PORT)` over live VIPs.
    pub(crate) fn find_vip(
        &self,
        prefix: Ip46,
        plen: u8,
        protocol: u8,
        port: u16,
    ) -> Option<usize> {
        self.live_on_prefix(prefix, plen)
            .find(|(_, vip)| vip.protocol == protocol && vip.port == port)
            .map(|(index, _)| index)
    }

    /// Live VIPs on exactly this prefix, in pool order.
    pub(crate) fn live_on_prefix(
        &self,
        prefix: Ip46,
        plen: u8,
    ) -> impl Iterator<Item = (usize, &VipEntry)> {
        self.live_by_prefix
            .get(&(prefix, plen))
            .into_iter()
            .flatten()
            .filter_map(|index| self.vips.get(*index).map(|vip| (*index, vip)))
            .filter(move |(_, vip)| vip.same_prefix(prefix, plen))
    }

    /// `lb_as_find_index_vip`: the VIP's entry for an address, removed or not.
    pub(crate) fn find_as(&self, vip_index: usize, address: Ip46) -> Option<usize> {
        let vip = self.vips.get(vip_index)?;
        let as_index = *vip.as_by_address.get(&address)?;
        self.ass
            .get(as_index)
            .is_some_and(|entry| entry.vip_index == vip_index && entry.address == address)
            .then_some(as_index)
    }
}

/// vppinfra's `is_pow2`, which also accepts 0.
pub(crate) fn is_pow2(value: u32) -> bool {
    value & value.wrapping_sub(1) == 0
}

/// `clib_u32_loop_gt`: despite the name, true for equal values too.
pub(crate) fn loop_gt(a: u32, b: u32) -> bool {
    a.wrapping_sub(b) < 0x7fff_ffff
}
