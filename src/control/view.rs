//! Plain data the daemon fills to answer show commands and feed watchers.
//!
//! Deliberately independent of the rest of the crate (strings and numbers
//! only): the daemon converts its state into these at the moment of the
//! request, and `control::render` turns them into text or JSON. Lists are
//! rendered in the order given; the daemon sorts by name where the spec says
//! so. Wall-clock fields are Unix milliseconds; ages are precomputed by the
//! daemon (it owns the clock) so rendering stays pure.

use std::time::Duration;

/// `show version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionView {
    pub version: String,
    pub commit: String,
    pub build_date: String,
}

/// One frontend (VIP), for `show frontends [NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontendView {
    pub name: String,
    /// Address without prefix length.
    pub address: String,
    pub protocol: String,
    /// 0 = all ports.
    pub port: u16,
    /// Empty = not set.
    pub description: String,
    pub src_ip_sticky: bool,
    pub flush_on_down: bool,
    /// Aggregate state (spec/health.md §9).
    pub state: String,
    /// Priority order.
    pub pools: Vec<PoolView>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolView {
    pub name: String,
    /// This pool currently carries the traffic (failover).
    pub active: bool,
    pub members: Vec<MemberView>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberView {
    pub backend: String,
    pub configured_weight: u8,
    pub effective_weight: u8,
    /// The AS is (to be) programmed with `is_flush`.
    pub flush: bool,
    pub state: String,
}

/// One backend, for `show backends [NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendView {
    pub name: String,
    pub address: String,
    pub state: String,
    pub enabled: bool,
    /// `None`: static backend.
    pub healthcheck: Option<String>,
    /// `icmp`, `tcp`, `http`, `https` or `static`.
    pub check_type: String,
    /// Rise/fall counter (spec/health.md §4), 0..=rise+fall-1.
    pub counter: u32,
    pub rise: u32,
    pub fall: u32,
    /// Result code of the last probe, if any ran yet.
    pub last_code: Option<String>,
    /// Human detail of the last probe, e.g. "connection refused".
    pub last_detail: Option<String>,
    /// Every pool membership, in frontend then pool order.
    pub frontends: Vec<BackendUseView>,
    /// Newest first.
    pub transitions: Vec<TransitionView>,
}

/// A backend's membership in one frontend's pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendUseView {
    pub frontend: String,
    pub pool: String,
    pub effective_weight: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionView {
    pub from: String,
    pub to: String,
    pub code: String,
    pub at_unix_ms: u64,
    /// How long ago, at the time of the request.
    pub age_ms: u64,
}

/// One health check, for `show healthchecks [NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckView {
    pub name: String,
    pub check_type: String,
    /// `None` for icmp.
    pub port: Option<u16>,
    pub interval: Duration,
    pub fast_interval: Duration,
    pub down_interval: Duration,
    pub timeout: Duration,
    pub rise: u32,
    pub fall: u32,
    /// Type-specific settings (`path`, `host`, `response-codes`, …) in a
    /// stable order, values already formatted.
    pub params: Vec<(String, String)>,
    /// Names of the backends using this check.
    pub backends: Vec<String>,
}

/// `show vpp info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VppInfoView {
    pub version: String,
    pub build_date: String,
    pub build_directory: String,
    pub pid: u32,
    pub boottime_unix_ms: u64,
    pub boot_age_ms: u64,
    pub connected_unix_ms: u64,
    pub connected_age_ms: u64,
    /// Size of VPP's message table.
    pub messages: usize,
    /// Sync and API counters (`sync-runs-all`, `changes-as-added`, …), in a
    /// stable order.
    pub counters: Vec<(String, u64)>,
}

/// `show vpp lb state`: what VPP has programmed (not what we want).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbStateView {
    /// `None`: not configured in VPP.
    pub ipv4_src_address: Option<String>,
    pub ipv6_src_address: Option<String>,
    pub sticky_buckets_per_core: u32,
    pub flow_timeout_secs: u32,
    pub vips: Vec<VipView>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipView {
    /// Address without `/32` / `/128`.
    pub address: String,
    pub protocol: String,
    pub port: u16,
    /// `gre4`, `gre6`, `l3dsr`, `nat4`, `nat6`.
    pub encap: String,
    pub src_ip_sticky: bool,
    /// Our frontend for this VIP, if it is one of ours.
    pub frontend: Option<String>,
    pub ases: Vec<AsView>,
}

/// One application server of a VIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsView {
    pub address: String,
    pub weight: u8,
    /// Buckets of the Maglev table pointing at this AS.
    pub buckets: u32,
    /// What maglevd wants for this AS; `None` when it should not exist.
    pub desired: Option<u8>,
}

impl AsView {
    /// VPP's weight differs from ours (or the AS should not be there).
    pub fn drift(&self) -> bool {
        self.desired != Some(self.weight)
    }
}

/// `show vpp lb counters`: one row per VIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbCounterView {
    /// Address without `/32` / `/128`.
    pub vip: String,
    pub protocol: String,
    pub port: u16,
    pub first: u64,
    pub next: u64,
    pub untracked: u64,
    pub no_server: u64,
    pub fib_packets: u64,
    pub fib_bytes: u64,
}

/// One `watch events` item (open-questions Q-T2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventView {
    /// One per frontend that references the backend (spec/health.md §8).
    /// Snapshot events at watch start have `from == to`.
    Backend {
        backend: String,
        frontend: String,
        from: String,
        to: String,
        code: String,
        at_unix_ms: u64,
    },
    Frontend {
        frontend: String,
        from: String,
        to: String,
        at_unix_ms: u64,
    },
    /// A log record: stable event name plus logfmt fields.
    Log {
        level: String,
        event: String,
        fields: Vec<(String, String)>,
        at_unix_ms: u64,
    },
}
