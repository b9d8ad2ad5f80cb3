//! Transitions of one backend since start, by (from, to), for metrics.
//!
//! 10,000 backends each hold one, and nearly all of them only ever see one
//! pair (`unknown → up`), so one pair lives inline and only a backend that
//! changes state again allocates (a backend that went down and came back
//! has seen three pairs, so a second inline pair would rarely spare it).

use crate::health::State;

/// One (from, to) pair and how often it happened.
type Pair = (State, State, u32);

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TransitionCounts {
    inline: Option<Pair>,
    /// Boxed on purpose: a thin 8-byte pointer inline instead of a 24-byte
    /// `Vec` (or 16-byte boxed slice) in every backend's slot, for the rare
    /// backend that needs it.
    #[allow(clippy::box_collection)]
    more: Option<Box<Vec<Pair>>>,
}

impl TransitionCounts {
    pub fn record(&mut self, from: State, to: State) {
        let bump = |pair: &mut Pair| pair.2 = pair.2.saturating_add(1);
        match &mut self.inline {
            Some(pair) if pair.0 == from && pair.1 == to => return bump(pair),
            Some(_) => {}
            None => {
                self.inline = Some((from, to, 1));
                return;
            }
        }
        let more = self.more.get_or_insert_with(Default::default);
        match more.iter_mut().find(|p| p.0 == from && p.1 == to) {
            Some(pair) => bump(pair),
            None => more.push((from, to, 1)),
        }
    }

    /// Every pair seen, in the order first seen.
    pub fn iter(&self) -> impl Iterator<Item = (State, State, u64)> + '_ {
        self.inline
            .iter()
            .chain(self.more.iter().flat_map(|m| m.iter()))
            .map(|&(from, to, n)| (from, to, u64::from(n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use State::*;

    type Case<'a> = (&'a [(State, State)], &'a [(State, State, u64)]);

    #[test]
    fn counts_pairs_in_first_seen_order_inline_then_spilled() {
        let cases: &[Case] = &[
            (&[], &[]),
            (&[(Unknown, Up)], &[(Unknown, Up, 1)]),
            (
                &[(Unknown, Up), (Up, Down), (Down, Up), (Up, Down)],
                &[(Unknown, Up, 1), (Up, Down, 2), (Down, Up, 1)],
            ),
            (
                &[
                    (Unknown, Down),
                    (Down, Up),
                    (Up, Paused),
                    (Paused, Unknown),
                    (Unknown, Down),
                    (Up, Paused),
                ],
                &[
                    (Unknown, Down, 2),
                    (Down, Up, 1),
                    (Up, Paused, 2),
                    (Paused, Unknown, 1),
                ],
            ),
        ];
        for (seen, want) in cases {
            let mut counts = TransitionCounts::default();
            for &(from, to) in seen.iter() {
                counts.record(from, to);
            }
            assert_eq!(counts.iter().collect::<Vec<_>>(), want.to_vec(), "{seen:?}");
        }
    }

    #[test]
    fn stays_at_16_bytes() {
        assert_eq!(std::mem::size_of::<TransitionCounts>(), 16);
    }
}
