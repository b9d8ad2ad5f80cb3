//! Everything that talks to VPP: the binary API wire codec (`wire`); the
//! session, stats reader and sync planner live beside it.

pub mod wire;
//! VPP integration: the pure planners that decide what to tell VPP's `lb`
//! plugin (`sync`) and when the daemon may tell it anything (`warmup`).
//! Sockets and the wire codec live beside them; nothing here does I/O.
pub mod sync;
pub mod warmup;
