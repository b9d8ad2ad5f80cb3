//! What the dataplane reconciler knows about VPP and counts about itself.

use std::collections::BTreeMap;
use std::time::Instant;

/// VPP's identity, read at connect (`show vpp info`, `maglev_vpp_info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VppInfo {
    pub version: String,
    pub build_date: String,
    pub build_directory: String,
    pub pid: u32,
    pub client_index: u32,
    pub messages: usize,
    pub connected_unix_ms: u64,
    pub connected_at: Instant,
}

/// Sync and API counters (metrics and `show vpp info`).
#[derive(Debug, Default, Clone)]
pub struct DpCounters {
    /// (message, direction send|recv, result success|failure) → count.
    pub api: BTreeMap<(&'static str, &'static str, &'static str), u64>,
    /// (scope all|vip, kind) → changes made.
    pub lbsync: BTreeMap<(&'static str, &'static str), u64>,
    /// scope → sync runs completed.
    pub runs: BTreeMap<&'static str, u64>,
    /// Changes made by periodic passes: VPP had drifted from the config.
    pub drift_repairs: u64,
    /// scope → failed API calls during syncs.
    pub errors: BTreeMap<&'static str, u64>,
    pub connects: u64,
    pub disconnects: u64,
}

impl DpCounters {
    pub fn count_api(&mut self, msg: &'static str, direction: &'static str, ok: bool) {
        let result = if ok { "success" } else { "failure" };
        *self.api.entry((msg, direction, result)).or_insert(0) += 1;
    }

    /// Lines for `show vpp info`, in a stable order.
    pub fn summary(&self) -> Vec<(String, u64)> {
        let mut out = vec![
            ("connects".to_string(), self.connects),
            ("disconnects".to_string(), self.disconnects),
        ];
        for scope in ["all", "vip"] {
            out.push((
                format!("sync-runs-{scope}"),
                self.runs.get(scope).copied().unwrap_or(0),
            ));
        }
        for ((scope, kind), n) in &self.lbsync {
            out.push((format!("changes-{scope}-{}", kind.replace('_', "-")), *n));
        }
        out.push(("drift-repairs".to_string(), self.drift_repairs));
        for scope in ["all", "vip"] {
            out.push((
                format!("sync-errors-{scope}"),
                self.errors.get(scope).copied().unwrap_or(0),
            ));
        }
        let failures: u64 = self
            .api
            .iter()
            .filter(|((_, _, r), _)| *r == "failure")
            .map(|(_, n)| n)
            .sum();
        out.push(("api-failures".to_string(), failures));
        out
    }
}
