//! Everything that talks to VPP. Pure parts: the binary API wire codec
//! (`wire`), the planner that decides what to tell the `lb` plugin (`sync`),
//! when the daemon may tell it anything (`warmup`) and the stats segment
//! parser (`stats`). The I/O shells (the API connection, the stats socket
//! and mapping) sit beside them.

pub mod client;
pub mod session;
pub mod stats;
pub mod sync;
pub mod warmup;
pub mod wire;
