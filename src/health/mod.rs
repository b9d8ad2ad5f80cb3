//! Health: probe results → backend states (spec/health.md). Pure code: no
//! sockets, no clocks; time comes in as arguments.

pub mod types;

pub use types::{Code, ProbeResult, State, Transition};
