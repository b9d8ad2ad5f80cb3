//! A backend's bounded transition history, newest first.
//!
//! 10,000 backends each keep one, and almost all of them only ever record
//! one transition (`unknown → up`), so the newest entry lives inline and
//! older ones spill to the heap: 24 bytes a backend and no allocation in the
//! common case, where a `VecDeque` took 32 bytes plus a 32-byte allocation.

use std::collections::VecDeque;

use super::types::Transition;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    newest: Option<Transition>,
    /// Older entries, newest first. Boxed on purpose: an 8-byte pointer in
    /// every backend instead of a 32-byte deque.
    #[allow(clippy::box_collection)]
    older: Option<Box<VecDeque<Transition>>>,
}

impl History {
    /// Record `t` as the newest entry, keeping at most `cap` (≥ 1).
    pub fn push(&mut self, t: Transition, cap: usize) {
        if let Some(previous) = self.newest.replace(t) {
            if cap > 1 {
                let older = self.older.get_or_insert_with(Default::default);
                older.push_front(previous);
            }
        }
        self.truncate(cap);
    }

    /// Keep the `cap` (≥ 1) newest entries.
    pub fn truncate(&mut self, cap: usize) {
        let keep_older = cap.saturating_sub(1);
        if keep_older == 0 {
            self.older = None;
        } else if let Some(older) = self.older.as_mut() {
            older.truncate(keep_older);
        }
    }

    pub fn newest(&self) -> Option<&Transition> {
        self.newest.as_ref()
    }

    /// Newest first.
    pub fn iter(&self) -> impl Iterator<Item = &Transition> + '_ {
        self.newest
            .iter()
            .chain(self.older.iter().flat_map(|o| o.iter()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::types::{Code, State};

    fn t(at: u64) -> Transition {
        Transition {
            from: State::Up,
            to: State::Down,
            code: Code::L4Con,
            at_unix_ms: at,
        }
    }

    #[test]
    fn keeps_the_newest_cap_entries_newest_first() {
        // (pushes, cap, then truncate to, expected timestamps)
        let cases: &[(u64, usize, Option<usize>, &[u64])] = &[
            (0, 3, None, &[]),
            (1, 3, None, &[1]),
            (2, 1, None, &[2]),
            (5, 3, None, &[5, 4, 3]),
            (5, 10, None, &[5, 4, 3, 2, 1]),
            (5, 10, Some(2), &[5, 4]),
            (5, 10, Some(1), &[5]),
            (5, 10, Some(0), &[5]),
        ];
        for &(pushes, cap, shrink, want) in cases {
            let mut h = History::default();
            for at in 1..=pushes {
                h.push(t(at), cap);
            }
            if let Some(c) = shrink {
                h.truncate(c);
            }
            let got: Vec<u64> = h.iter().map(|t| t.at_unix_ms).collect();
            assert_eq!(got, want, "pushes {pushes} cap {cap} shrink {shrink:?}");
            assert_eq!(h.newest().map(|t| t.at_unix_ms), want.first().copied());
        }
    }

    #[test]
    fn smaller_than_the_deque_it_replaced() {
        assert!(std::mem::size_of::<History>() < std::mem::size_of::<VecDeque<Transition>>());
    }
}
