//! Everything that talks to VPP. Pure parts: the binary API wire codec
//! (`wire`), the planner that decides what to tell the `lb` plugin (`sync`)
//! and when the daemon may tell it anything (`warmup`). The I/O shells (the
//! API client, the stats reader) sit beside them.

pub mod client;
pub mod session;
pub mod sync;
pub mod warmup;
pub mod wire;
