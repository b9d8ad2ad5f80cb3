//! `lb_vip_dump`, `lb_as_v2_dump` and `lb_conf_get` as VPP answers them,
//! including what they get wrong: the VIP dump ignores its filter and
//! truncates the table length to u16; the AS dump's filter compares the raw
//! 16 API address bytes with lb's internal form (so an IPv4 VIP only matches
//! when written as `::a.b.c.d`), and removed ASes and the ASes of removed
//! VIPs are listed with flags 0.

use std::net::IpAddr;

use super::{Encap, LbState, VipKey};
use crate::sim::ip46::Ip46;

/// One `lb_vip_details`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VipDetails {
    pub key: VipKey,
    pub encap: Encap,
    pub dscp: u8,
    pub srv_type: u8,
    /// As a client decodes it: lb stores the NAT target port in network
    /// order and the handler swaps it again, so the value arrives swapped.
    pub target_port: u16,
    /// `u16` on the wire: 65536 reads as 0.
    pub flow_table_length: u16,
}

/// One `lb_as_v2_details`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AsDetails {
    pub vip: VipKey,
    pub address: IpAddr,
    /// Bit 0: in use. 0 for removed ASes and for ASes of removed VIPs.
    pub flags: u8,
    /// Uptime (s) at the last removal; 0 if never removed.
    pub in_use_since: u32,
    pub weight: u8,
    pub num_buckets: u32,
}

/// The filter of `lb_as_v2_dump` as it arrives on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AsDumpFilter {
    /// The 16 bytes of the request's address union (IPv4: bytes 0–3).
    pub raw_address: [u8; 16],
    pub protocol: u8,
    pub port: u16,
}

impl AsDumpFilter {
    /// All-zero address: every VIP.
    pub fn all() -> AsDumpFilter {
        AsDumpFilter {
            raw_address: [0; 16],
            protocol: 0,
            port: 0,
        }
    }

    /// The union bytes a client produces for `address`: IPv4 in bytes 0–3,
    /// which is why IPv4 filters never match (lb has it in bytes 12–15).
    pub fn for_address(address: IpAddr, protocol: u8, port: u16) -> AsDumpFilter {
        let mut raw_address = [0u8; 16];
        match address {
            IpAddr::V4(v4) => raw_address[..4].copy_from_slice(&v4.octets()),
            IpAddr::V6(v6) => raw_address = v6.octets(),
        }
        AsDumpFilter {
            raw_address,
            protocol,
            port,
        }
    }

    fn dump_all(&self) -> bool {
        self.raw_address.iter().all(|b| *b == 0)
    }
}

impl LbState {
    /// `lb_vip_dump`: every live VIP in pool order; the request's filter
    /// fields are ignored by VPP, so there are none here.
    pub fn vip_dump(&self) -> Vec<VipDetails> {
        self.vips
            .iter()
            .filter(|(index, vip)| *index != 0 && vip.used)
            .map(|(_, vip)| VipDetails {
                key: vip.key(),
                encap: vip.vip_type.api_encap(),
                dscp: vip.dscp_or_srv_type,
                srv_type: vip.dscp_or_srv_type,
                target_port: vip.target_port.swap_bytes(),
                flow_table_length: vip.table_len as u16,
            })
            .collect()
    }

    /// `lb_as_v2_dump`: per VIP in pool order (removed VIPs included), its
    /// ASes in AS-list order.
    pub fn as_v2_dump(&self, filter: &AsDumpFilter) -> Vec<AsDetails> {
        let wanted = Ip46(filter.raw_address);
        let mut out = Vec::new();
        for (_, vip) in self.vips.iter() {
            let matches = filter.dump_all()
                || (wanted == vip.prefix
                    && filter.protocol == vip.protocol
                    && filter.port == vip.port);
            if !matches {
                continue;
            }
            let key = vip.key();
            for (_, as_index) in vip.as_indexes.iter() {
                let Some(entry) = self.ass.get(*as_index) else {
                    continue;
                };
                out.push(AsDetails {
                    vip: key,
                    address: entry.address.to_ip(),
                    flags: u8::from(entry.used),
                    in_use_since: entry.last_used,
                    weight: entry.weight,
                    num_buckets: self.bucket_count(vip, *as_index),
                });
            }
        }
        out
    }
}
