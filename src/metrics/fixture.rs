//! Synthetic snapshots for the metrics tests and the render benchmark.

use std::time::Duration;

use crate::health::{Code, State};
use crate::probe_stats::ProbeStats;
use crate::weights::FrontendState;

use super::snapshot::*;

/// `backends` backends named `web-1 ..`, cycling through the states
/// (`web-1` is up), 10 per frontend; `vips` VIPs with counters.
pub fn synthetic(backends: usize, vips: usize) -> MetricsSnapshot {
    let mut s = MetricsSnapshot::default();
    for i in 1..=backends {
        let state = match i % 7 {
            1..=3 => State::Up,
            4 => State::Down,
            5 => State::Unknown,
            6 => State::Paused,
            _ => State::Disabled,
        };
        let mut probes = ProbeStats::default();
        for k in 0..(i % 5 + 3) {
            probes.record(Code::L7Ok, Duration::from_micros(300 + 700 * k as u64));
        }
        if state == State::Down {
            probes.record(Code::L7Sts, Duration::from_millis(12));
            probes.record(Code::L4Tout, Duration::from_secs(3));
        }
        s.backends.push(BackendMetrics {
            name: format!("web-{i}"),
            state,
            health: (i % 4) as u32,
            enabled: state != State::Disabled,
            check_type: if i % 3 == 0 { "tcp" } else { "http" },
            probes,
            transitions: vec![
                TransitionCount {
                    from: State::Unknown,
                    to: State::Up,
                    count: 1,
                },
                TransitionCount {
                    from: State::Up,
                    to: State::Down,
                    count: (i % 3) as u64,
                },
            ],
        });
        s.pool_members.push(PoolMemberWeight {
            frontend: format!("fe-{}", i / 10),
            pool: if i % 2 == 0 { "primary" } else { "fallback" }.into(),
            backend: format!("web-{i}"),
            configured: 100,
            effective: if state == State::Up { 100 } else { 0 },
        });
    }
    for f in 0..=backends / 10 {
        s.frontends.push(FrontendMetrics {
            name: format!("fe-{f}"),
            state: if f % 5 == 4 {
                FrontendState::Down
            } else {
                FrontendState::Up
            },
        });
    }
    for v in 0..vips {
        s.vpp.vips.push(VipCounters {
            prefix: format!("192.0.{}.{}/32", v / 250, v % 250 + 1),
            protocol: if v % 2 == 0 { "tcp" } else { "udp" },
            port: 80 + (v % 3) as u16,
            first: v as u64 * 10,
            next: v as u64 * 1000,
            untracked: 3,
            no_server: v as u64 % 2,
            route_packets: v as u64 * 1013,
            route_bytes: v as u64 * 1_000_000_007,
        });
    }
    s.vpp.connection = Some(VppConnection {
        version: "24.10-release".into(),
        build_date: "2024-10-30T12:00:00".into(),
        pid: 4242,
        uptime_seconds: Some(86400.5),
        connected_seconds: 3600.25,
    });
    s.vpp.api = vec![
        ApiCallCount {
            msg: "lb_add_del_vip_v2".into(),
            direction: ApiDirection::Send,
            result: ApiResult::Success,
            count: 12,
        },
        ApiCallCount {
            msg: "lb_add_del_as_v2".into(),
            direction: ApiDirection::Recv,
            result: ApiResult::Failure,
            count: 1,
        },
    ];
    s.vpp.lbsync = vec![
        LbSyncCount {
            scope: SyncScope::All,
            kind: SyncKind::VipAdded,
            count: 4,
        },
        LbSyncCount {
            scope: SyncScope::Vip,
            kind: SyncKind::AsWeightUpdated,
            count: 17,
        },
    ];
    s.vpp.drift_repairs = 2;
    s.vpp.sync_errors = vec![SyncErrorCount {
        scope: SyncScope::All,
        count: 1,
    }];
    s.daemon = DaemonMetrics {
        version: "0.1.0".into(),
        start_time_unix_seconds: 1_700_000_000.0,
        uptime_seconds: 3700.5,
        loop_iterations: 123_456,
        loop_events: 234_567,
        timer_lateness: Lateness {
            p50_seconds: 0.0002,
            p99_seconds: 0.004,
            max_seconds: 0.031,
            sum_seconds: 12.5,
            count: 50_000,
        },
        log_lines_written: 999,
        log_lines_dropped: 3,
        control_clients: 1,
        metrics_clients: 1,
        probes_in_flight: 17,
    };
    s
}
