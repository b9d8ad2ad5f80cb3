//! Everything that talks to VPP: the binary API wire codec (`wire`); the
//! session, stats reader and sync planner live beside it.

pub mod wire;
