//! Filling a metrics snapshot from the daemon's state at scrape time.

use std::time::Instant;

use crate::logging;
use crate::metrics::snapshot::{
    ApiCallCount, ApiDirection, ApiResult, BackendMetrics, DaemonMetrics, FrontendMetrics,
    Lateness, LbSyncCount, MetricsSnapshot, PoolMemberWeight, SyncErrorCount, SyncKind, SyncScope,
    TransitionCount, VppConnection, VppMetrics,
};

use super::frontends;
use super::Daemon;

fn scope(s: &str) -> SyncScope {
    if s == "vip" {
        SyncScope::Vip
    } else {
        SyncScope::All
    }
}

fn kind(k: &str) -> Option<SyncKind> {
    Some(match k {
        "vip_added" => SyncKind::VipAdded,
        "vip_removed" => SyncKind::VipRemoved,
        "as_added" => SyncKind::AsAdded,
        "as_removed" => SyncKind::AsRemoved,
        "as_weight_updated" => SyncKind::AsWeightUpdated,
        _ => return None,
    })
}

impl Daemon {
    pub(super) fn metrics_snapshot(&self, now: Instant) -> MetricsSnapshot {
        let backends = self
            .checker
            .iter()
            .map(|s| BackendMetrics {
                name: s.name.to_string(),
                state: s.health.state(),
                health: s.health.counter(),
                enabled: s.health.enabled(),
                check_type: s.check_type().map(|t| t.as_str()).unwrap_or("static"),
                probes: s.stats.clone(),
                transitions: s
                    .transition_counts
                    .iter()
                    .map(|(from, to, count)| TransitionCount { from, to, count })
                    .collect(),
            })
            .collect();
        let mut pool_members = Vec::new();
        let mut fronts = Vec::new();
        for name in self.config.frontends.keys() {
            fronts.push(FrontendMetrics {
                name: name.clone(),
                state: self.frontends.state(name),
            });
            if let Some(w) = frontends::evaluate(&self.config, name, &|b| self.checker.state_of(b))
            {
                for p in &w.pools {
                    for m in &p.members {
                        pool_members.push(PoolMemberWeight {
                            frontend: name.clone(),
                            pool: p.name.clone(),
                            backend: m.backend.clone(),
                            configured: u32::from(m.configured),
                            effective: u32::from(m.effective.weight),
                        });
                    }
                }
            }
        }
        let c = &self.dataplane.counters;
        let vpp = VppMetrics {
            connection: self
                .dataplane
                .info()
                .filter(|_| self.dataplane.is_up())
                .map(|i| VppConnection {
                    version: i.version.clone(),
                    build_date: i.build_date.clone(),
                    pid: i.pid,
                    uptime_seconds: self
                        .dataplane
                        .boottime()
                        .map(|b| (logging::now_unix_ms() as f64 / 1000.0 - b as f64).max(0.0)),
                    connected_seconds: now.saturating_duration_since(i.connected_at).as_secs_f64(),
                }),
            api: c
                .api
                .iter()
                .map(|(&(msg, dir, res), &count)| ApiCallCount {
                    msg: msg.to_string(),
                    direction: if dir == "send" {
                        ApiDirection::Send
                    } else {
                        ApiDirection::Recv
                    },
                    result: if res == "success" {
                        ApiResult::Success
                    } else {
                        ApiResult::Failure
                    },
                    count,
                })
                .collect(),
            lbsync: c
                .lbsync
                .iter()
                .filter_map(|(&(s, k), &count)| {
                    kind(k).map(|kind| LbSyncCount {
                        scope: scope(s),
                        kind,
                        count,
                    })
                })
                .collect(),
            drift_repairs: c.drift_repairs,
            sync_errors: c
                .errors
                .iter()
                .map(|(&s, &count)| SyncErrorCount {
                    scope: scope(s),
                    count,
                })
                .collect(),
            vips: self.dataplane.vip_counter_metrics(),
        };
        let lat = &self.checker.lateness;
        let (lines, dropped) = logging::counters();
        let start_ms = logging::now_unix_ms()
            .saturating_sub(now.saturating_duration_since(self.started).as_millis() as u64);
        MetricsSnapshot {
            backends,
            frontends: fronts,
            pool_members,
            vpp,
            daemon: DaemonMetrics {
                version: env!("CARGO_PKG_VERSION").to_string(),
                start_time_unix_seconds: start_ms as f64 / 1000.0,
                uptime_seconds: now.saturating_duration_since(self.started).as_secs_f64(),
                loop_iterations: self.loop_stats.iterations,
                loop_events: self.loop_stats.events,
                timer_lateness: Lateness {
                    p50_seconds: lat.quantile_us(0.5) as f64 / 1e6,
                    p99_seconds: lat.quantile_us(0.99) as f64 / 1e6,
                    max_seconds: lat.max_us() as f64 / 1e6,
                    sum_seconds: lat.sum_us() as f64 / 1e6,
                    count: lat.count(),
                },
                log_lines_written: lines,
                log_lines_dropped: dropped,
                control_clients: self.control.client_count() as u64,
                metrics_clients: self
                    .metrics
                    .as_ref()
                    .map(|m| m.client_count() as u64)
                    .unwrap_or(0),
                probes_in_flight: self.checker.in_flight() as u64,
            },
        }
    }
}
