use super::*;
use crate::health::Rng;

const MS: fn(u64) -> Duration = Duration::from_millis;
const SECOND: Duration = Duration::from_secs(1);

/// One placement case: instants already planned (ms after `now`, with how
/// many starts each), the draw (ms) and carry (µs) of the backend placed,
/// and where it must go (ms) with what carry (µs) and how early it may start
/// (a tenth of the interval, less for a backend already ahead).
/// Interval 1 s, so the band is [900, 1100] ms.
struct Case {
    name: &'static str,
    planned: &'static [(u64, u16)],
    drawn_ms: u64,
    carry_us: i32,
    at_ms: u64,
    new_carry_us: i32,
    /// How early it may start (ms before `at_ms`).
    slack_ms: u64,
}

#[test]
fn placement_table() {
    let cases = [
        Case {
            name: "nothing planned: its own draw",
            planned: &[],
            drawn_ms: 1030,
            carry_us: 0,
            at_ms: 1030,
            new_carry_us: 0,
            slack_ms: 100,
        },
        Case {
            name: "joins a neighbour inside the band, carries the difference",
            planned: &[(980, 3)],
            drawn_ms: 1030,
            carry_us: 0,
            at_ms: 980,
            new_carry_us: 50_000,
            slack_ms: 100,
        },
        Case {
            name: "the nearest of two neighbours (later one)",
            planned: &[(950, 1), (1040, 1)],
            drawn_ms: 1000,
            carry_us: 0,
            at_ms: 1040,
            new_carry_us: -40_000,
            slack_ms: 100,
        },
        Case {
            name: "the nearest of two neighbours (earlier one)",
            planned: &[(990, 1), (1040, 1)],
            drawn_ms: 1000,
            carry_us: 0,
            at_ms: 990,
            new_carry_us: 10_000,
            slack_ms: 100,
        },
        Case {
            name: "neighbours outside the band are ignored",
            planned: &[(899, 1), (1101, 1)],
            drawn_ms: 1000,
            carry_us: 0,
            at_ms: 1000,
            new_carry_us: 0,
            slack_ms: 100,
        },
        Case {
            name: "the band's edges are inside",
            planned: &[(900, 1)],
            drawn_ms: 950,
            carry_us: 0,
            at_ms: 900,
            new_carry_us: 50_000,
            slack_ms: 100,
        },
        Case {
            name: "the nearer neighbour is full: the other one",
            planned: &[(990, MAX_STARTS_PER_INSTANT), (1060, 5)],
            drawn_ms: 1000,
            carry_us: 0,
            at_ms: 1060,
            new_carry_us: -60_000,
            slack_ms: 100,
        },
        Case {
            name: "both neighbours full: its own draw, not an instant farther away",
            planned: &[
                (960, 1),
                (990, MAX_STARTS_PER_INSTANT),
                (1010, MAX_STARTS_PER_INSTANT),
                (1020, 1),
            ],
            drawn_ms: 1000,
            carry_us: 0,
            at_ms: 1000,
            new_carry_us: 0,
            slack_ms: 100,
        },
        Case {
            name: "its only neighbour is full: its own draw",
            planned: &[(1000, MAX_STARTS_PER_INSTANT)],
            drawn_ms: 1010,
            carry_us: 0,
            at_ms: 1010,
            new_carry_us: 0,
            slack_ms: 100,
        },
        Case {
            name: "a positive carry moves the draw later",
            planned: &[],
            drawn_ms: 1000,
            carry_us: 40_000,
            at_ms: 1040,
            new_carry_us: 0,
            slack_ms: 100,
        },
        Case {
            name: "a negative carry moves the draw earlier",
            planned: &[],
            drawn_ms: 1000,
            carry_us: -40_000,
            at_ms: 960,
            new_carry_us: 0,
            slack_ms: 100,
        },
        Case {
            name: "a draw moved out of the band is held at its edge; the rest is carried",
            planned: &[],
            drawn_ms: 1080,
            carry_us: 60_000,
            at_ms: 1100,
            new_carry_us: 40_000,
            slack_ms: 100,
        },
        Case {
            name: "a backend ahead may start early only by what is left of a fifth",
            planned: &[],
            drawn_ms: 1100,
            carry_us: 160_000,
            at_ms: 1100,
            new_carry_us: 160_000,
            slack_ms: 40,
        },
        Case {
            name: "the carry never exceeds one interval",
            planned: &[(900, 1)],
            drawn_ms: 1100,
            carry_us: 1_000_000,
            at_ms: 900,
            new_carry_us: 1_000_000,
            slack_ms: 0,
        },
        Case {
            name: "the carry is bounded the other way too",
            planned: &[(1100, 1)],
            drawn_ms: 900,
            carry_us: -1_000_000,
            at_ms: 1100,
            new_carry_us: -1_000_000,
            slack_ms: 100,
        },
    ];
    for case in cases {
        let now = Instant::now();
        let mut starts = SharedStarts::new();
        for &(ms, n) in case.planned {
            starts.plan(now + MS(ms), n);
        }
        let got = starts.place(now, SECOND, MS(case.drawn_ms), case.carry_us);
        assert_eq!(
            got,
            Placement {
                at: now + MS(case.at_ms),
                carry_us: case.new_carry_us,
                slack: MS(case.slack_ms),
            },
            "{}",
            case.name
        );
        let before = case
            .planned
            .iter()
            .find(|(ms, _)| *ms == case.at_ms)
            .map_or(0, |p| p.1);
        assert_eq!(
            starts.starts_at(got.at),
            before + 1,
            "{}: counted",
            case.name
        );
    }
}

#[test]
fn a_neighbour_closer_than_a_millisecond_is_not_joined() {
    let now = Instant::now();
    let mut starts = SharedStarts::new();
    let first = starts.place(now, SECOND, MS(1000), 0).at;
    let close = starts.place(now, SECOND, MS(1000) + Duration::from_micros(900), 0);
    assert_eq!(close.at, now + MS(1000) + Duration::from_micros(900));
    let farther = starts.place(now, SECOND, MS(998), 0);
    assert_eq!(farther.at, first, "2 ms away: joined");
    assert_eq!(farther.carry_us, -2_000);
}

#[test]
fn release_frees_room_and_forgets_empty_instants() {
    let now = Instant::now();
    let mut starts = SharedStarts::new();
    let first = starts.place(now, SECOND, MS(1000), 0).at;
    let second = starts.place(now, SECOND, MS(1050), 0).at;
    assert_eq!(first, second, "the second joins the first");
    assert_eq!(starts.starts_at(first), 2);
    starts.release(first);
    assert_eq!(starts.starts_at(first), 1);
    starts.release(first);
    assert_eq!(
        starts.instants(),
        0,
        "an instant with no start left is gone"
    );
    starts.release(first);
    starts.release(now + MS(7));
    assert_eq!(
        starts.instants(),
        0,
        "freeing what was never placed is harmless"
    );
}

#[test]
fn a_full_instant_takes_no_more_until_a_start_is_released() {
    let now = Instant::now();
    let mut starts = SharedStarts::new();
    let at = now + MS(1000);
    starts.plan(at, MAX_STARTS_PER_INSTANT);
    // Its own draw falls on the full instant: a nanosecond later instead.
    let next = starts.place(now, SECOND, MS(1000), 0).at;
    assert_eq!(next, at + Duration::from_nanos(1));
    assert_eq!(starts.starts_at(at), MAX_STARTS_PER_INSTANT);
    starts.release(next);
    starts.release(at);
    assert_eq!(starts.place(now, SECOND, MS(1000), 0).at, at);
    assert_eq!(starts.starts_at(at), MAX_STARTS_PER_INSTANT);
}

#[test]
fn instants_in_the_past_are_forgotten() {
    let now = Instant::now();
    let mut starts = SharedStarts::new();
    starts.place(now, SECOND, MS(1000), 0);
    // A band of [1150, 1350] ms does not reach the first start.
    starts.place(now + MS(250), SECOND, MS(1000), 0);
    assert_eq!(starts.instants(), 2);
    // Their timers were dropped (a reload): a placement two seconds later
    // finds nothing left behind.
    starts.place(now + 2 * SECOND, SECOND, MS(1000), 0);
    assert_eq!(starts.instants(), 1);
}

/// Backends probed over and over the way the daemon's loop does it. The
/// loop takes the earliest planned start when it is due, or when it is
/// within its slack and the wake-up has early starts left (32, renewed
/// only when the loop had time to sleep). Each start costs the loop
/// `START_COST`; its result comes a round trip later and places the next
/// start. Without the start cost nothing is ever behind, and placement
/// biases that only show under load go unseen.
struct Run {
    /// Starts per backend, in order.
    starts: Vec<Vec<Duration>>,
    /// Times the loop woke from sleep.
    wakeups: Vec<Duration>,
    /// Most starts ever planned on one instant.
    largest_group: u16,
}

/// From a probe's start to its result, in [`run`].
const ROUND_TRIP: Duration = Duration::from_micros(300);

fn run(backends: usize, seconds: u64, seed: u64) -> Run {
    const START_COST: Duration = Duration::from_micros(25);
    const EARLY_STARTS_PER_WAKEUP: u32 = 32;
    let t0 = Instant::now();
    let end = t0 + Duration::from_secs(seconds);
    let mut rng = Rng::new(seed);
    let mut starts = SharedStarts::new();
    // Planned starts in order, and per backend (slack, carry); first
    // starts spread over a second.
    let mut planned: std::collections::BTreeSet<(Instant, usize)> = (0..backends)
        .map(|b| (t0 + SECOND * b as u32 / backends as u32, b))
        .collect();
    let mut state = vec![(Duration::ZERO, 0i32); backends];
    let mut out = Run {
        starts: vec![Vec::new(); backends],
        wakeups: Vec::new(),
        largest_group: 0,
    };
    let mut clock = t0;
    let mut early_left = 0;
    while let Some(&(at, b)) = planned.first() {
        if at > end {
            break;
        }
        let due = at <= clock;
        let early = early_left > 0 && at - state[b].0 <= clock;
        if !due && !early {
            // Nothing to do now: the loop sleeps until the next start.
            clock = at;
            early_left = EARLY_STARTS_PER_WAKEUP;
            out.wakeups.push(clock - t0);
            continue;
        }
        early_left = early_left.saturating_sub(1);
        planned.remove(&(at, b));
        out.largest_group = out.largest_group.max(starts.starts_at(at));
        starts.release(at);
        out.starts[b].push(clock - t0);
        let carry = SharedStarts::started(state[b].1, at, clock);
        let drawn = jittered(SECOND, rng.next_u32());
        let placed = starts.place(clock + ROUND_TRIP, SECOND, drawn, carry);
        state[b] = (placed.slack, placed.carry_us);
        planned.insert((placed.at, b));
        clock += START_COST;
    }
    out
}

/// Mean period over the second half of the run (the carries have settled),
/// checking on the way that every period stays between 0.8 and 1.1 intervals.
fn mean_period(r: &Run) -> Duration {
    let mut periods = Vec::new();
    for s in &r.starts {
        for (k, w) in s.windows(2).enumerate() {
            let p = w[1] - w[0];
            assert!(
                // Early starts take up to 100 ms off; the round trip and
                // the loop's lateness come on top.
                p >= MS(800) && p <= MS(1100) + MS(5),
                "every period between 0.8 and 1.1 intervals: {p:?}"
            );
            if k >= s.len() / 2 {
                periods.push(p);
            }
        }
    }
    periods.iter().sum::<Duration>() / periods.len() as u32
}

#[test]
fn idle_backends_gather_on_a_few_wakeups_and_keep_their_interval() {
    for seed in [7, 8, 9] {
        let r = run(100, 300, seed);
        let mean = mean_period(&r);
        assert!(
            mean.abs_diff(SECOND + ROUND_TRIP) < MS(3),
            "seed {seed}: mean period {mean:?}"
        );
        let last = r
            .wakeups
            .iter()
            .filter(|t| **t >= Duration::from_secs(200))
            .count();
        let per_second = last as f64 / 100.0;
        assert!(
            per_second < 10.0,
            "seed {seed}: {per_second} wake-ups a second for 100 backends at 1 s"
        );
        assert!(r.largest_group <= MAX_STARTS_PER_INSTANT);
    }
}

#[test]
fn a_large_configuration_keeps_its_rate_and_bounded_groups() {
    let r = run(10_000, 40, 11);
    let mean = mean_period(&r);
    assert!(
        mean.abs_diff(SECOND + ROUND_TRIP) < MS(3),
        "mean period {mean:?}"
    );
    assert!(r.largest_group <= MAX_STARTS_PER_INSTANT);
}
