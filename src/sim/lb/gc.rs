//! lb's lazy removal: removed ASes and VIPs stay (visible with flags 0 /
//! ` removed`) until garbage collection frees them. Per VIP, collection runs
//! at most every 60 s (on AS add/delete and from the gc process); an AS goes
//! once it has been unused for 10 s and no sticky entry refers to it; a
//! removed VIP goes when its AS list is empty — only from the gc process.

use super::{loop_gt, LbState, CONCURRENCY_TIMEOUT_SECS, GARBAGE_RUN_SECS};

impl LbState {
    /// `lb_vip_garbage_collection`.
    pub(crate) fn vip_garbage_collection(&mut self, vip_index: usize) {
        let now = self.now;
        let Some(vip) = self.vips.get_mut(vip_index) else {
            return;
        };
        if !loop_gt(
            now,
            vip.last_garbage_collection.wrapping_add(GARBAGE_RUN_SECS),
        ) {
            return;
        }
        vip.last_garbage_collection = now;
        let slots: Vec<(usize, usize)> = vip
            .as_indexes
            .iter()
            .map(|(slot, as_index)| (slot, *as_index))
            .collect();
        for (slot, as_index) in slots {
            let collectable = self.ass.get(as_index).is_some_and(|entry| {
                !entry.used
                    && loop_gt(now, entry.last_used.wrapping_add(CONCURRENCY_TIMEOUT_SECS))
                    && self.as_refcount.get(&as_index).copied().unwrap_or(0) == 0
            });
            if !collectable {
                continue;
            }
            let address = self.ass.remove(as_index).map(|entry| entry.address);
            if let Some(address) = address {
                self.release_route(address, 128);
            }
            self.as_refcount.remove(&as_index);
            if let Some(vip) = self.vips.get_mut(vip_index) {
                vip.as_indexes.remove(slot);
                if let Some(address) = address {
                    vip.as_by_address.remove(&address);
                }
            }
        }
    }

    /// `lb_garbage_collection`, what lb's gc process runs every 60 s. Public
    /// so tests and the simulator can force a run at the current time.
    pub fn garbage_collection(&mut self) {
        let indexes: Vec<usize> = self.vips.iter().map(|(index, _)| index).collect();
        let mut to_remove = Vec::new();
        for index in indexes {
            self.vip_garbage_collection(index);
            if let Some(vip) = self.vips.get(index) {
                if !vip.used && vip.as_indexes.len() == 0 {
                    to_remove.push(index);
                }
            }
        }
        for index in to_remove {
            self.vips.remove(index);
            self.stats_generation = self.stats_generation.wrapping_add(1);
        }
    }
}
