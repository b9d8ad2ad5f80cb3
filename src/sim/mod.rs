//! `vppsim`'s pure core: a model of VPP's lb plugin (VIP/AS pools, API
//! return codes, Maglev new-flow tables, sticky flows and counters, lazy
//! removal with GC, dumps and `show lb vips verbose` text) faithful enough
//! that a client cannot tell it from the captured VPP. No sockets, no clock:
//! the simulator's server (elsewhere) owns I/O and feeds uptime in.
//! docs/vppsim.md lists what is reproduced and what is simplified.

pub mod ip46;
pub mod lb;
pub mod maglev;
