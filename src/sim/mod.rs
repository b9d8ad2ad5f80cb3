//! `vppsim`, the VPP simulator. Its core (`ip46`, `lb`, `maglev`) is a pure
//! model of VPP's lb plugin (VIP/AS pools, API return codes, Maglev
//! new-flow tables, sticky flows and counters, lazy removal with GC, dumps
//! and `show lb vips verbose` text) faithful enough that a client cannot
//! tell it from the captured VPP; it has no sockets and no clock. `server`
//! is the I/O shell: the binary-API socket, the fault layer and the request
//! recorder, on its own thread, feeding uptime into the model; `stats` is
//! the stats segment (memfd over `SCM_RIGHTS`) showing the model's counters.
//! docs/vppsim.md lists what is reproduced and what is simplified.

pub mod ip46;
pub mod lb;
pub mod maglev;
pub mod server;
pub mod stats;
