//! Backend states → effective VPP weights (spec/dataplane.md §2–3) and the
//! frontend aggregate state (spec/health.md §9).
//!
//! The one shared pure function set behind the sync planner, the control
//! socket's "effective weight" column, the frontend state and the metrics, so
//! they can never disagree.
//!
//! Removed backends: [`is_desired`] is false for `removed`; callers building
//! the desired VPP AS set must skip such members (the AS is then deleted,
//! with flush). [`effective`] still answers `(0, flush)` for them so that
//! listings and the frontend state treat them as carrying no traffic.

use std::fmt;

use crate::config::Frontend;
use crate::health::State;

/// Weight and flush flag of one (frontend, pool, backend) entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Effective {
    /// 0..=100, as VPP's `lb_as_set_weight` wants it.
    pub weight: u8,
    /// The weight call should carry `is_flush` (drop sticky flows).
    pub flush: bool,
}

/// Whether a backend in `state` belongs to the desired VPP AS set. Disabled
/// and paused backends stay (weight 0) so a later enable/resume works; only
/// removed ones leave.
pub fn is_desired(state: State) -> bool {
    state != State::Removed
}

/// The truth table of spec/dataplane.md §2.
///
/// | state    | active pool       | other pool     |
/// |----------|-------------------|----------------|
/// | up       | (w, –)            | (0, –) standby |
/// | unknown  | (0, –)            | (0, –)         |
/// | paused   | (0, –)            | (0, –)         |
/// | down     | (0, flush_on_down)| (0, flush_on_down) |
/// | disabled | (0, flush)        | (0, flush)     |
/// | removed  | (0, flush), but see [`is_desired`] |  |
pub fn effective(
    state: State,
    configured: u8,
    in_active_pool: bool,
    flush_on_down: bool,
) -> Effective {
    let (weight, flush) = match state {
        State::Up if in_active_pool => (configured, false),
        State::Up | State::Unknown | State::Paused => (0, false),
        State::Down => (0, flush_on_down),
        State::Disabled | State::Removed => (0, true),
    };
    Effective { weight, flush }
}

/// Index of the active pool (spec/dataplane.md §3): the first pool with a
/// member that is `up` with configured weight > 0; 0 if none qualifies (then
/// every effective weight is 0 anyway). Each pool yields
/// `(state, configured weight)` per member.
pub fn active_pool<I, P>(pools: I) -> usize
where
    I: IntoIterator<Item = P>,
    P: IntoIterator<Item = (State, u8)>,
{
    pools
        .into_iter()
        .position(|members| {
            members
                .into_iter()
                .any(|(state, weight)| state == State::Up && weight > 0)
        })
        .unwrap_or(0)
}

/// Aggregate state of a frontend (spec/health.md §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FrontendState {
    Unknown,
    Up,
    Down,
}

impl FrontendState {
    pub const ALL: [FrontendState; 3] = [
        FrontendState::Unknown,
        FrontendState::Up,
        FrontendState::Down,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FrontendState::Unknown => "unknown",
            FrontendState::Up => "up",
            FrontendState::Down => "down",
        }
    }
}

impl fmt::Display for FrontendState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Frontend state from its members' `(state, effective)` pairs (all pools):
/// `up` if any effective weight is > 0; else `unknown` if every member is
/// still `unknown` (Q-H5: a frontend whose backends are only paused or
/// disabled is `down`; a frontend with no members is `unknown`); else `down`.
pub fn frontend_state<I>(members: I) -> FrontendState
where
    I: IntoIterator<Item = (State, Effective)>,
{
    let mut all_unknown = true;
    for (state, eff) in members {
        if eff.weight > 0 {
            return FrontendState::Up;
        }
        all_unknown &= state == State::Unknown;
    }
    if all_unknown {
        FrontendState::Unknown
    } else {
        FrontendState::Down
    }
}

/// One pool member after evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberWeight {
    pub backend: String,
    /// Weight from the configuration (or the operator's runtime override,
    /// already folded into the `Frontend` the caller passed).
    pub configured: u8,
    pub state: State,
    pub effective: Effective,
}

/// One pool after evaluation, members in configuration order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolWeights {
    pub name: String,
    pub members: Vec<MemberWeight>,
}

/// Everything derived for one frontend from its backends' states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontendWeights {
    pub active_pool: usize,
    pub state: FrontendState,
    /// In priority order, as configured.
    pub pools: Vec<PoolWeights>,
}

impl FrontendWeights {
    /// Members that belong to the desired VPP AS set (not removed), in pool
    /// then member order. A backend listed in several pools appears once per
    /// listing; the sync planner keys by address and decides.
    pub fn desired(&self) -> impl Iterator<Item = &MemberWeight> {
        self.pools
            .iter()
            .flat_map(|p| p.members.iter())
            .filter(|m| is_desired(m.state))
    }
}

/// Evaluates a frontend: active pool, per-member effective weights and the
/// aggregate state. `state_of` maps a backend name to its current state.
pub fn evaluate(frontend: &Frontend, state_of: impl Fn(&str) -> State) -> FrontendWeights {
    let states: Vec<Vec<State>> = frontend
        .pools
        .iter()
        .map(|p| p.members.iter().map(|m| state_of(&m.backend)).collect())
        .collect();
    let active = active_pool(frontend.pools.iter().zip(&states).map(|(pool, states)| {
        pool.members
            .iter()
            .zip(states)
            .map(|(member, state)| (*state, member.weight))
    }));
    let pools: Vec<PoolWeights> = frontend
        .pools
        .iter()
        .zip(&states)
        .enumerate()
        .map(|(index, (pool, states))| PoolWeights {
            name: pool.name.clone(),
            members: pool
                .members
                .iter()
                .zip(states)
                .map(|(member, state)| MemberWeight {
                    backend: member.backend.clone(),
                    configured: member.weight,
                    state: *state,
                    effective: effective(
                        *state,
                        member.weight,
                        index == active,
                        frontend.flush_on_down,
                    ),
                })
                .collect(),
        })
        .collect();
    let state = frontend_state(
        pools
            .iter()
            .flat_map(|p| p.members.iter())
            .map(|m| (m.state, m.effective)),
    );
    FrontendWeights {
        active_pool: active,
        state,
        pools,
    }
}

#[cfg(test)]
mod tests;
