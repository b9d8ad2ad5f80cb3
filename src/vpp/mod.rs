//! Everything that talks to VPP: the binary API codec, the session, the sync
//! planner and the stats segment reader.

pub mod stats;
