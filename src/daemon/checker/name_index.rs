//! Backend name → slot index, sorted by name.
//!
//! Every state change looks up the names of all the members of the touched
//! frontends (weights, the desired VIP), between the probe result and the
//! VPP call, so lookups must not chase pointers: each entry keeps the first
//! bytes of its name inline, and only names that share those bytes are
//! compared through the slot. 16 bytes an entry, no copy of the names, and a
//! lookup in 10,000 names stays within this one array.

use std::cmp::Ordering;

const INLINE: usize = 11;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    /// The name's first bytes, zero-padded (names hold no NUL).
    prefix: [u8; INLINE],
    /// The name's length, saturated: equal prefixes and equal lengths up
    /// to `INLINE` mean equal names.
    len: u8,
    slot: u32,
}

fn prefix_of(name: &str) -> ([u8; INLINE], u8) {
    let mut prefix = [0u8; INLINE];
    for (d, s) in prefix.iter_mut().zip(name.bytes()) {
        *d = s;
    }
    (prefix, u8::try_from(name.len()).unwrap_or(u8::MAX))
}

#[derive(Debug, Default)]
pub struct NameIndex {
    entries: Vec<Entry>,
}

impl NameIndex {
    /// Room for `additional` more names, without the doubling slack.
    pub fn reserve_exact(&mut self, additional: usize) {
        self.entries.reserve_exact(additional);
    }

    /// Where `name` is (`Ok`) or would go (`Err`); `name_of` gives a slot's
    /// full name for the rare tie on the inline bytes.
    pub fn position<'a>(
        &self,
        name: &str,
        name_of: impl Fn(u32) -> Option<&'a str>,
    ) -> Result<usize, usize> {
        let (prefix, len) = prefix_of(name);
        self.entries.binary_search_by(|e| {
            e.prefix.cmp(&prefix).then_with(|| {
                if usize::from(e.len) <= INLINE && usize::from(len) <= INLINE {
                    e.len.cmp(&len)
                } else {
                    name_of(e.slot).map_or(Ordering::Less, |n| n.cmp(name))
                }
            })
        })
    }

    pub fn slot_at(&self, pos: usize) -> Option<u32> {
        self.entries.get(pos).map(|e| e.slot)
    }

    pub fn insert(&mut self, pos: usize, name: &str, slot: u32) {
        let (prefix, len) = prefix_of(name);
        self.entries.insert(pos, Entry { prefix, len, slot });
    }

    pub fn remove(&mut self, pos: usize) -> Option<u32> {
        (pos < self.entries.len()).then(|| self.entries.remove(pos).slot)
    }

    /// Slots in name order.
    pub fn slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.entries.iter().map(|e| e.slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_name_and_keeps_byte_order() {
        // Short names, names sharing the inline bytes, a prefix of another.
        let names = [
            "b",
            "a",
            "web-frankfurt-01",
            "web-frankfurt-02",
            "web-frankfurt-1",
            "web-frankfur",
            "web-frankfurt",
            "as00",
            "as01",
            "as0",
            "z",
        ];
        let mut index = NameIndex::default();
        let name_of = |slot: u32| names.get(slot as usize).copied();
        for (slot, name) in names.iter().enumerate() {
            let pos = index.position(name, name_of).unwrap_err();
            index.insert(pos, name, slot as u32);
        }
        let order: Vec<&str> = index.slots().map(|s| names[s as usize]).collect();
        let mut sorted = names.to_vec();
        sorted.sort();
        assert_eq!(order, sorted);
        for (slot, name) in names.iter().enumerate() {
            let pos = index.position(name, name_of).unwrap();
            assert_eq!(index.slot_at(pos), Some(slot as u32), "{name}");
        }
        for missing in ["", "web-frankfurt-0", "web-frankfurt-03", "as", "c"] {
            assert!(index.position(missing, name_of).is_err(), "{missing}");
        }
        let pos = index.position("as0", name_of).unwrap();
        assert_eq!(index.remove(pos), Some(9));
        assert!(index.position("as0", name_of).is_err());
        assert_eq!(index.remove(99), None);
    }

    #[test]
    fn entries_stay_small() {
        assert_eq!(std::mem::size_of::<Entry>(), 16);
    }
}
