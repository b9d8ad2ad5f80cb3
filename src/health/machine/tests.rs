use super::*;

const PASS: Code = Code::L4Ok;
const FAIL: Code = Code::L4Con;

/// Feeds `seq` ('p' = pass, 'f' = fail) and returns, after each step, the
/// state as one letter ('?' unknown, 'u' up, 'd' down) and the counter.
fn run(health: &mut BackendHealth, seq: &str) -> (String, Vec<u32>) {
    let mut states = String::new();
    let mut counters = Vec::new();
    for (i, c) in seq.chars().enumerate() {
        let code = if c == 'p' { PASS } else { FAIL };
        health.record(code, 1000 + i as u64);
        states.push(match health.state() {
            State::Unknown => '?',
            State::Up => 'u',
            State::Down => 'd',
            other => panic!("unexpected state {other}"),
        });
        counters.push(health.counter());
    }
    (states, counters)
}

#[test]
fn rise_fall_sequences() {
    // (rise, fall, sequence, states after each step, counters after each step)
    let cases: &[(u32, u32, &str, &str, &[u32])] = &[
        // Spec example: rise=2 fall=3, Max=4, unknown starts at 1.
        (2, 3, "p", "u", &[2]),
        (2, 3, "f", "d", &[0]),
        // Fully up (Max) needs `fall` failures.
        (2, 3, "pppfff", "uuuuud", &[2, 3, 4, 3, 2, 1]),
        // Q-H1: barely up (counter = rise) goes down on one failure.
        (2, 3, "pf", "ud", &[2, 1]),
        // From fully down it takes `rise` passes.
        (2, 3, "fpp", "ddu", &[0, 1, 2]),
        // Hysteresis near the top: alternating stays up.
        (2, 3, "pppfpfpfp", "uuuuuuuuu", &[2, 3, 4, 3, 4, 3, 4, 3, 4]),
        // Hysteresis near the bottom: alternating stays down.
        (2, 3, "fpfpfpf", "ddddddd", &[0, 1, 0, 1, 0, 1, 0]),
        // Counter saturates at Max and at 0.
        (2, 3, "pppppp", "uuuuuu", &[2, 3, 4, 4, 4, 4]),
        (2, 3, "ffff", "dddd", &[0, 0, 0, 0]),
        // rise=1 fall=1: Max=1, every result flips the state.
        (1, 1, "pfpf", "udud", &[1, 0, 1, 0]),
        // rise=1 fall=3: Max=3.
        (1, 3, "ppppfff", "uuuuuud", &[1, 2, 3, 3, 2, 1, 0]),
        (1, 3, "pf", "ud", &[1, 0]),
        // rise=3 fall=1: Max=3, unknown starts at 2.
        (3, 1, "pfp", "udu", &[3, 2, 3]),
        (3, 1, "fpp", "ddu", &[1, 2, 3]),
        (3, 1, "ffppp", "ddddu", &[1, 0, 1, 2, 3]),
        // rise=5 fall=5: Max=9, unknown starts at 4.
        (
            5,
            5,
            "pppppfffff",
            "uuuuuuuuud",
            &[5, 6, 7, 8, 9, 8, 7, 6, 5, 4],
        ),
        // Any failure while unknown resolves to down, even far above 0.
        (5, 5, "fpp", "ddu", &[3, 4, 5]),
    ];
    for (rise, fall, seq, want_states, want_counters) in cases {
        let mut h = BackendHealth::new(*rise, *fall, 5, true, 0);
        assert_eq!(h.max(), rise + fall - 1);
        assert_eq!(h.counter(), rise - 1, "unknown preset, rise={rise}");
        let (states, counters) = run(&mut h, seq);
        assert_eq!(&states, want_states, "rise={rise} fall={fall} seq={seq}");
        assert_eq!(
            &counters, want_counters,
            "rise={rise} fall={fall} seq={seq}"
        );
    }
}

/// A backend brought into `state` by ordinary means (rise=2, fall=3).
fn in_state(state: State) -> BackendHealth {
    let mut h = BackendHealth::new(2, 3, 10, state != State::Disabled, 0);
    match state {
        State::Unknown | State::Disabled => {}
        State::Up => {
            h.record(PASS, 1);
            h.record(PASS, 2);
        }
        State::Down => {
            h.record(FAIL, 1);
        }
        State::Paused => {
            h.record(PASS, 1);
            h.pause(2).unwrap();
        }
        State::Removed => {
            h.remove(1).unwrap();
        }
    }
    assert_eq!(h.state(), state);
    h
}

#[derive(Debug, Clone, Copy)]
enum Want {
    Noop,
    To(State, Code),
    Err(ActionError),
}

fn check_action(
    from: State,
    name: &str,
    want: Want,
    act: impl Fn(&mut BackendHealth) -> ActionResult,
) {
    let mut h = in_state(from);
    let before = h.clone();
    let got = act(&mut h);
    match want {
        Want::Noop => {
            assert_eq!(got, Ok(None), "{name} from {from}");
            assert_eq!(h, before, "{name} from {from} must not change anything");
        }
        Want::Err(e) => {
            assert_eq!(got, Err(e), "{name} from {from}");
            assert_eq!(h, before, "{name} from {from} must not change anything");
        }
        Want::To(to, code) => {
            let expected = Transition {
                from,
                to,
                code,
                at_unix_ms: 500,
            };
            assert_eq!(got, Ok(Some(expected.clone())), "{name} from {from}");
            assert_eq!(h.state(), to);
            assert_eq!(h.last_transition(), Some(&expected));
            assert_eq!(h.history().count(), before.history().count() + 1);
            assert_eq!(h.since_unix_ms(), 500);
            if to == State::Unknown {
                assert_eq!(
                    h.counter(),
                    h.rise() - 1,
                    "{name} from {from}: expedited preset"
                );
            }
        }
    }
}

#[test]
fn operator_actions_from_every_state() {
    use ActionError as E;
    use State::*;
    use Want::*;
    // (action, from, expected)
    let cases: &[(Action, State, Want)] = &[
        (Action::Pause, Unknown, To(Paused, Code::Paused)),
        (Action::Pause, Up, To(Paused, Code::Paused)),
        (Action::Pause, Down, To(Paused, Code::Paused)),
        (Action::Pause, Paused, Noop),
        (Action::Pause, Disabled, Err(E::Disabled)),
        (Action::Pause, Removed, Err(E::Removed)),
        (Action::Resume, Unknown, Err(E::NotPaused)),
        (Action::Resume, Up, Err(E::NotPaused)),
        (Action::Resume, Down, Err(E::NotPaused)),
        (Action::Resume, Paused, To(Unknown, Code::Resumed)),
        (Action::Resume, Disabled, Err(E::Disabled)),
        (Action::Resume, Removed, Err(E::Removed)),
        (Action::Enable, Unknown, Noop),
        (Action::Enable, Up, Noop),
        (Action::Enable, Down, Noop),
        (Action::Enable, Paused, Noop),
        (Action::Enable, Disabled, To(Unknown, Code::Enabled)),
        (Action::Enable, Removed, Err(E::Removed)),
        (Action::Disable, Unknown, To(Disabled, Code::Disabled)),
        (Action::Disable, Up, To(Disabled, Code::Disabled)),
        (Action::Disable, Down, To(Disabled, Code::Disabled)),
        (Action::Disable, Paused, To(Disabled, Code::Disabled)),
        (Action::Disable, Disabled, Noop),
        (Action::Disable, Removed, Err(E::Removed)),
    ];
    assert_eq!(cases.len(), Action::ALL.len() * State::ALL.len());
    for (action, from, want) in cases {
        check_action(*from, action.as_str(), *want, |h| h.apply(*action, 500));
    }
}

#[test]
fn remove_and_restart_from_every_state() {
    use State::*;
    use Want::*;
    let cases: &[(State, Want, Want)] = &[
        // (from, remove, restart)
        (Unknown, To(Removed, Code::Removed), Noop),
        (Up, To(Removed, Code::Removed), To(Unknown, Code::Restarted)),
        (
            Down,
            To(Removed, Code::Removed),
            To(Unknown, Code::Restarted),
        ),
        (Paused, To(Removed, Code::Removed), Noop),
        (Disabled, To(Removed, Code::Removed), Noop),
        (
            Removed,
            Err(ActionError::Removed),
            Err(ActionError::Removed),
        ),
    ];
    for (from, remove, restart) in cases {
        check_action(*from, "remove", *remove, |h| h.remove(500));
        // Same thresholds: a restart with unchanged rise/fall.
        check_action(*from, "restart", *restart, |h| h.restart(2, 3, 500));
    }
}

#[test]
fn restart_takes_new_thresholds() {
    let mut h = in_state(State::Up);
    let t = h.restart(4, 2, 700).unwrap().unwrap();
    assert_eq!(
        (t.from, t.to, t.code),
        (State::Up, State::Unknown, Code::Restarted)
    );
    assert_eq!((h.rise(), h.fall(), h.max(), h.counter()), (4, 2, 5, 3));
    assert_eq!(h.record(PASS, 800).map(|t| t.to), Some(State::Up));
    assert_eq!(h.counter(), 4);

    // A paused backend stays paused but resumes with the new thresholds.
    let mut h = in_state(State::Paused);
    assert_eq!(h.restart(3, 1, 700), Ok(None));
    assert_eq!(h.state(), State::Paused);
    assert_eq!((h.rise(), h.fall(), h.max()), (3, 1, 3));
    h.resume(800).unwrap();
    assert_eq!(h.counter(), 2);

    // Restarting unknown resets the counter without a transition.
    let mut h = BackendHealth::new(2, 3, 5, true, 0);
    assert_eq!(h.restart(5, 5, 10), Ok(None));
    assert_eq!(h.counter(), 4);
    assert_eq!(h.history().count(), 0);
}

#[test]
fn results_ignored_unless_probing() {
    for state in State::ALL {
        let mut h = in_state(state);
        let before = h.clone();
        if state.is_probing() {
            // Every probing fixture sits below Max, so a pass must move the counter.
            h.record(PASS, 900);
            assert!(h.counter() > before.counter(), "{state}: result must apply");
        } else {
            assert_eq!(h.record(PASS, 900), None, "{state}");
            assert_eq!(h.record(FAIL, 901), None, "{state}");
            assert_eq!(h, before, "{state}: discarded result changed something");
        }
    }
}

#[test]
fn resume_and_enable_resolve_with_one_probe() {
    // Fully up (counter = Max), paused, resumed: one failure → down.
    let mut h = BackendHealth::new(2, 3, 5, true, 0);
    run(&mut h, "pppp");
    assert_eq!(h.counter(), 4);
    h.pause(10).unwrap();
    h.resume(20).unwrap();
    assert_eq!((h.state(), h.counter()), (State::Unknown, 1));
    let t = h.record(Code::L7Sts, 30).unwrap();
    assert_eq!(
        (t.from, t.to, t.code),
        (State::Unknown, State::Down, Code::L7Sts)
    );

    // Fully down, disabled, enabled: one pass → up.
    let mut h = BackendHealth::new(3, 2, 5, true, 0);
    run(&mut h, "fff");
    assert_eq!(h.counter(), 0);
    h.disable(10).unwrap();
    h.enable(20).unwrap();
    assert_eq!(h.counter(), 2);
    let t = h.record(Code::L7Ok, 30).unwrap();
    assert_eq!(
        (t.from, t.to, t.code),
        (State::Unknown, State::Up, Code::L7Ok)
    );
}

#[test]
fn new_disabled_and_enabled_attribute() {
    let h = BackendHealth::new(2, 3, 5, false, 42);
    assert_eq!(h.state(), State::Disabled);
    assert!(!h.enabled());
    assert_eq!(h.since_unix_ms(), 42);
    assert_eq!(h.last_transition(), None);
    for state in State::ALL {
        assert_eq!(
            in_state(state).enabled(),
            state != State::Disabled,
            "{state}"
        );
    }
}

#[test]
fn zero_thresholds_are_clamped() {
    let mut h = BackendHealth::new(0, 0, 0, true, 0);
    assert_eq!(
        (h.rise(), h.fall(), h.max(), h.counter(), h.history_cap()),
        (1, 1, 1, 0, 1)
    );
    assert_eq!(h.record(PASS, 1).map(|t| t.to), Some(State::Up));
}

#[test]
fn history_is_bounded_and_newest_first() {
    let mut h = BackendHealth::new(1, 1, 3, true, 0);
    // Five transitions: unknown→up, up→down, down→up, up→down, down→up.
    for (i, code) in [PASS, FAIL, PASS, FAIL, PASS].into_iter().enumerate() {
        assert!(h.record(code, 100 * (i as u64 + 1)).is_some());
    }
    let got: Vec<(State, State, u64)> = h.history().map(|t| (t.from, t.to, t.at_unix_ms)).collect();
    assert_eq!(
        got,
        vec![
            (State::Down, State::Up, 500),
            (State::Up, State::Down, 400),
            (State::Down, State::Up, 300),
        ]
    );
    assert_eq!(h.last_transition().map(|t| t.at_unix_ms), Some(500));

    // Results that do not change the state add nothing.
    h.record(PASS, 600);
    assert_eq!(h.history().count(), 3);
    assert_eq!(h.since_unix_ms(), 500);

    h.set_history_cap(2);
    let kept: Vec<u64> = h.history().map(|t| t.at_unix_ms).collect();
    assert_eq!(kept, vec![500, 400]);
    h.set_history_cap(0);
    assert_eq!(h.history_cap(), 1);
    assert_eq!(h.history().count(), 1);

    // Growing the cap keeps what is there and lets new entries accumulate.
    h.set_history_cap(4);
    h.record(FAIL, 700);
    h.record(PASS, 800);
    let kept: Vec<u64> = h.history().map(|t| t.at_unix_ms).collect();
    assert_eq!(kept, vec![800, 700, 500]);
}

#[test]
fn history_survives_disable_enable() {
    let mut h = BackendHealth::new(2, 3, 5, true, 0);
    h.record(PASS, 1);
    h.disable(2).unwrap();
    h.enable(3).unwrap();
    let codes: Vec<Code> = h.history().map(|t| t.code).collect();
    assert_eq!(codes, vec![Code::Enabled, Code::Disabled, PASS]);
}

#[test]
fn action_error_messages() {
    let cases = [
        (ActionError::Disabled, "backend is disabled"),
        (ActionError::NotPaused, "backend is not paused"),
        (ActionError::Removed, "backend was removed"),
    ];
    for (err, text) in cases {
        assert_eq!(err.to_string(), text);
    }
}

#[test]
fn stays_at_48_bytes() {
    // 10,000 backends each carry one.
    assert_eq!(std::mem::size_of::<BackendHealth>(), 48);
}

#[test]
fn thresholds_beyond_16_bits_are_clamped_not_wrapped() {
    // The config refuses them; the machine still must not wrap 65,536 to 0.
    let mut h = BackendHealth::new(70_000, 65_536, 5, true, 0);
    assert_eq!((h.rise(), h.fall()), (65_535, 65_535));
    assert_eq!(h.counter(), 65_534);
    assert_eq!(h.max(), 131_069);
    assert!(
        h.record(Code::L4Ok, 1).is_some(),
        "one pass resolves unknown"
    );
    assert_eq!(h.state(), State::Up);
    h.restart(0, 100_000, 2).unwrap();
    assert_eq!((h.rise(), h.fall()), (1, 65_535));
}
