//! The reconcile algorithm (dataplane.md §6–7): desired vs current → the
//! ordered lb API calls that make VPP match, and the change accounting.
//!
//! Ordering is part of the contract: VPP's Maglev table breaks ties by the
//! position of each AS in its internal vector (insertion order), so two
//! daemons pushing the same set must push it in the same order. Every AS call
//! therefore walks addresses numerically, IPv4 before IPv6 (`IpAddr`'s `Ord`
//! on canonical addresses), and VIPs are walked in [`VipKey`] order.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use super::flush::FlushMemory;
use super::model::{CurrentVip, DesiredVip, Encap, VipKey};

/// One lb API call. The encoder adds what is constant: new-flows table
/// length 1024 on `AddVip`, `is_del`, the address unions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LbCall {
    /// `lb_add_del_vip_v2`
    AddVip {
        key: VipKey,
        encap: Encap,
        src_ip_sticky: bool,
    },
    /// `lb_add_del_vip_v2` with `is_del`
    DelVip { key: VipKey },
    /// `lb_add_del_as_v2`; it carries the weight, no set-weight follows.
    AddAs {
        key: VipKey,
        addr: IpAddr,
        weight: u8,
    },
    /// `lb_add_del_as_v2` with `is_del` (and `is_flush`)
    DelAs {
        key: VipKey,
        addr: IpAddr,
        flush: bool,
    },
    /// `lb_as_set_weight`
    SetWeight {
        key: VipKey,
        addr: IpAddr,
        weight: u8,
        flush: bool,
    },
}

impl LbCall {
    /// The VIP the call addresses. After a failed call the executor skips
    /// the remaining calls of the same VIP (the next sync retries them).
    pub fn key(&self) -> &VipKey {
        match self {
            LbCall::AddVip { key, .. }
            | LbCall::DelVip { key }
            | LbCall::AddAs { key, .. }
            | LbCall::DelAs { key, .. }
            | LbCall::SetWeight { key, .. } => key,
        }
    }

    /// The call carries `is_flush`.
    pub fn is_flush(&self) -> bool {
        matches!(
            self,
            LbCall::DelAs { flush: true, .. } | LbCall::SetWeight { flush: true, .. }
        )
    }
}

impl fmt::Display for LbCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LbCall::AddVip {
                key,
                encap,
                src_ip_sticky,
            } => write!(
                f,
                "add vip {key} encap {encap} src-ip-sticky {src_ip_sticky}"
            ),
            LbCall::DelVip { key } => write!(f, "del vip {key}"),
            LbCall::AddAs { key, addr, weight } => {
                write!(f, "add as {addr} weight {weight} to {key}")
            }
            LbCall::DelAs { key, addr, flush } => {
                write!(f, "del as {addr} flush {flush} from {key}")
            }
            LbCall::SetWeight {
                key,
                addr,
                weight,
                flush,
            } => write!(f, "set as {addr} weight {weight} flush {flush} on {key}"),
        }
    }
}

/// Why a present VIP has to be deleted and added again: VPP cannot change
/// either property in place (and ASes of the new family fail with "Invalid
/// address family" on the old encap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecreateReason {
    /// (current, desired) when they differ.
    pub src_ip_sticky: Option<(bool, bool)>,
    /// (current, desired) when they differ.
    pub encap: Option<(Encap, Encap)>,
}

impl fmt::Display for RecreateReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some((from, to)) = self.src_ip_sticky {
            parts.push(format!("src-ip-sticky {from}->{to}"));
        }
        if let Some((from, to)) = self.encap {
            parts.push(format!("encap {from}->{to}"));
        }
        f.write_str(&parts.join(", "))
    }
}

/// `Some` when `current` must be recreated to match `desired`. An unknown
/// src-ip-sticky flag (VIP missing from the CLI scrape) never triggers it.
pub fn recreate_reason(desired: &DesiredVip, current: &CurrentVip) -> Option<RecreateReason> {
    let sticky = current
        .src_ip_sticky
        .filter(|flag| *flag != desired.src_ip_sticky)
        .map(|flag| (flag, desired.src_ip_sticky));
    let encap = (current.encap != desired.encap).then_some((current.encap, desired.encap));
    (sticky.is_some() || encap.is_some()).then_some(RecreateReason {
        src_ip_sticky: sticky,
        encap,
    })
}

/// Plan for one VIP (`SyncLBStateVIP`): never touches other VIPs.
///
/// `forced_flush`: ASes the operator asked to flush (`… weight N flush`);
/// they get a flush-bearing call even when nothing else changed.
pub fn plan_vip(
    desired: &DesiredVip,
    current: Option<&CurrentVip>,
    flushed: &FlushMemory,
    forced_flush: &BTreeSet<IpAddr>,
) -> Vec<LbCall> {
    let mut calls = Vec::new();
    if let Some(current) = current.filter(|c| recreate_reason(desired, c).is_some()) {
        calls.extend(teardown(current));
    }
    calls.extend(build(desired, current, flushed, forced_flush));
    calls
}

/// Plan for everything (`SyncLBStateAll`).
///
/// All teardowns come first — VIPs in VPP but not configured, and VIPs
/// needing a recreate, in key order — then every configured VIP is built or
/// diffed in key order. Deleting first matters when VIPs share an address:
/// VPP refuses a VIP whose encap differs from another VIP on the same prefix
/// (-73) and an all-port VIP next to per-port ones (-81), so the old ones must
/// be gone before the new ones are added.
pub fn plan_all(
    desired: &BTreeMap<VipKey, DesiredVip>,
    current: &BTreeMap<VipKey, CurrentVip>,
    flushed: &FlushMemory,
    forced_flush: &BTreeMap<VipKey, BTreeSet<IpAddr>>,
) -> Vec<LbCall> {
    let mut calls = Vec::new();
    for (key, vip) in current {
        let doomed = match desired.get(key) {
            None => true,
            Some(want) => recreate_reason(want, vip).is_some(),
        };
        if doomed {
            calls.extend(teardown(vip));
        }
    }
    let no_forced = BTreeSet::new();
    for (key, want) in desired {
        let forced = forced_flush.get(key).unwrap_or(&no_forced);
        calls.extend(build(want, current.get(key), flushed, forced));
    }
    calls
}

/// Deletes every AS with flush, then the VIP.
fn teardown(current: &CurrentVip) -> impl Iterator<Item = LbCall> + '_ {
    let key = current.key;
    let ases = current.ases.keys().map(move |addr| LbCall::DelAs {
        key,
        addr: *addr,
        flush: true,
    });
    ases.chain(std::iter::once(LbCall::DelVip { key }))
}

/// The part after any teardown: add the VIP with all its ASes when it is
/// absent or being recreated, otherwise diff the ASes.
fn build(
    desired: &DesiredVip,
    current: Option<&CurrentVip>,
    flushed: &FlushMemory,
    forced_flush: &BTreeSet<IpAddr>,
) -> Vec<LbCall> {
    let key = desired.key;
    match current.filter(|c| recreate_reason(desired, c).is_none()) {
        Some(current) => diff_ases(desired, current, flushed, forced_flush),
        None => {
            let add_vip = LbCall::AddVip {
                key,
                encap: desired.encap,
                src_ip_sticky: desired.src_ip_sticky,
            };
            let add_ases = desired.ases.iter().map(|(addr, want)| LbCall::AddAs {
                key,
                addr: *addr,
                weight: want.weight,
            });
            std::iter::once(add_vip).chain(add_ases).collect()
        }
    }
}

fn diff_ases(
    desired: &DesiredVip,
    current: &CurrentVip,
    flushed: &FlushMemory,
    forced_flush: &BTreeSet<IpAddr>,
) -> Vec<LbCall> {
    let key = desired.key;
    let addrs: BTreeSet<IpAddr> = desired
        .ases
        .keys()
        .chain(current.ases.keys())
        .copied()
        .collect();
    let mut calls = Vec::new();
    for addr in addrs {
        match (desired.ases.get(&addr), current.ases.get(&addr)) {
            (Some(want), None) => calls.push(LbCall::AddAs {
                key,
                addr,
                weight: want.weight,
            }),
            (None, Some(_)) => calls.push(LbCall::DelAs {
                key,
                addr,
                flush: true,
            }),
            (Some(want), Some(have)) => {
                let flush = forced_flush.contains(&addr)
                    || (want.flush && !flushed.holds(&key, addr, want.flush_epoch));
                if flush || want.weight != have.weight {
                    calls.push(LbCall::SetWeight {
                        key,
                        addr,
                        weight: want.weight,
                        flush,
                    });
                }
            }
            (None, None) => {}
        }
    }
    calls
}

/// Changes made by a sync, per `maglev_vpp_lbsync_total` kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeCounts {
    pub vip_added: u64,
    pub vip_removed: u64,
    pub as_added: u64,
    pub as_removed: u64,
    pub as_weight_updated: u64,
}

impl ChangeCounts {
    /// Counts a whole plan (or, better, the calls of it that succeeded).
    pub fn count(calls: &[LbCall]) -> ChangeCounts {
        let mut counts = ChangeCounts::default();
        for call in calls {
            counts.add(call);
        }
        counts
    }

    pub fn add(&mut self, call: &LbCall) {
        let counter = match call {
            LbCall::AddVip { .. } => &mut self.vip_added,
            LbCall::DelVip { .. } => &mut self.vip_removed,
            LbCall::AddAs { .. } => &mut self.as_added,
            LbCall::DelAs { .. } => &mut self.as_removed,
            LbCall::SetWeight { .. } => &mut self.as_weight_updated,
        };
        *counter += 1;
    }

    /// (metric `kind` label, count) for every kind; callers skip zeros.
    pub fn by_kind(&self) -> [(&'static str, u64); 5] {
        [
            ("vip_added", self.vip_added),
            ("vip_removed", self.vip_removed),
            ("as_added", self.as_added),
            ("as_removed", self.as_removed),
            ("as_weight_updated", self.as_weight_updated),
        ]
    }

    pub fn total(&self) -> u64 {
        self.by_kind().iter().map(|(_, n)| n).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }
}
