//! The data path as far as the control plane can see it: which VIP a packet
//! hits, the per-worker sticky flow table (`lbhash.h`: 4 entries per bucket,
//! flow-timeout expiry, SSE4.2 lookup semantics), the four per-VIP counters
//! and the per-AS flow references shown as `flows:`.
//!
//! The flow hash is lb's `lb_hash_hash` on x86-64 (CRC32C over five u64
//! words, initial value 0, no final inversion), so a modelled flow lands in
//! the same new-flow bucket, and on the same AS, as in VPP (checked against
//! the captured after-traffic `flows:` values). One worker; the route lookup
//! is a longest-prefix match over lb's own VIP routes.

use std::collections::HashMap;
use std::net::IpAddr;

use super::LbState;
use crate::sim::ip46::Ip46;

const ENTRIES_PER_BUCKET: usize = 4;
/// `lb_hash_time_now` adds this to the uptime.
const HASH_TIME_OFFSET: u32 = 10_000;
const IP_PROTOCOL_TCP: u8 = 6;
const IP_PROTOCOL_UDP: u8 = 17;

/// The per-VIP counters, in lb's (and the stats segment's) order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// "packet from existing sessions"
    NextPacket = 0,
    /// "first session packet"
    FirstPacket = 1,
    /// "untracked packet" (sticky bucket full)
    UntrackedPacket = 2,
    /// "no server configured"
    NoServer = 3,
}

impl Counter {
    pub const ALL: [Counter; 4] = [
        Counter::NextPacket,
        Counter::FirstPacket,
        Counter::UntrackedPacket,
        Counter::NoServer,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Counter::NextPacket => "packet from existing sessions",
            Counter::FirstPacket => "first session packet",
            Counter::UntrackedPacket => "untracked packet",
            Counter::NoServer => "no server configured",
        }
    }
}

/// `Packet::tcp`'s size: the captured packet-generator streams sent 64-byte
/// IPv4 and 80-byte IPv6 packets, and `/net/route/to` counted exactly that.
const DEFAULT_BYTES_IP4: u32 = 64;
const DEFAULT_BYTES_IP6: u32 = 80;

/// A packet's 5-tuple, enough for lb's lookup and hash, and its size (the
/// bytes `/net/route/to` adds up).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub protocol: u8,
    pub src_port: u16,
    pub dst_port: u16,
    pub bytes: u32,
}

impl Packet {
    /// A TCP packet of the captured streams' size (64 B IPv4, 80 B IPv6).
    pub fn tcp(src: IpAddr, src_port: u16, dst: IpAddr, dst_port: u16) -> Packet {
        Packet {
            src,
            dst,
            protocol: IP_PROTOCOL_TCP,
            src_port,
            dst_port,
            bytes: if dst.is_ipv4() {
                DEFAULT_BYTES_IP4
            } else {
                DEFAULT_BYTES_IP6
            },
        }
    }

    /// The same packet with another size.
    pub fn with_bytes(self, bytes: u32) -> Packet {
        Packet { bytes, ..self }
    }
}

/// What lb did with one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketOutcome {
    /// No lb route for the destination (or address families differ).
    NotForLb,
    /// Counted on `vip_index`; `as_address` is where it was sent (`None`:
    /// dropped by the placeholder AS).
    Counted {
        vip_index: usize,
        counter: Counter,
        as_address: Option<Ip46>,
    },
}

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    hash: u32,
    timeout: u32,
    vip: u32,
    value: u32,
}

/// One worker's sticky table; buckets are created on first touch.
#[derive(Clone, Debug, Default)]
pub(crate) struct StickyTable {
    n_buckets: u32,
    buckets: HashMap<u32, [Slot; ENTRIES_PER_BUCKET]>,
}

/// `clib_crc32c_u64`: CRC32C (Castagnoli, reflected) of 8 little-endian
/// bytes, starting from `crc`, without the usual pre/post inversion.
fn crc32c_u64(mut crc: u32, value: u64) -> u32 {
    for byte in value.to_le_bytes() {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82f6_3b78
            } else {
                crc >> 1
            };
        }
    }
    crc
}

fn lb_hash_hash(words: [u64; 5]) -> u32 {
    words.iter().fold(0, |crc, word| crc32c_u64(crc, *word))
}

/// `lb_node_get_hash`. Ports are the two network-order u16 fields as a
/// little-endian host loads them.
fn flow_hash(packet: &Packet, src_ip_sticky: bool) -> u32 {
    let ports = if packet.protocol == IP_PROTOCOL_TCP || packet.protocol == IP_PROTOCOL_UDP {
        (u64::from(packet.src_port.swap_bytes()) << 16) | u64::from(packet.dst_port.swap_bytes())
    } else {
        0
    };
    let ports = if src_ip_sticky { 0 } else { ports };
    match (packet.src, packet.dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            let mut pair = [0u8; 8];
            pair[..4].copy_from_slice(&src.octets());
            pair[4..].copy_from_slice(&dst.octets());
            lb_hash_hash([u64::from_le_bytes(pair), ports, 0, 0, 0])
        }
        _ => {
            let (s0, s1) = Ip46::from_ip(packet.src).words_le();
            let (d0, d1) = Ip46::from_ip(packet.dst).words_le();
            lb_hash_hash([s0, s1, d0, d1, ports])
        }
    }
}

impl LbState {
    /// Runs packets through lb at the current uptime.
    pub fn inject_traffic(&mut self, packets: &[Packet]) -> Vec<PacketOutcome> {
        packets.iter().map(|packet| self.inject(packet)).collect()
    }

    /// One packet through `lb_node_fn`.
    pub fn inject(&mut self, packet: &Packet) -> PacketOutcome {
        let Some((route, vip_index)) = self.vip_for_packet(packet) else {
            return PacketOutcome::NotForLb;
        };
        // ip4/ip6-lookup counts the route before lb sees the packet, so a
        // packet for an unknown port on a per-port prefix counts too.
        self.fib.count(route, packet.bytes);
        self.stats_generation = self.stats_generation.wrapping_add(1);
        self.refresh_sticky_table();
        let Some(vip) = self.vips.get(vip_index) else {
            return PacketOutcome::NotForLb;
        };
        let hash = flow_hash(packet, vip.src_ip_sticky);
        let owners = &self.new_flow_table(vip).owners;
        let mask = owners.len().saturating_sub(1);
        let new_flow_owner = owners.get(hash as usize & mask).copied().unwrap_or(0);
        let now = self.now.wrapping_add(HASH_TIME_OFFSET);
        let timeout = self.conf.flow_timeout;
        let bucket_index = hash & self.sticky.n_buckets.wrapping_sub(1);
        let bucket = self.sticky.buckets.entry(bucket_index).or_default();
        let alive = |slot: &Slot| (slot.timeout as i32) > (now as i32);
        let available = bucket.iter().position(|slot| !alive(slot));
        let found = bucket
            .iter()
            .position(|slot| alive(slot) && slot.hash == hash && slot.vip == vip_index as u32);
        let mut found_value = 0;
        if let Some(slot) = found.and_then(|i| bucket.get_mut(i)) {
            found_value = slot.value as usize;
            slot.timeout = now.wrapping_add(timeout);
        }
        let (counter, as_index) = if found_value != 0 {
            (Counter::NextPacket, found_value)
        } else if let Some(slot) = available.and_then(|i| bucket.get_mut(i)) {
            let previous = slot.value as usize;
            *slot = Slot {
                hash,
                timeout: now.wrapping_add(timeout),
                vip: vip_index as u32,
                value: new_flow_owner as u32,
            };
            *self.as_refcount.entry(previous).or_default() -= 1;
            *self.as_refcount.entry(new_flow_owner).or_default() += 1;
            let counter = if new_flow_owner == 0 {
                Counter::NoServer
            } else {
                Counter::FirstPacket
            };
            (counter, new_flow_owner)
        } else {
            (Counter::UntrackedPacket, new_flow_owner)
        };
        if let Some(vip) = self.vips.get_mut(vip_index) {
            vip.counters[counter as usize] += 1;
        }
        let as_address = (as_index != 0)
            .then(|| self.ass.get(as_index).map(|a| a.address))
            .flatten();
        PacketOutcome::Counted {
            vip_index,
            counter,
            as_address,
        }
    }

    /// Sticky entries currently pointing at an AS (`flows:`).
    pub(crate) fn flows(&self, as_index: usize) -> i64 {
        self.as_refcount.get(&as_index).copied().unwrap_or(0)
    }

    /// `lb_flush_vip_as`: `None` matches every VIP / every AS.
    pub(crate) fn flush_entries(&mut self, vip_index: Option<usize>, as_index: Option<usize>) {
        for bucket in self.sticky.buckets.values_mut() {
            for slot in bucket.iter_mut() {
                let vip_matches = vip_index.map_or(true, |v| slot.vip == v as u32);
                let as_matches = as_index.map_or(true, |a| slot.value == a as u32);
                if vip_matches && as_matches {
                    *self.as_refcount.entry(slot.value as usize).or_default() -= 1;
                    *self.as_refcount.entry(0).or_default() += 1;
                    slot.vip = u32::MAX;
                    slot.value = 0;
                }
            }
        }
    }

    /// `lb_get_sticky_table`: a changed bucket count drops the whole table.
    fn refresh_sticky_table(&mut self) {
        if self.sticky.n_buckets != self.conf.sticky_buckets_per_core {
            for bucket in self.sticky.buckets.values() {
                for slot in bucket {
                    *self.as_refcount.entry(slot.value as usize).or_default() -= 1;
                    *self.as_refcount.entry(0).or_default() += 1;
                }
            }
            self.sticky = StickyTable {
                n_buckets: self.conf.sticky_buckets_per_core,
                buckets: HashMap::new(),
            };
        }
    }

    /// The FIB lookup (longest lb route covering the destination), then the
    /// per-port filter: a per-port prefix without a VIP for this protocol
    /// and port goes to the placeholder VIP 0. Returns the route's
    /// load-balance index with the VIP.
    fn vip_for_packet(&self, packet: &Packet) -> Option<(u32, usize)> {
        let dst = Ip46::from_ip(packet.dst);
        let (_, best) = self
            .vips
            .iter()
            .filter(|(index, vip)| {
                *index != 0
                    && vip.used
                    && vip.prefix_is_ip4() == packet.dst.is_ipv4()
                    && dst.normalized(vip.plen) == vip.prefix
            })
            .max_by_key(|(_, vip)| vip.plen)?;
        let route = self.fib.lookup(best.prefix, best.plen)?;
        if best.port == 0 {
            return self
                .find_vip(best.prefix, best.plen, u8::MAX, 0)
                .map(|vip| (route, vip));
        }
        let vip = self
            .find_vip(best.prefix, best.plen, packet.protocol, packet.dst_port)
            .unwrap_or(0);
        Some((route, vip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_standard_check_value() {
        // The standard CRC-32C check: "123456789" with init and final
        // inversion gives 0xe3069283. Feed it through the u64 step plus a
        // byte tail computed the same way to validate polynomial and order.
        let data = b"123456789";
        let mut word = [0u8; 8];
        word.copy_from_slice(&data[..8]);
        let mut crc = crc32c_u64(0xffff_ffff, u64::from_le_bytes(word));
        crc ^= u32::from(data[8]);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82f6_3b78
            } else {
                crc >> 1
            };
        }
        assert_eq!(!crc, 0xe306_9283);
    }
}
