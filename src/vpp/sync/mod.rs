//! The lb sync planner (spec/dataplane.md §6–7): desired VIPs (from config and
//! health) versus current VIPs (from VPP's dumps and the `show lb vips verbose`
//! scrape) → an ordered list of lb API calls.
//!
//! Pure: the caller executes the calls, feeds each successful flush-bearing
//! one back into [`FlushMemory`], and counts them with [`ChangeCounts`].
//! * `model` — keys, desired/current representations, dump normalisation;
//! * `cli` — parser for the `show lb vips verbose` text;
//! * `flush` — the edge-triggered flush markers;
//! * `plan` — the reconcile algorithm and change accounting.

pub mod cli;
pub mod flush;
pub mod model;
pub mod plan;

pub use cli::{parse_show_lb_vips, sticky_from_cli, CliAs, CliCounters, CliVip};
pub use flush::FlushMemory;
pub use model::{
    current_from_dumps, CurrentAs, CurrentVip, DesiredAs, DesiredVip, DumpAddr, DumpAs, DumpVip,
    Encap, KeyError, VipKey,
};
pub use plan::{plan_all, plan_vip, recreate_reason, ChangeCounts, LbCall, RecreateReason};

#[cfg(test)]
mod cli_tests;
#[cfg(test)]
mod e2e_tests;
#[cfg(test)]
mod fake_lb;
#[cfg(test)]
mod flush_tests;
#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod plan_tests;
#[cfg(test)]
mod test_support;
