use super::*;
use crate::config::{Pool, PoolMember, Protocol};
use State::*;

fn eff(weight: u8, flush: bool) -> Effective {
    Effective { weight, flush }
}

#[test]
fn truth_table() {
    // (state, configured, in active pool, flush-on-down, expected)
    let cases = [
        (Up, 70, true, true, eff(70, false)),
        (Up, 70, true, false, eff(70, false)),
        (Up, 70, false, true, eff(0, false)),
        (Up, 70, false, false, eff(0, false)),
        (Up, 0, true, true, eff(0, false)),
        (Up, 100, true, false, eff(100, false)),
        (Unknown, 70, true, true, eff(0, false)),
        (Unknown, 70, true, false, eff(0, false)),
        (Unknown, 70, false, true, eff(0, false)),
        (Unknown, 70, false, false, eff(0, false)),
        (Paused, 70, true, true, eff(0, false)),
        (Paused, 70, true, false, eff(0, false)),
        (Paused, 70, false, true, eff(0, false)),
        (Paused, 70, false, false, eff(0, false)),
        (Down, 70, true, true, eff(0, true)),
        (Down, 70, true, false, eff(0, false)),
        (Down, 70, false, true, eff(0, true)),
        (Down, 70, false, false, eff(0, false)),
        (Disabled, 70, true, true, eff(0, true)),
        (Disabled, 70, true, false, eff(0, true)),
        (Disabled, 70, false, true, eff(0, true)),
        (Disabled, 70, false, false, eff(0, true)),
        (Removed, 70, true, true, eff(0, true)),
        (Removed, 70, false, false, eff(0, true)),
    ];
    for (state, w, active, flush_on_down, want) in cases {
        assert_eq!(
            effective(state, w, active, flush_on_down),
            want,
            "{state} w={w} active={active} F={flush_on_down}"
        );
    }
}

#[test]
fn desired_set_membership() {
    for state in State::ALL {
        assert_eq!(is_desired(state), state != Removed, "{state}");
    }
}

#[test]
fn active_pool_cases() {
    // (description, pools, expected)
    type Case<'a> = (&'a str, &'a [&'a [(State, u8)]], usize);
    let cases: &[Case] = &[
        ("primary up", &[&[(Up, 100), (Down, 100)], &[(Up, 100)]], 0),
        (
            "primary all down → fallback",
            &[&[(Down, 100), (Down, 50)], &[(Up, 100)]],
            1,
        ),
        (
            "primary up but weight 0 → fallback",
            &[&[(Up, 0), (Down, 100)], &[(Up, 10)]],
            1,
        ),
        ("all down → 0", &[&[(Down, 100)], &[(Down, 100)]], 0),
        (
            "three pools, third wins",
            &[&[(Down, 100)], &[(Disabled, 100)], &[(Up, 1)]],
            2,
        ),
        (
            "three pools, second wins",
            &[&[(Paused, 100)], &[(Up, 5), (Up, 0)], &[(Up, 100)]],
            1,
        ),
        ("empty frontend", &[], 0),
        ("empty primary pool", &[&[], &[(Up, 100)]], 1),
        (
            "unknown members do not qualify",
            &[&[(Unknown, 100)], &[(Up, 100)]],
            1,
        ),
        (
            "paused members do not qualify",
            &[&[(Paused, 100)], &[(Up, 100)]],
            1,
        ),
        (
            "removed members do not qualify",
            &[&[(Removed, 100)], &[(Up, 100)]],
            1,
        ),
        (
            "only unknown anywhere → 0",
            &[&[(Unknown, 100)], &[(Unknown, 100)]],
            0,
        ),
    ];
    for (name, pools, want) in cases {
        let got = active_pool(pools.iter().map(|p| p.iter().copied()));
        assert_eq!(got, *want, "{name}");
    }
}

#[test]
fn frontend_state_cases() {
    let up = eff(50, false);
    let zero = eff(0, false);
    // (description, members, expected)
    type Case<'a> = (&'a str, &'a [(State, Effective)], FrontendState);
    let cases: &[Case] = &[
        (
            "one member carrying traffic",
            &[(Up, up), (Down, eff(0, true))],
            FrontendState::Up,
        ),
        (
            "all unknown",
            &[(Unknown, zero), (Unknown, zero)],
            FrontendState::Unknown,
        ),
        ("no members", &[], FrontendState::Unknown),
        (
            "unknown and down",
            &[(Unknown, zero), (Down, zero)],
            FrontendState::Down,
        ),
        (
            "all down",
            &[(Down, zero), (Down, zero)],
            FrontendState::Down,
        ),
        ("Q-H5: paused only", &[(Paused, zero)], FrontendState::Down),
        (
            "Q-H5: disabled only",
            &[(Disabled, eff(0, true))],
            FrontendState::Down,
        ),
        (
            "Q-H5: unknown and paused",
            &[(Unknown, zero), (Paused, zero)],
            FrontendState::Down,
        ),
        ("up with weight 0 only", &[(Up, zero)], FrontendState::Down),
    ];
    for (name, members, want) in cases {
        assert_eq!(frontend_state(members.iter().copied()), *want, "{name}");
    }
    assert_eq!(FrontendState::Up.to_string(), "up");
    assert_eq!(FrontendState::Unknown.as_str(), "unknown");
    assert_eq!(FrontendState::Down.as_str(), "down");
}

/// A frontend with pools given as (pool name, [(backend, weight)]).
fn frontend(flush_on_down: bool, pools: &[(&str, &[(&str, u8)])]) -> Frontend {
    Frontend {
        address: "192.0.2.1".parse().unwrap(),
        protocol: Protocol::Tcp,
        port: 80,
        description: String::new(),
        src_ip_sticky: false,
        flush_on_down,
        pools: pools
            .iter()
            .map(|(name, members)| Pool {
                name: name.to_string(),
                members: members
                    .iter()
                    .map(|(backend, weight)| PoolMember {
                        backend: backend.to_string(),
                        weight: *weight,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// Runs `evaluate` with states given by name and returns (active pool,
/// frontend state, per-member (backend, weight, flush) in pool order).
fn eval(
    fe: &Frontend,
    states: &[(&str, State)],
) -> (usize, FrontendState, Vec<(String, u8, bool)>) {
    let lookup = |name: &str| {
        states
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| *s)
            .unwrap()
    };
    let fw = evaluate(fe, lookup);
    let members = fw
        .pools
        .iter()
        .flat_map(|p| p.members.iter())
        .map(|m| (m.backend.clone(), m.effective.weight, m.effective.flush))
        .collect();
    (fw.active_pool, fw.state, members)
}

fn row(backend: &str, weight: u8, flush: bool) -> (String, u8, bool) {
    (backend.to_string(), weight, flush)
}

#[test]
fn weighted_failover() {
    let fe = frontend(
        true,
        &[
            ("primary", &[("a", 70), ("b", 30)]),
            ("fallback", &[("c", 100), ("d", 50)]),
        ],
    );
    // (description, states of a b c d, active pool, frontend state, (weight, flush) of a b c d)
    type Case<'a> = (&'a str, [State; 4], usize, FrontendState, [(u8, bool); 4]);
    let cases: &[Case] = &[
        (
            "all up: weights preserved in the primary, fallback on standby without flush",
            [Up, Up, Up, Up],
            0,
            FrontendState::Up,
            [(70, false), (30, false), (0, false), (0, false)],
        ),
        (
            "one primary down: the other keeps its configured weight",
            [Down, Up, Up, Up],
            0,
            FrontendState::Up,
            [(0, true), (30, false), (0, false), (0, false)],
        ),
        (
            "primary all down: fallback takes over with its weights",
            [Down, Down, Up, Up],
            1,
            FrontendState::Up,
            [(0, true), (0, true), (100, false), (50, false)],
        ),
        (
            "failback: primary member up again, fallback to standby without flush",
            [Up, Down, Up, Up],
            0,
            FrontendState::Up,
            [(70, false), (0, true), (0, false), (0, false)],
        ),
        (
            "primary paused and disabled: fallback",
            [Paused, Disabled, Up, Down],
            1,
            FrontendState::Up,
            [(0, false), (0, true), (100, false), (0, true)],
        ),
        (
            "everything unknown",
            [Unknown, Unknown, Unknown, Unknown],
            0,
            FrontendState::Unknown,
            [(0, false); 4],
        ),
        (
            "everything down",
            [Down, Down, Down, Down],
            0,
            FrontendState::Down,
            [(0, true); 4],
        ),
        (
            "fallback up while primary still unknown: fallback serves",
            [Unknown, Unknown, Up, Unknown],
            1,
            FrontendState::Up,
            [(0, false), (0, false), (100, false), (0, false)],
        ),
    ];
    for (name, st, want_active, want_state, want_eff) in cases {
        let states = [("a", st[0]), ("b", st[1]), ("c", st[2]), ("d", st[3])];
        let (active, state, members) = eval(&fe, &states);
        assert_eq!(active, *want_active, "{name}");
        assert_eq!(state, *want_state, "{name}");
        let want: Vec<_> = ["a", "b", "c", "d"]
            .iter()
            .zip(want_eff)
            .map(|(b, (w, f))| row(b, *w, *f))
            .collect();
        assert_eq!(members, want, "{name}");
    }
}

#[test]
fn operator_weight_zero_moves_traffic_to_fallback() {
    let fe = frontend(
        false,
        &[
            ("primary", &[("a", 0), ("b", 0)]),
            ("fallback", &[("c", 40)]),
        ],
    );
    let (active, state, members) = eval(&fe, &[("a", Up), ("b", Up), ("c", Up)]);
    assert_eq!(active, 1);
    assert_eq!(state, FrontendState::Up);
    assert_eq!(
        members,
        vec![row("a", 0, false), row("b", 0, false), row("c", 40, false)]
    );
}

#[test]
fn flush_on_down_false_keeps_flows_of_down_backends() {
    let fe = frontend(false, &[("p", &[("a", 10), ("b", 10)])]);
    let (_, state, members) = eval(&fe, &[("a", Down), ("b", Disabled)]);
    assert_eq!(state, FrontendState::Down);
    assert_eq!(members, vec![row("a", 0, false), row("b", 0, true)]);
}

#[test]
fn evaluate_reports_names_configured_and_desired() {
    let fe = frontend(
        true,
        &[("p", &[("a", 10), ("gone", 20)]), ("q", &[("c", 30)])],
    );
    let fw = evaluate(&fe, |name| match name {
        "a" => Up,
        "gone" => Removed,
        _ => Down,
    });
    let names: Vec<&str> = fw.pools.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, vec!["p", "q"]);
    let first = &fw.pools[0].members[0];
    assert_eq!(
        first,
        &MemberWeight {
            backend: "a".into(),
            configured: 10,
            state: Up,
            effective: eff(10, false),
        }
    );
    let desired: Vec<&str> = fw.desired().map(|m| m.backend.as_str()).collect();
    assert_eq!(desired, vec!["a", "c"]);
}
