//! The mutating lb calls — VIP add/delete, AS add/delete, weight changes,
//! flushes — with lb's checks in lb's order, so each returns the same
//! `retval` VPP would, and the new-flow table rebuild they trigger.
//!
//! lb rebuilds a VIP's Maglev table on every AS change. The model only marks
//! it stale and rebuilds it when something reads it (dump bucket counts, the
//! CLI, a packet): the table is a pure function of the VIP's in-use
//! (address, weight) set and its length, so a later rebuild gives exactly
//! the table lb would have built at the last change.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::net::IpAddr;

use super::pool::Pool;
use super::{rv, AsEntry, LbState, VipAdd, VipEntry, VipKey, VipType};
use crate::sim::ip46::Ip46;
use crate::sim::maglev::{self, Candidate};

/// Largest new-flow table the model builds (VPP has no limit but memory).
pub const MAX_TABLE_LEN: u32 = 1 << 22;

impl VipEntry {
    pub(crate) fn placeholder() -> VipEntry {
        VipEntry {
            prefix: Ip46([0xff; 16]),
            plen: 0,
            protocol: u8::MAX,
            port: 0,
            vip_type: VipType::Ip6Gre6,
            dscp_or_srv_type: 0,
            target_port: 0,
            used: true,
            src_ip_sticky: false,
            table_len: 1,
            new_flow_table: OnceCell::new(),
            as_indexes: Pool::default(),
            as_by_address: HashMap::new(),
            last_garbage_collection: 0,
            counters: [0; 4],
        }
    }

    /// Live VIP on the same (normalised) prefix and length.
    pub(crate) fn same_prefix(&self, prefix: Ip46, plen: u8) -> bool {
        self.used && self.plen == plen && self.prefix == prefix
    }

    pub(crate) fn prefix_is_ip4(&self) -> bool {
        self.plen >= 96 && self.prefix.is_ip4()
    }

    /// The key clients see in dumps (IPv4 length back to 0–32).
    pub(crate) fn key(&self) -> VipKey {
        let len = if self.prefix_is_ip4() {
            self.plen - 96
        } else {
            self.plen
        };
        VipKey {
            prefix: self.prefix.to_ip(),
            len,
            protocol: self.protocol,
            port: self.port,
        }
    }
}

impl LbState {
    /// `lb_add_del_vip_v2` with `is_del` 0.
    pub fn add_vip(&mut self, args: &VipAdd) -> i32 {
        let (prefix, plen) = args.key.internal_prefix();
        let protocol = args.key.effective_protocol();
        let port = args.key.port;
        let prefix_is_ip4 = plen >= 96 && prefix.is_ip4();
        let vip_type = VipType::derive(prefix_is_ip4, args.encap);

        let live_on_prefix = || self.live_on_prefix(prefix, plen);
        if live_on_prefix().any(|(_, v)| v.protocol == protocol && v.port == port) {
            return rv::VALUE_EXIST;
        }
        if port != 0 && live_on_prefix().any(|(_, v)| v.port == 0) {
            return rv::VALUE_EXIST;
        }
        let first_other_port = live_on_prefix()
            .find(|(_, v)| v.protocol != protocol || v.port != port)
            .map(|(_, v)| v.vip_type);
        if port == 0 && first_other_port.is_some() {
            return rv::VALUE_EXIST;
        }
        if port != 0 && first_other_port.is_some_and(|other| other != vip_type) {
            return rv::INVALID_ARGUMENT;
        }
        // lb accepts 0 here (is_pow2(0)) and then tries to allocate 2^32
        // buckets; the model refuses that, and tables beyond
        // MAX_TABLE_LEN, like any other bad length.
        let len = args.new_flows_table_length;
        if len == 0 || !super::is_pow2(len) || len > MAX_TABLE_LEN {
            return rv::INVALID_MEMORY_SIZE;
        }
        if prefix_is_ip4 != vip_type.is_ip4() {
            return rv::INVALID_ADDRESS_FAMILY;
        }
        // lb's "dscp >= 64 → VALUE_EXIST" check cannot fire through the API,
        // which masks dscp to six bits first.

        let (dscp_or_srv_type, target_port) = match vip_type {
            VipType::Ip4L3dsr => (args.dscp & 0x3f, 0),
            t if t.is_nat() => (args.srv_type, args.target_port),
            _ => (0, 0),
        };
        let index = self.vips.insert(VipEntry {
            prefix,
            plen,
            protocol,
            port,
            vip_type,
            dscp_or_srv_type,
            target_port,
            used: true,
            src_ip_sticky: args.src_ip_sticky,
            table_len: args.new_flows_table_length,
            new_flow_table: OnceCell::new(),
            as_indexes: Pool::default(),
            as_by_address: HashMap::new(),
            last_garbage_collection: self.now,
            counters: [0; 4],
        });
        let live = self.live_by_prefix.entry((prefix, plen)).or_default();
        let at = live.partition_point(|other| *other < index);
        live.insert(at, index);
        self.invalidate_new_flow_table(index);
        // Per-port VIPs on one prefix share one route.
        self.fib.reference(prefix, plen);
        rv::OK
    }

    /// `lb_add_del_vip_v2` with `is_del` 1. ASes still attached are marked
    /// removed (not flushed); the VIP stays in the pool, hidden from
    /// `lb_vip_dump`, until garbage collection.
    pub fn del_vip(&mut self, key: &VipKey) -> i32 {
        let Some(index) = self.vip_index(key) else {
            return rv::NO_SUCH_ENTRY;
        };
        let addresses: Vec<Ip46> = self.as_addresses(index);
        if !addresses.is_empty() {
            self.del_ass(index, &addresses, false);
        }
        if let Some(vip) = self.vips.get_mut(index) {
            vip.used = false;
            let (prefix, plen) = (vip.prefix, vip.plen);
            self.release_route(prefix, plen);
            if let Some(live) = self.live_by_prefix.get_mut(&(prefix, plen)) {
                live.retain(|other| *other != index);
                if live.is_empty() {
                    self.live_by_prefix.remove(&(prefix, plen));
                }
            }
        }
        rv::OK
    }

    /// `lb_add_del_as_v2` with `is_del` 0.
    pub fn add_as(&mut self, key: &VipKey, address: IpAddr, weight: u8, flush: bool) -> i32 {
        let Some(vip_index) = self.vip_index(key) else {
            return rv::NO_SUCH_ENTRY;
        };
        let address = Ip46::from_ip(address);
        if let Some(as_index) = self.find_as(vip_index, address) {
            let Some(entry) = self.ass.get_mut(as_index) else {
                return rv::NO_SUCH_ENTRY;
            };
            if entry.used {
                return rv::VALUE_EXIST;
            }
            // Re-adding before GC revives the old entry (last_used kept).
            entry.used = true;
            entry.weight = weight;
            if flush {
                self.flush_entries(Some(vip_index), Some(as_index));
            }
        } else {
            let Some(vip) = self.vips.get(vip_index) else {
                return rv::NO_SUCH_ENTRY;
            };
            if address.is_ip4() != vip.vip_type.encap_is_ip4() {
                return rv::INVALID_ADDRESS_FAMILY;
            }
            let dpo = self.fib.reference(address, 128);
            let as_index = self.ass.insert(AsEntry {
                address,
                vip_index,
                used: true,
                weight,
                last_used: 0,
                dpo,
            });
            if let Some(vip) = self.vips.get_mut(vip_index) {
                vip.as_indexes.insert(as_index);
                vip.as_by_address.insert(address, as_index);
            }
        }
        self.invalidate_new_flow_table(vip_index);
        self.vip_garbage_collection(vip_index);
        rv::OK
    }

    /// `lb_add_del_as_v2` with `is_del` 1. Deleting an already removed AS
    /// succeeds again (and restarts its GC clock).
    pub fn del_as(&mut self, key: &VipKey, address: IpAddr, flush: bool) -> i32 {
        let Some(vip_index) = self.vip_index(key) else {
            return rv::NO_SUCH_ENTRY;
        };
        let address = Ip46::from_ip(address);
        if self.find_as(vip_index, address).is_none() {
            return rv::NO_SUCH_ENTRY;
        }
        self.del_ass(vip_index, &[address], flush);
        rv::OK
    }

    /// `lb_as_set_weight`. Weights are not range-checked; a removed AS is
    /// "no such entry".
    pub fn set_weight(&mut self, key: &VipKey, address: IpAddr, weight: u8, flush: bool) -> i32 {
        let Some(vip_index) = self.vip_index(key) else {
            return rv::NO_SUCH_ENTRY;
        };
        let address = Ip46::from_ip(address);
        let Some(as_index) = self.find_as(vip_index, address) else {
            return rv::NO_SUCH_ENTRY;
        };
        match self.ass.get_mut(as_index) {
            Some(entry) if entry.used => entry.weight = weight,
            _ => return rv::NO_SUCH_ENTRY,
        }
        self.invalidate_new_flow_table(vip_index);
        if flush {
            self.flush_entries(Some(vip_index), Some(as_index));
        }
        rv::OK
    }

    /// `lb_flush_vip`: drops the VIP's sticky entries. The handler ignores
    /// the lookup result, so it answers 0 even for an unknown VIP (and then
    /// flushes an uninitialised index in VPP; nothing here).
    pub fn flush_vip(&mut self, key: &VipKey) -> i32 {
        if let Some(vip_index) = self.vip_index(key) {
            self.flush_entries(Some(vip_index), None);
        }
        rv::OK
    }

    fn as_addresses(&self, vip_index: usize) -> Vec<Ip46> {
        let Some(vip) = self.vips.get(vip_index) else {
            return Vec::new();
        };
        vip.as_indexes
            .iter()
            .filter_map(|(_, as_index)| self.ass.get(*as_index).map(|a| a.address))
            .collect()
    }

    /// `lb_vip_del_ass_withlock` for addresses known to exist.
    fn del_ass(&mut self, vip_index: usize, addresses: &[Ip46], flush: bool) {
        let indexes: Vec<usize> = addresses
            .iter()
            .filter_map(|address| self.find_as(vip_index, *address))
            .collect();
        self.vip_garbage_collection(vip_index);
        for as_index in &indexes {
            if let Some(entry) = self.ass.get_mut(*as_index) {
                entry.used = false;
                entry.last_used = self.now;
            }
            if flush {
                self.flush_entries(Some(vip_index), Some(*as_index));
            }
        }
        if !indexes.is_empty() {
            self.invalidate_new_flow_table(vip_index);
        }
    }

    /// `lb_vip_update_new_flow_table`, deferred: the next reader rebuilds.
    pub(crate) fn invalidate_new_flow_table(&mut self, vip_index: usize) {
        if let Some(vip) = self.vips.get_mut(vip_index) {
            vip.new_flow_table.take();
        }
    }

    /// The VIP's current new-flow table, built on first use after a change.
    pub(crate) fn new_flow_table<'a>(&self, vip: &'a VipEntry) -> &'a FlowTable {
        vip.new_flow_table
            .get_or_init(|| self.build_new_flow_table(vip))
    }

    fn build_new_flow_table(&self, vip: &VipEntry) -> FlowTable {
        let members: Vec<(usize, Candidate)> = vip
            .as_indexes
            .iter()
            .filter_map(|(_, as_index)| {
                let entry = self.ass.get(*as_index)?;
                entry.used.then_some((
                    *as_index,
                    Candidate {
                        address: entry.address,
                        weight: entry.weight,
                    },
                ))
            })
            .collect();
        let candidates: Vec<Candidate> = members.iter().map(|(_, c)| *c).collect();
        let owners: Vec<usize> = match maglev::build_table(&candidates, vip.table_len) {
            Ok(table) => table
                .into_iter()
                .map(|owner| {
                    owner
                        .and_then(|i| members.get(i))
                        .map_or(0, |(as_index, _)| *as_index)
                })
                .collect(),
            // Lengths are validated when the VIP is added.
            Err(_) => vec![0; vip.table_len as usize],
        };
        let mut buckets: HashMap<usize, u32> = HashMap::with_capacity(members.len());
        for owner in &owners {
            *buckets.entry(*owner).or_default() += 1;
        }
        FlowTable { owners, buckets }
    }

    /// Buckets per AS pool index in a VIP's new-flow table.
    pub(crate) fn bucket_count(&self, vip: &VipEntry, as_index: usize) -> u32 {
        self.new_flow_table(vip)
            .buckets
            .get(&as_index)
            .copied()
            .unwrap_or(0)
    }
}

/// A built new-flow table and its per-AS bucket counts (what dumps and the
/// CLI print, counted once per build rather than once per AS).
#[derive(Clone, Debug, Default)]
pub(crate) struct FlowTable {
    /// Bucket → AS pool index (0 = placeholder).
    pub(crate) owners: Vec<usize>,
    buckets: HashMap<usize, u32>,
}
