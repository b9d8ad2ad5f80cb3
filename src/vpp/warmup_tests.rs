//! Warmup phases, gating and the exactly-once guarantees, on a fake clock.

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Polls with a fixed frontend view.
fn poll(w: &mut Warmup, at: Duration, frontends: &[(&str, bool)]) -> WarmupActions {
    w.poll(at, frontends.iter().copied())
}

#[test]
fn phases_and_gates_over_time() {
    let mut w = Warmup::new(secs(5), secs(30));
    poll(&mut w, ms(0), &[("web", false), ("dns", false)]);
    let cases = [
        (
            ms(0),
            Phase::HandsOff,
            Gate::SuppressedMinDelay,
            Gate::SuppressedMinDelay,
        ),
        (
            ms(4_999),
            Phase::HandsOff,
            Gate::SuppressedMinDelay,
            Gate::SuppressedMinDelay,
        ),
        (
            ms(5_000),
            Phase::Release,
            Gate::SuppressedWarmup,
            Gate::SuppressedWarmup,
        ),
        (
            ms(29_999),
            Phase::Release,
            Gate::SuppressedWarmup,
            Gate::SuppressedWarmup,
        ),
        (ms(30_000), Phase::Done, Gate::Allowed, Gate::Allowed),
        (secs(3_600), Phase::Done, Gate::Allowed, Gate::Allowed),
    ];
    for (at, phase, vip_gate, all_gate) in cases {
        assert_eq!(w.phase(at), phase, "{at:?}");
        assert_eq!(w.may_sync_vip("web", at), vip_gate, "{at:?}");
        assert_eq!(w.may_sync_all(at), all_gate, "{at:?}");
    }
}

#[test]
fn hands_off_releases_nothing_even_when_known() {
    let mut w = Warmup::new(secs(5), secs(30));
    let actions = poll(&mut w, secs(1), &[("web", true)]);
    assert_eq!(actions, WarmupActions::default());
    assert_eq!(w.try_release("web", true, secs(2)), None);
    assert!(!w.is_released("web"));
    assert_eq!(w.next_poll(secs(1)), Some(secs(5)));
}

#[test]
fn release_when_all_backends_known() {
    let mut w = Warmup::new(secs(5), secs(30));
    let view = [("dns", true), ("web", false)];
    let actions = poll(&mut w, secs(5), &view);
    assert_eq!(actions.released, vec!["dns".to_string()]);
    assert!(!actions.finished);
    assert_eq!(w.may_sync_vip("dns", secs(5)), Gate::Allowed);
    assert_eq!(w.may_sync_vip("web", secs(5)), Gate::SuppressedWarmup);
    assert_eq!(w.may_sync_all(secs(5)), Gate::SuppressedWarmup, "Q-D3 (b)");
    assert_eq!(w.next_poll(secs(5)), Some(ms(5_250)));
    // Nothing new: no repeated release.
    assert_eq!(poll(&mut w, ms(5_250), &view), WarmupActions::default());
}

#[test]
fn exactly_one_release_poller_vs_event() {
    // Event first, then the poller.
    let mut w = Warmup::new(secs(1), secs(10));
    poll(&mut w, ms(0), &[("web", false), ("dns", false)]);
    let release = w.try_release("web", true, ms(1_100)).unwrap();
    assert_eq!(
        release,
        Release {
            frontend: "web".into(),
            elapsed: ms(1_100)
        }
    );
    assert_eq!(w.try_release("web", true, ms(1_150)), None);
    let actions = poll(&mut w, ms(1_250), &[("web", true), ("dns", false)]);
    assert!(actions.released.is_empty());

    // Poller first, then the event.
    let actions = poll(&mut w, ms(1_500), &[("web", true), ("dns", true)]);
    assert_eq!(actions.released, vec!["dns".to_string()]);
    assert_eq!(w.try_release("dns", true, ms(1_510)), None);
}

#[test]
fn event_release_needs_all_known() {
    let mut w = Warmup::new(secs(1), secs(10));
    assert_eq!(w.try_release("web", false, secs(2)), None);
    assert!(w.try_release("web", true, secs(2)).is_some());
}

#[test]
fn max_delay_final_sync_exactly_once() {
    let mut w = Warmup::new(secs(5), secs(30));
    let view = [("web", true), ("stuck", false)];
    assert_eq!(
        poll(&mut w, secs(5), &view).released,
        vec!["web".to_string()]
    );
    assert_eq!(w.next_poll(ms(29_900)), Some(secs(30)), "never past max");
    let actions = poll(&mut w, secs(30), &view);
    assert!(actions.finished);
    assert!(
        actions.released.is_empty(),
        "stragglers are left to the final sync"
    );
    assert!(w.is_finished());
    assert_eq!(w.next_poll(secs(30)), None);
    for at in [secs(30), secs(31), secs(100)] {
        assert_eq!(poll(&mut w, at, &view), WarmupActions::default());
    }
    assert_eq!(w.try_release("stuck", true, secs(31)), None);
    assert_eq!(w.may_sync_vip("stuck", secs(31)), Gate::Allowed);
}

#[test]
fn late_poll_still_finishes_once() {
    let mut w = Warmup::new(secs(5), secs(30));
    poll(&mut w, secs(6), &[("web", false)]);
    assert_eq!(w.next_poll(secs(40)), Some(secs(40)), "overdue: poll now");
    assert!(poll(&mut w, secs(40), &[("web", false)]).finished);
    assert!(!poll(&mut w, secs(41), &[("web", false)]).finished);
}

#[test]
fn early_finish_when_all_released() {
    let mut w = Warmup::new(secs(5), secs(30));
    let view = [("web", false), ("dns", true)];
    assert!(!poll(&mut w, secs(5), &view).finished);
    // The event path releases the last one; the next poll ends warmup.
    assert!(w.try_release("web", true, ms(5_100)).is_some());
    assert_eq!(w.phase(ms(5_100)), Phase::Release, "the poller decides");
    let actions = poll(&mut w, ms(5_250), &[("web", true), ("dns", true)]);
    assert!(actions.finished);
    assert_eq!(w.phase(ms(5_250)), Phase::Done);
    assert_eq!(w.may_sync_all(ms(5_250)), Gate::Allowed);
    assert!(!poll(&mut w, secs(30), &view).finished, "not again at max");
}

#[test]
fn last_release_and_finish_in_one_poll() {
    let mut w = Warmup::new(secs(0), secs(30));
    let actions = poll(&mut w, ms(0), &[("b", true), ("a", true)]);
    assert_eq!(actions.released, vec!["a".to_string(), "b".to_string()]);
    assert!(actions.finished);
}

#[test]
fn no_frontends_finishes_at_min_delay() {
    let mut w = Warmup::new(secs(5), secs(30));
    assert!(!poll(&mut w, secs(4), &[]).finished);
    assert!(poll(&mut w, secs(5), &[]).finished);
}

#[test]
fn disabled_warmup() {
    let mut w = Warmup::new(Duration::ZERO, Duration::ZERO);
    assert_eq!(w.phase(ms(0)), Phase::Done);
    assert_eq!(w.may_sync_vip("web", ms(0)), Gate::Allowed);
    assert_eq!(w.may_sync_all(ms(0)), Gate::Allowed);
    assert_eq!(w.next_poll(ms(0)), Some(ms(0)), "report finished once");
    let actions = poll(&mut w, ms(0), &[("web", false)]);
    assert!(actions.finished, "the first full sync runs");
    assert!(actions.released.is_empty());
    assert_eq!(w.next_poll(ms(1)), None);
    assert!(!poll(&mut w, ms(1), &[("web", true)]).finished);
}

#[test]
fn max_below_min_is_clamped() {
    let mut w = Warmup::new(secs(10), secs(2));
    assert_eq!(w.phase(secs(5)), Phase::HandsOff);
    assert_eq!(w.phase(secs(10)), Phase::Done);
    assert!(poll(&mut w, secs(10), &[("web", false)]).finished);
}

#[test]
fn reload_adds_and_removes_frontends() {
    let mut w = Warmup::new(secs(5), secs(30));
    poll(&mut w, secs(5), &[("web", false), ("old", true)]);
    assert!(w.is_released("old"));

    // Reload: "old" removed, "new" added (not known yet).
    let actions = poll(&mut w, secs(6), &[("web", false), ("new", false)]);
    assert!(actions.released.is_empty());
    assert!(!w.is_released("old"), "forgotten");
    assert_eq!(w.may_sync_vip("new", secs(6)), Gate::SuppressedWarmup);

    let actions = poll(&mut w, secs(7), &[("web", true), ("new", true)]);
    assert_eq!(actions.released, vec!["new".to_string(), "web".to_string()]);
    assert!(actions.finished, "all current frontends released");

    // A frontend that comes back under an old name after warmup: allowed.
    assert_eq!(w.may_sync_vip("old", secs(8)), Gate::Allowed);
}

#[test]
fn re_added_name_must_be_released_again() {
    let mut w = Warmup::new(secs(5), secs(30));
    poll(&mut w, secs(5), &[("web", true), ("dns", false)]);
    poll(&mut w, secs(6), &[("dns", false)]);
    let actions = poll(&mut w, secs(7), &[("web", true), ("dns", false)]);
    assert_eq!(actions.released, vec!["web".to_string()]);
}

#[test]
fn poll_cadence() {
    let w = Warmup::new(secs(5), secs(30));
    let cases = [
        (ms(0), Some(secs(5))),
        (ms(4_000), Some(secs(5))),
        (ms(5_000), Some(ms(5_250))),
        (ms(12_345), Some(ms(12_595))),
        (ms(29_800), Some(secs(30))),
        (ms(30_000), Some(ms(30_000))),
    ];
    for (at, next) in cases {
        assert_eq!(w.next_poll(at), next, "{at:?}");
    }
}
