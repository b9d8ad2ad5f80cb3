//! Health: probe results → backend states (spec/health.md). Pure code: no
//! sockets, no clocks; time comes in as arguments.

pub mod history;
pub mod machine;
pub mod schedule;
pub mod shared_starts;
pub mod types;

pub use machine::{Action, ActionError, ActionResult, BackendHealth};
pub use schedule::{IntervalKind, Intervals, Rng, STATIC_REAFFIRM};
pub use types::{Code, ProbeResult, State, Transition};
