//! The per-backend health state machine (spec/health.md §3, §4, §6, §7):
//! the HAProxy-style rise/fall counter, the expedited resolution of
//! `unknown`, the operator actions and the bounded transition history.
//!
//! Pure: no sockets, no clock. The daemon feeds probe results and operator
//! actions together with the current wall-clock time in milliseconds and acts
//! on the returned [`Transition`] (events, logs, metrics, VPP sync).
//!
//! Decisions (spec/open-questions.md):
//! * Q-H1: the counter follows the stated formulas with ±1 steps and no jump
//!   to `Max`/0 when the state flips. A barely-up backend (counter = rise)
//!   goes down on its next failure; a fully-up one (counter = Max) needs
//!   `fall` failures.
//! * Q-H4: pause when paused and enable/disable when already there are
//!   successful no-ops; resume when not paused is an error; pause/resume of a
//!   disabled backend is an error; every action on a removed backend is an
//!   error.

use super::history::History;
use std::fmt;

use super::types::{Code, State, Transition};

/// Why an operator action was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionError {
    /// pause/resume of a disabled backend.
    Disabled,
    /// resume of a backend that is not paused.
    NotPaused,
    /// Any action on a backend that left the configuration.
    Removed,
}

impl fmt::Display for ActionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ActionError::Disabled => "backend is disabled",
            ActionError::NotPaused => "backend is not paused",
            ActionError::Removed => "backend was removed",
        })
    }
}

impl std::error::Error for ActionError {}

/// An operator action from the control socket (spec/health.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Pause,
    Resume,
    Enable,
    Disable,
}

impl Action {
    pub const ALL: [Action; 4] = [
        Action::Pause,
        Action::Resume,
        Action::Enable,
        Action::Disable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::Enable => "enable",
            Action::Disable => "disable",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Result of an operator action: `Ok(None)` is a successful no-op.
pub type ActionResult = Result<Option<Transition>, ActionError>;

/// Health of one backend: state, rise/fall counter and recent transitions.
///
/// One instance lives per configured backend for as long as the backend is in
/// the configuration; enable/disable and an unchanged reload keep it (and so
/// its history).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendHealth {
    state: State,
    /// At most `rise + fall − 1`: 17 bits.
    counter: u32,
    /// The config keeps rise and fall within 1..=65535 (they are read for
    /// every result of 10,000 backends, and the narrow types keep the
    /// struct at 48 bytes).
    rise: u16,
    fall: u16,
    /// At most this many entries in `history`.
    history_cap: u32,
    /// State changes so far, wrapping: the VPP sync flushes an AS at most
    /// once per value (the "flush epoch"); only a change of value matters,
    /// and 65,536 transitions between two syncs of one AS do not happen.
    transitions: u16,
    /// Newest first, at most `history_cap` entries.
    history: History,
    /// Wall-clock time of the last state change (or of creation).
    since_unix_ms: u64,
}

/// `usize` caps from the config, stored as u32 (a cap beyond 4 billion
/// transitions is the same as unbounded).
fn cap_u32(cap: usize) -> u32 {
    u32::try_from(cap.max(1)).unwrap_or(u32::MAX)
}

/// Rise and fall as stored: at least 1, and at most 65,535 (the config's
/// range; a larger value here is clamped, not wrapped).
fn threshold_u16(n: u32) -> u16 {
    u16::try_from(n.max(1)).unwrap_or(u16::MAX)
}

impl BackendHealth {
    /// A new backend: `unknown` with the expedited counter (rise − 1), or
    /// `disabled` when the configuration says `enabled: false`.
    ///
    /// `rise` and `fall` are within 1..=65535 (config validation guarantees
    /// it; we clamp anyway so the arithmetic cannot underflow). `history_cap` is
    /// clamped to at least 1 so the last transition is always available.
    /// Creation records no transition.
    pub fn new(rise: u32, fall: u32, history_cap: usize, enabled: bool, now_ms: u64) -> Self {
        let rise = threshold_u16(rise);
        BackendHealth {
            state: if enabled {
                State::Unknown
            } else {
                State::Disabled
            },
            counter: u32::from(rise) - 1,
            rise,
            fall: threshold_u16(fall),
            history: History::default(),
            history_cap: cap_u32(history_cap),
            since_unix_ms: now_ms,
            transitions: 0,
        }
    }

    /// Number of state changes since creation; changes with every transition.
    pub fn transitions(&self) -> u64 {
        u64::from(self.transitions)
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn counter(&self) -> u32 {
        self.counter
    }

    pub fn rise(&self) -> u32 {
        u32::from(self.rise)
    }

    pub fn fall(&self) -> u32 {
        u32::from(self.fall)
    }

    /// Upper bound of the counter: `rise + fall − 1`.
    pub fn max(&self) -> u32 {
        self.rise() + self.fall() - 1
    }

    /// Derived attribute (spec/health.md §6): everything but `disabled`.
    pub fn enabled(&self) -> bool {
        self.state != State::Disabled
    }

    /// Wall-clock milliseconds of the last state change, or of creation.
    pub fn since_unix_ms(&self) -> u64 {
        self.since_unix_ms
    }

    /// Recorded transitions, newest first.
    pub fn history(&self) -> impl Iterator<Item = &Transition> + '_ {
        self.history.iter()
    }

    pub fn last_transition(&self) -> Option<&Transition> {
        self.history.newest()
    }

    pub fn history_cap(&self) -> usize {
        self.history_cap as usize
    }

    /// Applies a reloaded `transition-history`; drops the oldest entries if it
    /// shrank. Clamped to at least 1.
    pub fn set_history_cap(&mut self, cap: usize) {
        self.history_cap = cap_u32(cap);
        self.history.truncate(self.history_cap as usize);
    }

    /// Applies one probe result. Results arriving while the backend is not
    /// probing (paused, disabled, removed — e.g. an in-flight probe finishing
    /// after a pause) are discarded without touching the counter.
    ///
    /// While `unknown`, any failure resolves to `down` and a pass to `up`
    /// (the counter was preset to rise − 1 on entering `unknown`, so one pass
    /// reaches `rise`).
    pub fn record(&mut self, code: Code, now_ms: u64) -> Option<Transition> {
        if !self.state.is_probing() {
            return None;
        }
        let passed = code.is_pass();
        self.counter = if passed {
            self.counter.saturating_add(1).min(self.max())
        } else {
            self.counter.saturating_sub(1)
        };
        let next = match (self.state, passed) {
            (State::Unknown, false) => State::Down,
            _ if self.counter >= self.rise() => State::Up,
            _ => State::Down,
        };
        self.transition_to(next, code, now_ms)
    }

    /// Dispatches an operator action; see the individual methods.
    pub fn apply(&mut self, action: Action, now_ms: u64) -> ActionResult {
        match action {
            Action::Pause => self.pause(now_ms),
            Action::Resume => self.resume(now_ms),
            Action::Enable => self.enable(now_ms),
            Action::Disable => self.disable(now_ms),
        }
    }

    /// unknown/up/down → `paused`; the daemon stops the prober.
    pub fn pause(&mut self, now_ms: u64) -> ActionResult {
        match self.state {
            State::Removed => Err(ActionError::Removed),
            State::Disabled => Err(ActionError::Disabled),
            State::Paused => Ok(None),
            State::Unknown | State::Up | State::Down => {
                Ok(self.transition_to(State::Paused, Code::Paused, now_ms))
            }
        }
    }

    /// paused → `unknown` with the expedited counter; the daemon restarts the
    /// prober with an immediate first probe.
    pub fn resume(&mut self, now_ms: u64) -> ActionResult {
        match self.state {
            State::Removed => Err(ActionError::Removed),
            State::Disabled => Err(ActionError::Disabled),
            State::Paused => Ok(self.enter_unknown(Code::Resumed, now_ms)),
            State::Unknown | State::Up | State::Down => Err(ActionError::NotPaused),
        }
    }

    /// disabled → `unknown` with the expedited counter, keeping the history.
    pub fn enable(&mut self, now_ms: u64) -> ActionResult {
        match self.state {
            State::Removed => Err(ActionError::Removed),
            State::Disabled => Ok(self.enter_unknown(Code::Enabled, now_ms)),
            State::Unknown | State::Up | State::Down | State::Paused => Ok(None),
        }
    }

    /// Any state but removed → `disabled`; the daemon stops the prober. The
    /// backend stays in the desired VPP set with weight 0 and flush.
    pub fn disable(&mut self, now_ms: u64) -> ActionResult {
        match self.state {
            State::Removed => Err(ActionError::Removed),
            State::Disabled => Ok(None),
            State::Unknown | State::Up | State::Down | State::Paused => {
                Ok(self.transition_to(State::Disabled, Code::Disabled, now_ms))
            }
        }
    }

    /// The backend vanished from the configuration on reload. Final: every
    /// later action is refused and every later result discarded.
    pub fn remove(&mut self, now_ms: u64) -> ActionResult {
        match self.state {
            State::Removed => Err(ActionError::Removed),
            _ => Ok(self.transition_to(State::Removed, Code::Removed, now_ms)),
        }
    }

    /// A reload changed the backend's check (possibly its rise/fall): take the
    /// new thresholds and, if the backend is probing, go back to `unknown`
    /// with the expedited counter so the new check resolves the state with
    /// one probe.
    ///
    /// A paused or disabled backend keeps its state (the operator's decision
    /// outlives the reload); resume/enable preset the counter anyway. History
    /// is kept. Restarting an `unknown` backend resets the counter but records
    /// no transition, since the state does not change.
    pub fn restart(&mut self, rise: u32, fall: u32, now_ms: u64) -> ActionResult {
        if self.state == State::Removed {
            return Err(ActionError::Removed);
        }
        self.rise = threshold_u16(rise);
        self.fall = threshold_u16(fall);
        if self.state.is_probing() {
            Ok(self.enter_unknown(Code::Restarted, now_ms))
        } else {
            // Keep the counter inside the new bounds; resume/enable preset it.
            self.counter = self.counter.min(self.max());
            Ok(None)
        }
    }

    fn enter_unknown(&mut self, code: Code, now_ms: u64) -> Option<Transition> {
        self.counter = self.rise() - 1;
        self.transition_to(State::Unknown, code, now_ms)
    }

    /// Records a state change; `None` if `to` is the current state.
    fn transition_to(&mut self, to: State, code: Code, now_ms: u64) -> Option<Transition> {
        if to == self.state {
            return None;
        }
        let transition = Transition {
            from: self.state,
            to,
            code,
            at_unix_ms: now_ms,
        };
        self.state = to;
        self.since_unix_ms = now_ms;
        self.transitions = self.transitions.wrapping_add(1);
        self.history
            .push(transition.clone(), self.history_cap as usize);
        Some(transition)
    }
}

#[cfg(test)]
mod tests;
