//! Name → directory-index map, cached per segment epoch.
//!
//! Walking 4,800 directory names on every 5 s scrape is wasteful, but entries
//! are added, removed and reused whenever VPP bumps the epoch, so the map is
//! keyed by (base, epoch, directory pointer) and rebuilt when any of them
//! changes. As a second guard every hit is verified against the entry's name,
//! so a map built from a torn read can never return the wrong entry.

use std::collections::HashMap;

use super::error::StatsError;
use super::memory::SegmentMemory;
use super::segment::{DirEntry, Segment};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IndexKey {
    base: u64,
    epoch: u64,
    directory_vector: u64,
}

/// Cached map from entry name to directory index.
#[derive(Debug, Default)]
pub struct DirectoryIndex {
    key: Option<IndexKey>,
    by_name: HashMap<String, usize>,
    rebuilds: u64,
}

impl DirectoryIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Named live entries in the current map.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// How often the map was rebuilt (for tests and debug output).
    pub fn rebuilds(&self) -> u64 {
        self.rebuilds
    }

    /// Forget the map, e.g. after reconnecting to a restarted VPP.
    pub fn invalidate(&mut self) {
        self.key = None;
        self.by_name.clear();
    }

    /// Rebuild the map if `segment` is not the one it was built from.
    pub fn refresh<M: SegmentMemory + ?Sized>(
        &mut self,
        segment: &Segment<'_, M>,
    ) -> Result<(), StatsError> {
        if self.key == Some(Self::key_of(segment)) {
            return Ok(());
        }
        self.rebuild(segment)
    }

    fn key_of<M: SegmentMemory + ?Sized>(segment: &Segment<'_, M>) -> IndexKey {
        let header = segment.header();
        IndexKey {
            base: header.base,
            epoch: header.epoch,
            directory_vector: header.directory_vector,
        }
    }

    fn rebuild<M: SegmentMemory + ?Sized>(
        &mut self,
        segment: &Segment<'_, M>,
    ) -> Result<(), StatsError> {
        self.invalidate();
        let mut by_name = HashMap::with_capacity(segment.directory_len());
        for index in 0..segment.directory_len() {
            let entry = segment.entry(index)?;
            if entry.is_live() {
                // VPP names are unique; on a duplicate keep the first.
                by_name.entry(entry.name).or_insert(index);
            }
        }
        self.by_name = by_name;
        self.key = Some(Self::key_of(segment));
        self.rebuilds += 1;
        Ok(())
    }

    /// The live entry called `name`, or `None` if there is none.
    pub fn find<M: SegmentMemory + ?Sized>(
        &mut self,
        segment: &Segment<'_, M>,
        name: &str,
    ) -> Result<Option<DirEntry>, StatsError> {
        self.refresh(segment)?;
        if let Some(entry) = self.verified(segment, name)? {
            return Ok(Some(entry));
        }
        // A stale hit (or a miss) under an unchanged key: rebuild once.
        if self.by_name.contains_key(name) {
            self.rebuild(segment)?;
            return self.verified(segment, name);
        }
        Ok(None)
    }

    /// Like [`find`](Self::find) but a missing entry is an error.
    pub fn require<M: SegmentMemory + ?Sized>(
        &mut self,
        segment: &Segment<'_, M>,
        name: &str,
    ) -> Result<DirEntry, StatsError> {
        self.find(segment, name)?
            .ok_or_else(|| StatsError::NotFound {
                name: name.to_string(),
            })
    }

    fn verified<M: SegmentMemory + ?Sized>(
        &self,
        segment: &Segment<'_, M>,
        name: &str,
    ) -> Result<Option<DirEntry>, StatsError> {
        let Some(&index) = self.by_name.get(name) else {
            return Ok(None);
        };
        if index >= segment.directory_len() {
            return Ok(None);
        }
        let entry = segment.entry(index)?;
        Ok((entry.is_live() && entry.name == name).then_some(entry))
    }
}
