//! The counter scrape (spec/dataplane.md §11): every 5 s while connected,
//! map each VIP to lb's internal index (`show lb vips verbose`) and to its
//! FIB route's stats index (`ip_route_lookup`), then read the four lb
//! counters and `/net/route/to` from the mapped stats segment.
//!
//! Decision (docs/stats.md): a stats socket that fails never stops VPP
//! programming — health-driven weights matter more than counters. The
//! stats connection is retried at every scrape and always re-made after an
//! API reconnect, so a VPP restart (new segment) is picked up.

use std::collections::BTreeMap;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use log::Level;
use mio::unix::SourceFd;
use mio::{Interest, Registry};

use crate::logev;
use crate::metrics::snapshot::VipCounters as VipMetric;
use crate::vpp::stats::{
    read_lb_counters, DirectoryIndex, MappedSegment, ReadPolicy, StatsConnector, VipCounters,
    VipQuery,
};
use crate::vpp::sync::VipKey;

use super::super::tokens;

/// Scrape period.
pub const SCRAPE_INTERVAL: Duration = Duration::from_secs(5);
/// Re-resolve VIP indexes at least this often even if our VIP set did not
/// change (routes can be re-created behind our back; their index moves).
pub const RESOLVE_MAX_AGE: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct StatsState {
    socket: Option<PathBuf>,
    connector: Option<StatsConnector>,
    segment: Option<MappedSegment>,
    index: DirectoryIndex,
    boottime: Option<u64>,
    /// VIP → (lb index, route stats index).
    pub(super) resolved: BTreeMap<VipKey, (u32, Option<u32>)>,
    pub(super) resolved_at: Option<Instant>,
    /// Bumped by the reconciler whenever a VIP is added or removed.
    pub(super) resolved_version: u64,
    pub(super) resolving: bool,
    snapshot: Vec<(VipKey, VipCounters)>,
    warned: bool,
}

impl StatsState {
    pub fn new(socket: Option<PathBuf>) -> StatsState {
        StatsState {
            socket,
            ..StatsState::default()
        }
    }

    pub fn boottime(&self) -> Option<u64> {
        self.boottime.filter(|_| self.segment.is_some())
    }

    pub fn snapshot(&self) -> &[(VipKey, VipCounters)] {
        &self.snapshot
    }

    /// Forget the segment (API disconnect: VPP may be restarting).
    pub fn reset(&mut self, registry: &Registry) {
        self.drop_connector(registry);
        self.segment = None;
        self.index = DirectoryIndex::new();
        self.boottime = None;
        self.resolved.clear();
        self.resolved_at = None;
        self.resolving = false;
        self.snapshot.clear();
    }

    fn drop_connector(&mut self, registry: &Registry) {
        if let Some(c) = self.connector.take() {
            let fd = c.as_fd().as_raw_fd();
            let _ = registry.deregister(&mut SourceFd(&fd));
        }
    }

    /// Start fetching the segment if we have none (non-blocking).
    pub fn ensure_connected(&mut self, registry: &Registry) {
        if self.segment.is_some() || self.connector.is_some() {
            return;
        }
        let Some(path) = self.socket.clone() else {
            return;
        };
        match StatsConnector::connect(&path) {
            Ok(c) => {
                let fd = c.as_fd().as_raw_fd();
                if let Err(e) =
                    registry.register(&mut SourceFd(&fd), tokens::VPP_STATS, Interest::READABLE)
                {
                    logev!(
                        Level::Warn,
                        "vpp-stats-connect-failed",
                        socket = path.display(),
                        error = e
                    );
                    return;
                }
                self.connector = Some(c);
                // VPP may already have sent the fd.
                self.on_ready(registry);
            }
            Err(e) => {
                logev!(
                    if self.warned {
                        Level::Debug
                    } else {
                        Level::Warn
                    },
                    "vpp-stats-connect-failed",
                    socket = path.display(),
                    error = e,
                );
                self.warned = true;
            }
        }
    }

    /// The stats socket is readable: take the segment.
    pub fn on_ready(&mut self, registry: &Registry) {
        let Some(c) = self.connector.as_mut() else {
            return;
        };
        match c.poll_receive() {
            Ok(None) => return,
            Ok(Some(seg)) => {
                let inode = seg.inode();
                self.segment = Some(seg);
                self.index = DirectoryIndex::new();
                self.warned = false;
                self.boottime = self.segment.as_ref().and_then(|s| {
                    crate::vpp::stats::read_boottime(s, &mut self.index, ReadPolicy::default()).ok()
                });
                logev!(
                    Level::Info,
                    "vpp-stats-connect",
                    inode = inode,
                    boottime = self.boottime.unwrap_or(0),
                );
            }
            Err(e) => logev!(Level::Warn, "vpp-stats-connect-failed", error = e),
        }
        self.drop_connector(registry);
    }

    /// Whether the VIP indexes must be looked up again.
    pub fn needs_resolve(&self, now: Instant, version: u64) -> bool {
        !self.resolving
            && (self.resolved_version != version
                || self.resolved_at.map_or(true, |t| {
                    now.saturating_duration_since(t) >= RESOLVE_MAX_AGE
                }))
    }

    /// Read the counters of every resolved VIP.
    pub fn read(&mut self) {
        let Some(seg) = self.segment.as_ref() else {
            return;
        };
        let keys: Vec<VipKey> = self.resolved.keys().copied().collect();
        let queries: Vec<VipQuery> = self
            .resolved
            .values()
            .map(|&(lb_index, fib_index)| VipQuery {
                lb_index,
                fib_index,
            })
            .collect();
        let started = Instant::now();
        let cpu_started = thread_cpu_us();
        let result = read_lb_counters(seg, &mut self.index, ReadPolicy::default(), &queries);
        // The segment read alone (not the per-VIP debug lines below): what
        // one scrape costs the loop, for scripts/bench/metrics.sh.
        logev!(
            Level::Debug,
            "vpp-stats-scrape",
            vips = queries.len(),
            ok = result.is_ok(),
            duration_us = started.elapsed().as_micros(),
            cpu_us = thread_cpu_us().saturating_sub(cpu_started),
        );
        match result {
            Ok(snap) => {
                self.boottime = Some(snap.boottime);
                for (k, c) in keys.iter().zip(&snap.vips) {
                    logev!(
                        Level::Debug,
                        "vpp-vip-stats",
                        vip = k.prefix_string(),
                        protocol = k.protocol(),
                        port = k.port(),
                        first = c.first,
                        next = c.next,
                        untracked = c.untracked,
                        no_server = c.no_server,
                        fib_packets = c.fib_packets,
                        fib_bytes = c.fib_bytes,
                    );
                }
                self.snapshot = keys.into_iter().zip(snap.vips).collect();
            }
            Err(e) => logev!(Level::Debug, "vpp-lb-stats-error", error = e),
        }
    }

    pub fn vip_metrics(&self) -> Vec<VipMetric> {
        self.snapshot
            .iter()
            .map(|(k, c)| VipMetric {
                prefix: k.prefix_string(),
                protocol: protocol_label(k.protocol()),
                port: k.port(),
                first: c.first,
                next: c.next,
                untracked: c.untracked,
                no_server: c.no_server,
                route_packets: c.fib_packets,
                route_bytes: c.fib_bytes,
            })
            .collect()
    }
}

/// CPU time of the calling thread in µs (0 if the clock cannot be read):
/// the loop's own cost of a step, without time spent preempted.
pub fn thread_cpu_us() -> u64 {
    use nix::time::{clock_gettime, ClockId};
    clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map(|t| (t.tv_sec() as u64).saturating_mul(1_000_000) + (t.tv_nsec() as u64) / 1000)
        .unwrap_or(0)
}

pub fn protocol_label(p: u8) -> &'static str {
    match p {
        6 => "tcp",
        17 => "udp",
        _ => "any",
    }
}
