//! The numbers a `/metrics` scrape exposes, as plain data the daemon fills
//! at scrape time, and their rendering into the exposition format
//! (spec/dataplane.md §12, Q-D6).
//!
//! Nothing here reads daemon state: the daemon copies what it has into a
//! [`MetricsSnapshot`] and calls [`render`]. Gauges are therefore computed
//! at scrape time, and what is "omitted while disconnected" is decided by
//! `VppMetrics::connection` being `None`.

use crate::health::{Code, State};
use crate::probe_stats::{ProbeStats, BUCKETS_SECONDS};
use crate::weights::FrontendState;

use super::exposition::{Buckets, MetricType, Writer};

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

/// Render a snapshot as a complete exposition document.
pub fn render(s: &MetricsSnapshot) -> String {
    render_into(s, String::new())
}

/// Like [`render`], reusing `buf`'s allocation (it is cleared first).
pub fn render_into(s: &MetricsSnapshot, mut buf: String) -> String {
    buf.clear();
    // Measured on the synthetic 10k-backend snapshot: ~1.5 KiB per backend.
    buf.reserve(s.backends.len() * 1600 + s.vpp.vips.len() * 900 + 8192);
    let mut w = Writer::with_buffer(buf);
    render_backends(&mut w, &s.backends);
    render_frontends(&mut w, &s.frontends, &s.pool_members);
    render_vpp(&mut w, &s.vpp);
    render_daemon(&mut w, &s.daemon);
    w.finish()
}

fn bool_value(b: bool) -> u64 {
    u64::from(b)
}

fn render_backends(w: &mut Writer, backends: &[BackendMetrics]) {
    {
        let mut f = w.family(
            "maglev_backend_state",
            MetricType::Gauge,
            "Backend state, one-hot: 1 for the current state, 0 for the others.",
        );
        for b in backends {
            for st in State::ALL {
                f.sample_u64(
                    &[("backend", &b.name), ("state", st.as_str())],
                    bool_value(b.state == st),
                );
            }
        }
    }
    {
        let mut f = w.family(
            "maglev_backend_health",
            MetricType::Gauge,
            "Rise/fall health counter of the backend (0 .. rise+fall-1).",
        );
        for b in backends {
            f.sample_u64(&[("backend", &b.name)], u64::from(b.health));
        }
    }
    {
        let mut f = w.family(
            "maglev_backend_enabled",
            MetricType::Gauge,
            "1 unless the backend is disabled.",
        );
        for b in backends {
            f.sample_u64(&[("backend", &b.name)], bool_value(b.enabled));
        }
    }
    {
        let mut f = w.family(
            "maglev_probe_total",
            MetricType::Counter,
            "Probes completed, by result code.",
        );
        for b in backends {
            for (code, n) in b.probes.by_code() {
                f.sample_u64(
                    &[
                        ("backend", &b.name),
                        ("type", b.check_type),
                        ("result", probe_result(code)),
                        ("code", code.as_str()),
                    ],
                    n,
                );
            }
        }
    }
    {
        let buckets = Buckets::new(&BUCKETS_SECONDS);
        let mut f = w.family(
            "maglev_probe_duration_seconds",
            MetricType::Histogram,
            "Probe duration from start to result.",
        );
        for b in backends {
            let d = &b.probes.durations;
            f.histogram(
                &[("backend", &b.name), ("type", b.check_type)],
                &buckets,
                &d.cumulative(),
                d.sum_seconds(),
                d.count(),
            );
        }
    }
    {
        let mut f = w.family(
            "maglev_backend_transitions_total",
            MetricType::Counter,
            "Backend state transitions, by from and to state.",
        );
        for b in backends {
            for t in &b.transitions {
                f.sample_u64(
                    &[
                        ("backend", &b.name),
                        ("from", t.from.as_str()),
                        ("to", t.to.as_str()),
                    ],
                    t.count,
                );
            }
        }
    }
}

fn probe_result(code: Code) -> &'static str {
    if code.is_pass() {
        "success"
    } else {
        "failure"
    }
}

fn render_frontends(w: &mut Writer, frontends: &[FrontendMetrics], members: &[PoolMemberWeight]) {
    {
        let mut f = w.family(
            "maglev_frontend_state",
            MetricType::Gauge,
            "Frontend aggregate state, one-hot: 1 for the current state.",
        );
        for fe in frontends {
            for st in FrontendState::ALL {
                f.sample_u64(
                    &[("frontend", &fe.name), ("state", st.as_str())],
                    bool_value(fe.state == st),
                );
            }
        }
    }
    let weights: [(&str, &str, fn(&PoolMemberWeight) -> u32); 2] = [
        (
            "maglev_frontend_pool_backend_weight",
            "Configured weight of a backend in a frontend pool.",
            |m| m.configured,
        ),
        (
            "maglev_frontend_pool_backend_effective_weight",
            "Effective weight (after state and pool failover) of a backend in a frontend pool.",
            |m| m.effective,
        ),
    ];
    for (name, help, value) in weights {
        let mut f = w.family(name, MetricType::Gauge, help);
        for m in members {
            f.sample_u64(
                &[
                    ("frontend", &m.frontend),
                    ("pool", &m.pool),
                    ("backend", &m.backend),
                ],
                u64::from(value(m)),
            );
        }
    }
}

fn render_vpp(w: &mut Writer, v: &VppMetrics) {
    w.family(
        "maglev_vpp_connected",
        MetricType::Gauge,
        "1 while the VPP API session is up.",
    )
    .sample_u64(&[], bool_value(v.connection.is_some()));
    if let Some(c) = &v.connection {
        if let Some(up) = c.uptime_seconds {
            w.family(
                "maglev_vpp_uptime_seconds",
                MetricType::Gauge,
                "VPP uptime from the stats segment's /sys/boottime.",
            )
            .sample(&[], up);
        }
        w.family(
            "maglev_vpp_connected_seconds",
            MetricType::Gauge,
            "Seconds since the VPP API session was established.",
        )
        .sample(&[], c.connected_seconds);
        let mut pid = String::new();
        super::exposition::push_u64(&mut pid, u64::from(c.pid));
        w.family(
            "maglev_vpp_info",
            MetricType::Gauge,
            "VPP version, build date and pid; always 1.",
        )
        .sample_u64(
            &[
                ("version", &c.version),
                ("build_date", &c.build_date),
                ("pid", &pid),
            ],
            1,
        );
    }
    {
        let mut f = w.family(
            "maglev_vpp_api_total",
            MetricType::Counter,
            "VPP API messages, by message name, direction and result.",
        );
        for a in &v.api {
            f.sample_u64(
                &[
                    ("msg", &a.msg),
                    ("direction", a.direction.as_str()),
                    ("result", a.result.as_str()),
                ],
                a.count,
            );
        }
    }
    {
        let mut f = w.family(
            "maglev_vpp_lbsync_total",
            MetricType::Counter,
            "Changes applied to VPP's lb state by sync runs, by scope and kind.",
        );
        for l in &v.lbsync {
            f.sample_u64(
                &[("scope", l.scope.as_str()), ("kind", l.kind.as_str())],
                l.count,
            );
        }
    }
    w.family(
        "maglev_vpp_lbsync_drift_repairs_total",
        MetricType::Counter,
        "Periodic full syncs that found VPP differing from the desired state.",
    )
    .sample_u64(&[], v.drift_repairs);
    {
        let mut f = w.family(
            "maglev_vpp_lbsync_errors_total",
            MetricType::Counter,
            "Sync runs that failed, by scope.",
        );
        for e in &v.sync_errors {
            f.sample_u64(&[("scope", e.scope.as_str())], e.count);
        }
    }
    render_vips(w, &v.vips);
}

fn render_vips(w: &mut Writer, vips: &[VipCounters]) {
    // Port labels are formatted once and shared by the three families.
    let ports: Vec<String> = vips
        .iter()
        .map(|v| {
            let mut s = String::new();
            super::exposition::push_u64(&mut s, u64::from(v.port));
            s
        })
        .collect();
    {
        let mut f = w.family(
            "maglev_vpp_vip_packets_total",
            MetricType::Counter,
            "Packets seen by the lb plugin per VIP, by kind (first, next, untracked, no_server).",
        );
        for (v, port) in vips.iter().zip(&ports) {
            for (kind, n) in [
                ("first", v.first),
                ("next", v.next),
                ("untracked", v.untracked),
                ("no_server", v.no_server),
            ] {
                f.sample_u64(
                    &[
                        ("prefix", &v.prefix),
                        ("protocol", v.protocol),
                        ("port", port),
                        ("kind", kind),
                    ],
                    n,
                );
            }
        }
    }
    let routes: [(&str, &str, fn(&VipCounters) -> u64); 2] = [
        (
            "maglev_vpp_vip_route_packets_total",
            "Packets through the VIP's FIB entry.",
            |v| v.route_packets,
        ),
        (
            "maglev_vpp_vip_route_bytes_total",
            "Bytes through the VIP's FIB entry.",
            |v| v.route_bytes,
        ),
    ];
    for (name, help, value) in routes {
        let mut f = w.family(name, MetricType::Counter, help);
        for (v, port) in vips.iter().zip(&ports) {
            f.sample_u64(
                &[
                    ("prefix", &v.prefix),
                    ("protocol", v.protocol),
                    ("port", port),
                ],
                value(v),
            );
        }
    }
}

fn render_daemon(w: &mut Writer, d: &DaemonMetrics) {
    w.family(
        "maglevd_build_info",
        MetricType::Gauge,
        "maglevd version; always 1.",
    )
    .sample_u64(&[("version", &d.version)], 1);
    w.family(
        "maglevd_start_time_seconds",
        MetricType::Gauge,
        "Start time of maglevd, seconds since the Unix epoch.",
    )
    .sample(&[], d.start_time_unix_seconds);
    w.family(
        "maglevd_uptime_seconds",
        MetricType::Gauge,
        "Seconds since maglevd started.",
    )
    .sample(&[], d.uptime_seconds);
    let counters: [(&str, &str, u64); 4] = [
        (
            "maglevd_loop_iterations_total",
            "Event loop iterations (poll wake-ups).",
            d.loop_iterations,
        ),
        (
            "maglevd_loop_events_total",
            "Readiness events handled by the event loop.",
            d.loop_events,
        ),
        (
            "maglevd_log_lines_total",
            "Log lines handed to the log writer.",
            d.log_lines_written,
        ),
        (
            "maglevd_log_lines_dropped_total",
            "Log lines dropped because the log writer fell behind.",
            d.log_lines_dropped,
        ),
    ];
    for (name, help, value) in counters {
        w.family(name, MetricType::Counter, help)
            .sample_u64(&[], value);
    }
    let l = &d.timer_lateness;
    w.family(
        "maglevd_timer_lateness_seconds",
        MetricType::Summary,
        "How late timers fire after their deadline.",
    )
    .summary(
        &[],
        &[(0.5, l.p50_seconds), (0.99, l.p99_seconds)],
        l.sum_seconds,
        l.count,
    );
    w.family(
        "maglevd_timer_lateness_max_seconds",
        MetricType::Gauge,
        "Largest timer lateness observed.",
    )
    .sample(&[], l.max_seconds);
    let gauges: [(&str, &str, u64); 3] = [
        (
            "maglevd_control_clients",
            "Connected control-socket clients.",
            d.control_clients,
        ),
        (
            "maglevd_metrics_clients",
            "Connected metrics HTTP clients.",
            d.metrics_clients,
        ),
        (
            "maglevd_probes_in_flight",
            "Probes started and not yet finished.",
            d.probes_in_flight,
        ),
    ];
    for (name, help, value) in gauges {
        w.family(name, MetricType::Gauge, help)
            .sample_u64(&[], value);
    }
}

#[cfg(test)]
mod tests;
