//! Vocabulary shared by the health checker, the weights, the control socket
//! and the metrics: backend states, probe result codes, transitions.

use std::fmt;

/// State of one backend (spec/health.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    Unknown,
    Up,
    Down,
    Paused,
    Disabled,
    Removed,
}

impl State {
    pub const ALL: [State; 6] = [
        State::Unknown,
        State::Up,
        State::Down,
        State::Paused,
        State::Disabled,
        State::Removed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Unknown => "unknown",
            State::Up => "up",
            State::Down => "down",
            State::Paused => "paused",
            State::Disabled => "disabled",
            State::Removed => "removed",
        }
    }

    /// Whether a prober runs in this state.
    pub fn is_probing(self) -> bool {
        matches!(self, State::Unknown | State::Up | State::Down)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a transition happened: a probe result code (HAProxy vocabulary, plus
/// L3* for ICMP) or an operator/config action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    L3Ok,
    L3Tout,
    L3Con,
    L4Ok,
    L4Tout,
    L4Con,
    L6Ok,
    L6Tout,
    L6Rsp,
    L7Ok,
    L7Tout,
    L7Rsp,
    L7Sts,
    /// Static backend: synthetic pass.
    Static,
    Paused,
    Resumed,
    Enabled,
    Disabled,
    Removed,
    /// Prober (re)started after a reload changed the check.
    Restarted,
}

impl Code {
    pub const PROBE_CODES: [Code; 14] = [
        Code::L3Ok,
        Code::L3Tout,
        Code::L3Con,
        Code::L4Ok,
        Code::L4Tout,
        Code::L4Con,
        Code::L6Ok,
        Code::L6Tout,
        Code::L6Rsp,
        Code::L7Ok,
        Code::L7Tout,
        Code::L7Rsp,
        Code::L7Sts,
        Code::Static,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::L3Ok => "L3OK",
            Code::L3Tout => "L3TOUT",
            Code::L3Con => "L3CON",
            Code::L4Ok => "L4OK",
            Code::L4Tout => "L4TOUT",
            Code::L4Con => "L4CON",
            Code::L6Ok => "L6OK",
            Code::L6Tout => "L6TOUT",
            Code::L6Rsp => "L6RSP",
            Code::L7Ok => "L7OK",
            Code::L7Tout => "L7TOUT",
            Code::L7Rsp => "L7RSP",
            Code::L7Sts => "L7STS",
            Code::Static => "static",
            Code::Paused => "paused",
            Code::Resumed => "resumed",
            Code::Enabled => "enabled",
            Code::Disabled => "disabled",
            Code::Removed => "removed",
            Code::Restarted => "restarted",
        }
    }

    /// Whether this probe code counts as a pass.
    pub fn is_pass(self) -> bool {
        matches!(
            self,
            Code::L3Ok | Code::L4Ok | Code::L6Ok | Code::L7Ok | Code::Static
        )
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Outcome of one probe, as the prober reports it to the state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    pub code: Code,
    /// Human detail, e.g. "connection refused" or "status 503".
    pub detail: String,
    /// Microseconds from probe start to result.
    pub duration_us: u64,
}

impl ProbeResult {
    pub fn passed(&self) -> bool {
        self.code.is_pass()
    }
}

/// A recorded state change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: State,
    pub to: State,
    pub code: Code,
    /// Wall clock, milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
}
