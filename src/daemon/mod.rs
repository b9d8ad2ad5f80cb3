//! The daemon: the single-threaded `mio` event loop and the glue that feeds
//! sockets, signals and time into the pure cores. This is the only module
//! that waits.

pub mod cli;
pub mod control_server;
pub mod reload;
pub mod rlimit;
