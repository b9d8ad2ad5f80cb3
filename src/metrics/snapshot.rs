//! The numbers a `/metrics` scrape exposes, as plain data the daemon fills
//! at scrape time, and their rendering into the exposition format
//! (spec/dataplane.md §12, Q-D6).
//!
//! Nothing here reads daemon state: the daemon copies what it has into a
//! [`MetricsSnapshot`] and calls [`render`] (in `render.rs`, re-exported). Gauges are therefore computed
//! at scrape time, and what is "omitted while disconnected" is decided by
//! `VppMetrics::connection` being `None`.

use crate::health::State;
use crate::probe_stats::ProbeStats;
use crate::weights::FrontendState;

pub use super::render::{render, render_into};

/// Everything one scrape shows.
#[derive(Debug, Clone, Default)]
pub struct MetricsSnapshot {
    pub backends: Vec<BackendMetrics>,
    pub frontends: Vec<FrontendMetrics>,
    /// One entry per pool listing of a backend.
    pub pool_members: Vec<PoolMemberWeight>,
    pub vpp: VppMetrics,
    pub daemon: DaemonMetrics,
}

#[derive(Debug, Clone)]
pub struct BackendMetrics {
    pub name: String,
    pub state: State,
    /// The rise/fall counter.
    pub health: u32,
    pub enabled: bool,
    /// Probe type label: `icmp`, `tcp`, `http`, `https` or `static`.
    pub check_type: &'static str,
    pub probes: ProbeStats,
    /// Totals since start, one entry per (from, to) pair seen.
    pub transitions: Vec<TransitionCount>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransitionCount {
    pub from: State,
    pub to: State,
    pub count: u64,
}

#[derive(Debug, Clone)]
pub struct FrontendMetrics {
    pub name: String,
    pub state: FrontendState,
}

#[derive(Debug, Clone)]
pub struct PoolMemberWeight {
    pub frontend: String,
    pub pool: String,
    pub backend: String,
    /// Configured (or operator-overridden) weight.
    pub configured: u32,
    /// Weight after state and pool failover, as desired in VPP.
    pub effective: u32,
}

#[derive(Debug, Clone, Default)]
pub struct VppMetrics {
    /// `None` while disconnected: the vpp gauges are then omitted.
    pub connection: Option<VppConnection>,
    pub api: Vec<ApiCallCount>,
    pub lbsync: Vec<LbSyncCount>,
    pub drift_repairs: u64,
    pub sync_errors: Vec<SyncErrorCount>,
    pub vips: Vec<VipCounters>,
}

#[derive(Debug, Clone)]
pub struct VppConnection {
    pub version: String,
    pub build_date: String,
    pub pid: u32,
    /// From the stats segment's `/sys/boottime`; `None` if not read yet.
    pub uptime_seconds: Option<f64>,
    pub connected_seconds: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiDirection {
    Send,
    Recv,
}

impl ApiDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiDirection::Send => "send",
            ApiDirection::Recv => "recv",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiResult {
    Success,
    Failure,
}

impl ApiResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiResult::Success => "success",
            ApiResult::Failure => "failure",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ApiCallCount {
    /// VPP message name, e.g. `lb_add_del_vip_v2`.
    pub msg: String,
    pub direction: ApiDirection,
    pub result: ApiResult,
    pub count: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncScope {
    All,
    Vip,
}

impl SyncScope {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncScope::All => "all",
            SyncScope::Vip => "vip",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncKind {
    VipAdded,
    VipRemoved,
    AsAdded,
    AsRemoved,
    AsWeightUpdated,
}

impl SyncKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncKind::VipAdded => "vip_added",
            SyncKind::VipRemoved => "vip_removed",
            SyncKind::AsAdded => "as_added",
            SyncKind::AsRemoved => "as_removed",
            SyncKind::AsWeightUpdated => "as_weight_updated",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LbSyncCount {
    pub scope: SyncScope,
    pub kind: SyncKind,
    pub count: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncErrorCount {
    pub scope: SyncScope,
    pub count: u64,
}

/// The lb plugin's per-VIP counters and the VIP route's FIB counters.
#[derive(Debug, Clone, Default)]
pub struct VipCounters {
    /// e.g. `192.0.2.1/32`.
    pub prefix: String,
    /// `tcp`, `udp` or `any`.
    pub protocol: &'static str,
    pub port: u16,
    pub first: u64,
    pub next: u64,
    pub untracked: u64,
    pub no_server: u64,
    pub route_packets: u64,
    pub route_bytes: u64,
}

/// Timer lateness (how long after its deadline a timer fired).
#[derive(Debug, Clone, Copy, Default)]
pub struct Lateness {
    pub p50_seconds: f64,
    pub p99_seconds: f64,
    pub max_seconds: f64,
    pub sum_seconds: f64,
    pub count: u64,
}

#[derive(Debug, Clone, Default)]
pub struct DaemonMetrics {
    pub version: String,
    pub start_time_unix_seconds: f64,
    pub uptime_seconds: f64,
    pub loop_iterations: u64,
    pub loop_events: u64,
    pub timer_lateness: Lateness,
    pub log_lines_written: u64,
    pub log_lines_dropped: u64,
    pub control_clients: u64,
    pub metrics_clients: u64,
    pub probes_in_flight: u64,
}

#[cfg(test)]
mod tests;
