//! The new-flow (Maglev) table exactly as lb builds it in
//! `lb_vip_update_new_flow_table` (VPP master b575ec2c56d, lb API 1.2.0).
//!
//! This lb version does not give each AS a single permutation. Every in-use AS
//! with weight `w > 0` takes part `w` times ("replicas" 0..w-1), each replica
//! with its own permutation seeded by `clib_xxhash(lo ^ hi ^ replica)` where
//! `lo`/`hi` are the two little-endian 64-bit words of the 16-byte internal
//! address (IPv4 in bytes 12–15). The replicas are sorted by (replica,
//! address bytes) and then fill the table round-robin, one bucket per turn,
//! until every bucket is taken. Because of that sort the table depends only
//! on the set of (address, weight) pairs, not on the order in which the ASes
//! were added: insertion order does not matter in this VPP.
//!
//! Verified against the captured per-AS bucket counts (508/383/133,
//! 575/449, 844/180, 717/80/227, 342/40/642, 574/450).

use super::ip46::Ip46;

/// One candidate for the table: an AS that is in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub address: Ip46,
    pub weight: u8,
}

/// Why a table cannot be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableError {
    /// Length 0 or not a power of two (lb masks the flow hash with len − 1).
    NotPowerOfTwo { len: u32 },
}

/// `clib_xxhash` from vppinfra/xxhash.h: the xxHash64 finalisation of one
/// 8-byte lane with seed 0.
pub fn clib_xxhash(key: u64) -> u64 {
    const PRIME64_1: u64 = 11_400_714_785_074_694_791;
    const PRIME64_2: u64 = 14_029_467_366_897_019_727;
    const PRIME64_3: u64 = 1_609_587_929_392_839_161;
    const PRIME64_4: u64 = 9_650_029_242_287_828_579;
    const PRIME64_5: u64 = 2_870_177_450_012_600_261;
    let mut h64: u64 = 0x9e37_79b9_7f4a_7c13_u64
        .wrapping_add(PRIME64_5)
        .wrapping_add(8);
    let k1 = key
        .wrapping_mul(PRIME64_2)
        .rotate_left(31)
        .wrapping_mul(PRIME64_1);
    h64 ^= k1;
    h64 = h64
        .rotate_left(27)
        .wrapping_mul(PRIME64_1)
        .wrapping_add(PRIME64_4);
    h64 ^= h64 >> 33;
    h64 = h64.wrapping_mul(PRIME64_2);
    h64 ^= h64 >> 29;
    h64 = h64.wrapping_mul(PRIME64_3);
    h64 ^= h64 >> 32;
    h64
}

struct Replica {
    candidate: usize,
    replica: u32,
    next: u32,
    skip: u32,
}

/// Builds the table: bucket → index into `candidates`, `None` where lb puts
/// its placeholder AS 0 (only when no candidate has a non-zero weight).
pub fn build_table(candidates: &[Candidate], len: u32) -> Result<Vec<Option<usize>>, TableError> {
    if len == 0 || !len.is_power_of_two() {
        return Err(TableError::NotPowerOfTwo { len });
    }
    let mask = len - 1;
    let mut table: Vec<Option<usize>> = vec![None; len as usize];

    // lb sorts every replica by (replica, address) and then fills the table
    // one bucket per replica per turn. With at least `len` replicas the
    // first turn fills the table, so only the first `len` replicas of that
    // order matter. Emitting them directly in that order (candidates sorted
    // by address once, then replica 0, 1, … of each that still has weight)
    // gives the same sequence as lb's sort without hashing or sorting all
    // `sum(weight)` replicas.
    let mut by_address: Vec<usize> = (0..candidates.len()).collect();
    // Addresses are unique within a VIP, so this order is total and the
    // unstable qsort in lb agrees with it.
    by_address.sort_unstable_by(|a, b| candidates[*a].address.cmp(&candidates[*b].address));
    let max_weight = candidates.iter().map(|c| c.weight).max().unwrap_or(0);
    let total: usize = candidates.iter().map(|c| usize::from(c.weight)).sum();
    let wanted = total.min(table.len());
    let mut replicas: Vec<Replica> = Vec::with_capacity(wanted);
    'turns: for replica in 0..u32::from(max_weight) {
        for &index in &by_address {
            if replicas.len() == wanted {
                break 'turns;
            }
            if u32::from(candidates[index].weight) > replica {
                replicas.push(Replica {
                    candidate: index,
                    replica,
                    next: 0,
                    skip: 0,
                });
            }
        }
    }
    if replicas.is_empty() {
        return Ok(table);
    }
    for replica in &mut replicas {
        let (lo, hi) = candidates[replica.candidate].address.words_le();
        let seed = clib_xxhash(lo ^ hi ^ u64::from(replica.replica));
        // An odd skip is coprime with the power-of-two length, so each
        // permutation visits every bucket and the probe below terminates.
        replica.skip = ((seed as u32) | 1) & mask;
        replica.next = ((seed >> 32) as u32) & mask;
    }

    let mut filled: usize = 0;
    loop {
        for replica in &mut replicas {
            loop {
                let bucket = replica.next as usize;
                replica.next = replica.next.wrapping_add(replica.skip) & mask;
                if let Some(slot) = table.get_mut(bucket) {
                    if slot.is_none() {
                        *slot = Some(replica.candidate);
                        break;
                    }
                }
            }
            filled += 1;
            if filled == table.len() {
                return Ok(table);
            }
        }
    }
}

/// Buckets per candidate (same indexes as `candidates`).
pub fn bucket_counts(table: &[Option<usize>], n_candidates: usize) -> Vec<u32> {
    let mut counts = vec![0u32; n_candidates];
    for owner in table.iter().flatten() {
        if let Some(count) = counts.get_mut(*owner) {
            *count += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidates(list: &[(&str, u8)]) -> Vec<Candidate> {
        list.iter()
            .map(|(addr, weight)| Candidate {
                address: Ip46::from_ip(addr.parse().unwrap()),
                weight: *weight,
            })
            .collect()
    }

    fn counts(list: &[(&str, u8)]) -> Vec<u32> {
        let c = candidates(list);
        bucket_counts(&build_table(&c, 1024).unwrap(), c.len())
    }

    #[test]
    fn xxhash_cross_check() {
        // clib_xxhash is XXH64 of the 8 little-endian key bytes with seed
        // 0x9e3779b97f4a7c13. These values come from a separate Python
        // transcription of vppinfra/xxhash.h; the captured bucket counts
        // below are the real ground truth.
        assert_eq!(clib_xxhash(0), 0x6f06_f901_bfa2_7892);
        assert_eq!(clib_xxhash(1), 0x4a67_7953_7063_9ba2);
        assert_eq!(clib_xxhash(0xdead_beef), 0xeef2_2572_3377_c39e);
    }

    #[test]
    fn captured_bucket_counts() {
        type Case<'a> = (&'a [(&'a str, u8)], &'a [u32]);
        let cases: &[Case] = &[
            (
                &[
                    ("198.51.100.1", 100),
                    ("198.51.100.2", 75),
                    ("198.51.100.3", 25),
                ],
                &[508, 383, 133],
            ),
            (&[("198.51.100.1", 100), ("198.51.100.2", 75)], &[575, 449]),
            (&[("198.51.100.1", 99), ("198.51.100.2", 75)], &[574, 450]),
            (
                &[("198.51.100.11", 100), ("198.51.100.12", 20)],
                &[844, 180],
            ),
            (
                &[
                    ("2001:db8:1::1", 100),
                    ("2001:db8:1::2", 10),
                    ("2001:db8:1::3", 30),
                ],
                &[717, 80, 227],
            ),
            (
                &[
                    ("2001:db8:1::1", 100),
                    ("2001:db8:1::2", 10),
                    ("2001:db8:1::3", 200),
                ],
                &[342, 40, 642],
            ),
            (&[("198.51.100.53", 100)], &[1024]),
        ];
        for (list, want) in cases {
            assert_eq!(counts(list), *want, "{list:?}");
        }
    }

    #[test]
    fn weight_zero_gets_no_bucket_and_all_zero_is_placeholder() {
        assert_eq!(
            counts(&[("198.51.100.1", 100), ("198.51.100.2", 0)]),
            [1024, 0]
        );
        let c = candidates(&[("198.51.100.1", 0), ("198.51.100.2", 0)]);
        let table = build_table(&c, 1024).unwrap();
        assert!(table.iter().all(Option::is_none));
        assert!(build_table(&[], 8).unwrap().iter().all(Option::is_none));
    }

    #[test]
    fn insertion_order_does_not_change_the_table() {
        let forward = candidates(&[
            ("198.51.100.1", 100),
            ("198.51.100.2", 75),
            ("198.51.100.3", 25),
            ("198.51.100.4", 60),
        ]);
        let mut reversed = forward.clone();
        reversed.reverse();
        let by_address = |c: &[Candidate], table: Vec<Option<usize>>| -> Vec<Option<Ip46>> {
            table.into_iter().map(|o| o.map(|i| c[i].address)).collect()
        };
        let a = by_address(&forward, build_table(&forward, 1024).unwrap());
        let b = by_address(&reversed, build_table(&reversed, 1024).unwrap());
        assert_eq!(a, b);
        // …and a different weight set does change it.
        let mut changed = forward.clone();
        changed[3].weight = 61;
        let c = by_address(&changed, build_table(&changed, 1024).unwrap());
        assert_ne!(a, c);
    }

    /// lb's algorithm as written: every replica hashed, all sorted, then
    /// filled. `build_table` must give the same table for any input.
    fn reference_table(candidates: &[Candidate], len: u32) -> Vec<Option<usize>> {
        let mask = len - 1;
        let mut replicas: Vec<(u32, usize)> = candidates
            .iter()
            .enumerate()
            .flat_map(|(i, c)| (0..u32::from(c.weight)).map(move |r| (r, i)))
            .collect();
        replicas.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| candidates[a.1].address.cmp(&candidates[b.1].address))
        });
        let mut state: Vec<(u32, u32, usize)> = replicas
            .iter()
            .map(|(r, i)| {
                let (lo, hi) = candidates[*i].address.words_le();
                let seed = clib_xxhash(lo ^ hi ^ u64::from(*r));
                (((seed >> 32) as u32) & mask, ((seed as u32) | 1) & mask, *i)
            })
            .collect();
        let mut table = vec![None; len as usize];
        if state.is_empty() {
            return table;
        }
        let mut filled = 0;
        loop {
            for (next, skip, owner) in &mut state {
                loop {
                    let bucket = *next as usize;
                    *next = next.wrapping_add(*skip) & mask;
                    if table[bucket].is_none() {
                        table[bucket] = Some(*owner);
                        break;
                    }
                }
                filled += 1;
                if filled == table.len() {
                    return table;
                }
            }
        }
    }

    #[test]
    fn matches_the_full_sort_reference() {
        // A small deterministic generator: weights 0..=255, mixed families,
        // fewer and more replicas than buckets.
        let mut x: u64 = 0x1234_5678;
        let mut next = || {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (x >> 33) as u32
        };
        for case in 0..40 {
            let n = (next() % 20) as usize;
            let list: Vec<Candidate> = (0..n)
                .map(|i| {
                    let address = if i % 3 == 0 {
                        format!("2001:db8::{:x}", next() % 0xffff)
                    } else {
                        format!("10.{}.{}.{}", i, next() % 250, next() % 250)
                    };
                    Candidate {
                        address: Ip46::from_ip(address.parse().unwrap()),
                        weight: (next() % 256) as u8,
                    }
                })
                .collect();
            let mut unique = list.clone();
            unique.sort_by_key(|c| c.address);
            unique.dedup_by_key(|c| c.address);
            for len in [1u32, 8, 64, 1024, 4096] {
                assert_eq!(
                    build_table(&unique, len).unwrap(),
                    reference_table(&unique, len),
                    "case {case} len {len}"
                );
            }
        }
    }

    #[test]
    fn lengths() {
        for len in [0u32, 3, 1000, 1025] {
            assert_eq!(
                build_table(&[], len),
                Err(TableError::NotPowerOfTwo { len })
            );
        }
        let c = candidates(&[("198.51.100.1", 3), ("198.51.100.2", 1)]);
        for len in [1u32, 2, 4, 65536] {
            let table = build_table(&c, len).unwrap();
            assert_eq!(table.len(), len as usize);
            assert!(table.iter().all(Option::is_some));
        }
        // Fewer buckets than replicas: the first turns win, lower replicas first.
        assert_eq!(bucket_counts(&build_table(&c, 2).unwrap(), 2), [1, 1]);
    }
}
