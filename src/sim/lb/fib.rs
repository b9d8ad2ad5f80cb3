//! The slice of VPP's FIB that lb makes visible: every FIB entry lb creates
//! (the VIP route, and a /32 or /128 next-hop entry per AS address) owns a
//! load-balance object whose pool index shows up as the route's
//! `stats_index` and as the AS's `dpo:N` in `show lb vips verbose`.
//!
//! Modelled: one load-balance per entry, entries shared by prefix (a VIP
//! route and an AS next-hop on the same /32 are one entry, two ASes with the
//! same address on different VIPs share one), freed indexes reused
//! last-freed-first. A fresh VPP had used load-balance indexes 0–7 for its
//! own routes before lb added anything (captured: VIP routes 8–12, ASes
//! 13–21). Assumed, not captured: the load-balance is freed as soon as the
//! last lb reference to its entry goes.

use std::collections::HashMap;

use super::pool::Pool;
use crate::sim::ip46::Ip46;

/// Load-balance indexes a freshly started VPP has already used.
pub const FRESH_VPP_LOAD_BALANCES: u32 = 8;

#[derive(Clone, Debug)]
struct Entry {
    load_balance: u32,
    references: u32,
}

#[derive(Clone, Debug)]
pub(crate) struct Fib {
    load_balances: Pool<()>,
    entries: HashMap<(Ip46, u8), Entry>,
    /// `/net/route/to` per load-balance index: (packets, bytes).
    to_counters: Vec<(u64, u64)>,
}

impl Fib {
    pub(crate) fn new(preallocated: u32) -> Fib {
        let mut load_balances = Pool::default();
        for _ in 0..preallocated {
            load_balances.insert(());
        }
        Fib {
            load_balances,
            entries: HashMap::new(),
            to_counters: Vec::new(),
        }
    }

    /// Adds a reference to the entry for `prefix/plen` (internal length),
    /// creating it on first use; returns its load-balance index.
    pub(crate) fn reference(&mut self, prefix: Ip46, plen: u8) -> u32 {
        if let Some(entry) = self.entries.get_mut(&(prefix, plen)) {
            entry.references += 1;
            return entry.load_balance;
        }
        let load_balance = self.load_balances.insert(()) as u32;
        self.entries.insert(
            (prefix, plen),
            Entry {
                load_balance,
                references: 1,
            },
        );
        load_balance
    }

    pub(crate) fn release(&mut self, prefix: Ip46, plen: u8) {
        let key = (prefix, plen);
        let gone = match self.entries.get_mut(&key) {
            Some(entry) => {
                entry.references = entry.references.saturating_sub(1);
                (entry.references == 0).then_some(entry.load_balance)
            }
            None => None,
        };
        if let Some(load_balance) = gone {
            self.entries.remove(&key);
            self.load_balances.remove(load_balance as usize);
            // VPP zeroes a load-balance's counters when it is allocated
            // again; zeroing on free shows the same values from then on.
            if let Some(slot) = self.to_counters.get_mut(load_balance as usize) {
                *slot = (0, 0);
            }
        }
    }

    /// One packet of `bytes` through the route owning `load_balance`.
    pub(crate) fn count(&mut self, load_balance: u32, bytes: u32) {
        let index = load_balance as usize;
        if self.to_counters.len() <= index {
            self.to_counters.resize(index + 1, (0, 0));
        }
        if let Some((packets, total)) = self.to_counters.get_mut(index) {
            *packets += 1;
            *total += u64::from(bytes);
        }
    }

    /// `/net/route/to` of a load-balance index: (packets, bytes).
    pub(crate) fn to_counter(&self, load_balance: u32) -> (u64, u64) {
        self.to_counters
            .get(load_balance as usize)
            .copied()
            .unwrap_or((0, 0))
    }

    /// One past the highest load-balance index ever allocated (VPP validates
    /// the route counters up to it).
    pub(crate) fn index_bound(&self) -> usize {
        self.load_balances.slot_count()
    }

    pub(crate) fn lookup(&self, prefix: Ip46, plen: u8) -> Option<u32> {
        self.entries.get(&(prefix, plen)).map(|e| e.load_balance)
    }
}
