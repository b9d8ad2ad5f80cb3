//! Builders shared by the planner tests.

use std::net::IpAddr;

use super::*;

pub fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

pub fn key(addr: &str, protocol: u8, port: u16) -> VipKey {
    VipKey::host(ip(addr), protocol, port)
}

/// (address, weight, flush, epoch)
pub fn desired(
    k: VipKey,
    encap: Encap,
    sticky: bool,
    ases: &[(&str, u8, bool, u64)],
) -> DesiredVip {
    let mut vip = DesiredVip::new(k, encap, sticky);
    for (addr, weight, flush, flush_epoch) in ases {
        vip.insert_as(
            ip(addr),
            DesiredAs {
                weight: *weight,
                flush: *flush,
                flush_epoch: *flush_epoch,
            },
        );
    }
    vip
}

pub fn current(k: VipKey, encap: Encap, sticky: Option<bool>, ases: &[(&str, u8)]) -> CurrentVip {
    CurrentVip {
        key: k,
        encap,
        src_ip_sticky: sticky,
        ases: ases
            .iter()
            .map(|(addr, weight)| (ip(addr), CurrentAs { weight: *weight }))
            .collect(),
    }
}

pub fn add_vip(k: VipKey, encap: Encap, sticky: bool) -> LbCall {
    LbCall::AddVip {
        key: k,
        encap,
        src_ip_sticky: sticky,
    }
}

pub fn add(k: VipKey, addr: &str, weight: u8) -> LbCall {
    LbCall::AddAs {
        key: k,
        addr: ip(addr),
        weight,
    }
}

pub fn del(k: VipKey, addr: &str) -> LbCall {
    LbCall::DelAs {
        key: k,
        addr: ip(addr),
        flush: true,
    }
}

pub fn set(k: VipKey, addr: &str, weight: u8, flush: bool) -> LbCall {
    LbCall::SetWeight {
        key: k,
        addr: ip(addr),
        weight,
        flush,
    }
}

/// Small deterministic xorshift shuffle.
pub fn shuffle<T>(items: &mut [T], seed: &mut u64) {
    for i in (1..items.len()).rev() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        items.swap(i, (*seed % (i as u64 + 1)) as usize);
    }
}
