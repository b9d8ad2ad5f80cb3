//! vpp-maglev: a health-checking control plane for VPP's `lb` (Maglev) plugin.
//!
//! The crate is laid out along the data flow (docs/architecture.md):
//! `config` → `health` (probe results → states) → `weights` (states →
//! effective weights) → `vpp` (sync planner, wire codec, session) and, on the
//! side, `control` (the text socket) and `metrics`. Only `daemon` owns
//! sockets, the clock and the `mio::Poll`; everything it calls is pure.

pub mod config;
pub mod control;
pub mod daemon;
pub mod duration;
pub mod health;
pub mod json;
pub mod logging;
pub mod metrics;
pub mod probe;
pub mod probe_stats;
pub mod sim;
pub mod timer;
pub mod vpp;
pub mod weights;
