//! What VPP should hold, derived from the config and the health states
//! (spec/dataplane.md §4): one VIP per frontend, its encap from the backends'
//! family, its ASes with the effective weights and flush flags of
//! `crate::weights`.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::config::{Config, Frontend};
use crate::vpp::sync::{DesiredAs, DesiredVip, Encap, VipKey};
use crate::vpp::wire::lb::LbConf;
use crate::weights;

use super::checker::Checker;

pub fn vip_key(f: &Frontend) -> VipKey {
    VipKey::host(f.address, f.protocol.number(), f.port)
}

/// The desired VIP of one frontend.
pub fn vip(cfg: &Config, frontend: &str, checker: &Checker) -> Option<DesiredVip> {
    let f = cfg.frontends.get(frontend)?;
    // Validation guarantees one backend family per frontend.
    let encap = f
        .backend_names()
        .find_map(|b| cfg.backends.get(b))
        .map(|b| Encap::for_backend(b.address))
        .unwrap_or(Encap::Gre4);
    let mut d = DesiredVip::new(vip_key(f), encap, f.src_ip_sticky);
    let w = weights::evaluate(f, |b| checker.state_of(b));
    for m in w.desired() {
        // One name lookup per AS: the checker's slot carries the address
        // (kept equal to the config's) and the flush epoch. This runs on
        // every state change, between the probe result and the VPP call.
        let (address, epoch) = match checker.get(&m.backend) {
            Some(s) => (s.address, s.health.transitions()),
            None => match cfg.backends.get(m.backend.as_str()) {
                Some(b) => (b.address, 0),
                None => continue,
            },
        };
        let entry = DesiredAs {
            weight: m.effective.weight,
            flush: m.effective.flush,
            flush_epoch: epoch,
        };
        // A backend listed in several pools maps to one AS; the listing with
        // traffic wins.
        match d.ases.get(&address.to_canonical()) {
            Some(existing) if existing.weight >= entry.weight => {}
            _ => d.insert_as(address, entry),
        }
    }
    Some(d)
}

/// Every configured VIP.
pub fn all(cfg: &Config, checker: &Checker) -> BTreeMap<VipKey, DesiredVip> {
    cfg.frontends
        .keys()
        .filter_map(|n| vip(cfg, n, checker))
        .map(|d| (d.key, d))
        .collect()
}

/// The `lb_conf` the config asks for (unset addresses as all-zero, which is
/// what VPP holds before anything is configured).
pub fn lb_conf(cfg: &Config) -> LbConf {
    let lb = &cfg.vpp.lb;
    LbConf {
        client_index: 0,
        context: 0,
        ip4_src_address: lb.ipv4_src_address.unwrap_or(Ipv4Addr::UNSPECIFIED),
        ip6_src_address: lb.ipv6_src_address.unwrap_or(Ipv6Addr::UNSPECIFIED),
        sticky_buckets_per_core: lb.sticky_buckets_per_core,
        flow_timeout: lb.flow_timeout_secs,
    }
}

/// Frontend name of each configured VIP key.
pub fn frontend_of_key(cfg: &Config) -> BTreeMap<VipKey, String> {
    cfg.frontends
        .iter()
        .map(|(n, f)| (vip_key(f), n.clone()))
        .collect()
}
