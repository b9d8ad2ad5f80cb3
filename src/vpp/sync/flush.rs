//! Edge-triggered flush markers (dataplane.md §6 "no churn", Q-D1).
//!
//! The original issued a flush-bearing weight call on every sync for every
//! AS whose desired entry asked for flush. We keep its fix (flush even when
//! the weight is already 0) but remember, per (VIP, AS), the backend state
//! epoch that was last flushed, so a steady state issues no calls at all.
//! The memory only changes through [`FlushMemory::record`] after a call
//! succeeded, so a failed flush is retried by the next sync.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::model::{DesiredVip, VipKey};
use super::plan::LbCall;

/// (VIP, AS) → the flush epoch whose flush has been done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlushMemory {
    flushed: BTreeMap<(VipKey, IpAddr), u64>,
}

impl FlushMemory {
    pub fn new() -> FlushMemory {
        FlushMemory::default()
    }

    /// True when this AS has already been flushed for this epoch.
    pub fn holds(&self, key: &VipKey, addr: IpAddr, epoch: u64) -> bool {
        self.flushed.get(&(*key, addr)) == Some(&epoch)
    }

    /// Feed every call that VPP accepted (retval 0), in order, with the
    /// desired VIP it was planned from (`None` for a VIP being removed).
    ///
    /// * `SetWeight` with flush → marked for the desired epoch;
    /// * `AddAs` of an AS that wants flush → marked too: a fresh AS has no
    ///   sessions, and a re-used removed entry was flushed when we deleted it
    ///   (this is what makes a recreate count as the flush);
    /// * `DelAs` → the marker goes with the AS;
    /// * `AddVip` / `DelVip` → every marker of the VIP goes (new VIP object).
    pub fn record(&mut self, call: &LbCall, desired: Option<&DesiredVip>) {
        let wanted_epoch = |key: &VipKey, addr: &IpAddr| {
            desired
                .filter(|vip| vip.key == *key)
                .and_then(|vip| vip.ases.get(addr))
                .filter(|want| want.flush)
                .map(|want| want.flush_epoch)
        };
        match call {
            LbCall::AddVip { key, .. } | LbCall::DelVip { key } => self.forget_vip(key),
            LbCall::DelAs { key, addr, .. } => {
                self.flushed.remove(&(*key, *addr));
            }
            LbCall::AddAs { key, addr, .. } => match wanted_epoch(key, addr) {
                Some(epoch) => {
                    self.flushed.insert((*key, *addr), epoch);
                }
                None => {
                    self.flushed.remove(&(*key, *addr));
                }
            },
            LbCall::SetWeight {
                key,
                addr,
                flush: true,
                ..
            } => {
                if let Some(epoch) = wanted_epoch(key, addr) {
                    self.flushed.insert((*key, *addr), epoch);
                }
            }
            LbCall::SetWeight { flush: false, .. } => {}
        }
    }

    /// VPP (re)connected: after a VPP restart nothing can be assumed.
    pub fn clear(&mut self) {
        self.flushed.clear();
    }

    /// The VIP was deleted or recreated.
    pub fn forget_vip(&mut self, key: &VipKey) {
        self.flushed.retain(|(vip, _), _| vip != key);
    }

    /// Drops markers of VIPs that are no longer configured (after a reload),
    /// so the memory stays bounded by the configuration.
    pub fn retain_vips(&mut self, configured: &BTreeMap<VipKey, DesiredVip>) {
        self.flushed
            .retain(|(vip, _), _| configured.contains_key(vip));
    }

    pub fn len(&self) -> usize {
        self.flushed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.flushed.is_empty()
    }
}
