//! Building the control socket's views from the daemon's state. The views
//! are plain data; `control::render` turns them into text or JSON.

use crate::config::{Config, HttpParams};
use crate::control::view::{
    BackendUseView, BackendView, EventView, FrontendView, HealthCheckView, MemberView, PoolView,
    TransitionView, VersionView,
};

use super::checker::{BackendSlot, Checker};
use super::frontends::{self, FrontendTracker};

pub fn version() -> VersionView {
    VersionView {
        version: env!("CARGO_PKG_VERSION").to_string(),
        commit: option_env!("MAGLEV_COMMIT")
            .unwrap_or("unknown")
            .to_string(),
        build_date: option_env!("MAGLEV_BUILD_DATE")
            .unwrap_or("unknown")
            .to_string(),
    }
}

pub fn frontend(
    cfg: &Config,
    checker: &Checker,
    tracker: &FrontendTracker,
    name: &str,
) -> Option<FrontendView> {
    let f = cfg.frontends.get(name)?;
    let w = frontends::evaluate(cfg, name, &|b| checker.state_of(b))?;
    Some(FrontendView {
        name: name.to_string(),
        address: f.address.to_string(),
        protocol: f.protocol.as_str().to_string(),
        port: f.port,
        description: f.description.clone(),
        src_ip_sticky: f.src_ip_sticky,
        flush_on_down: f.flush_on_down,
        state: tracker.state(name).to_string(),
        pools: w
            .pools
            .iter()
            .enumerate()
            .map(|(i, p)| PoolView {
                name: p.name.clone(),
                active: i == w.active_pool,
                members: p
                    .members
                    .iter()
                    .map(|m| MemberView {
                        backend: m.backend.clone(),
                        configured_weight: m.configured,
                        effective_weight: m.effective.weight,
                        flush: m.effective.flush,
                        state: m.state.to_string(),
                    })
                    .collect(),
            })
            .collect(),
    })
}

pub fn frontends(cfg: &Config, checker: &Checker, tracker: &FrontendTracker) -> Vec<FrontendView> {
    cfg.frontends
        .keys()
        .filter_map(|n| frontend(cfg, checker, tracker, n))
        .collect()
}

pub fn backend(cfg: &Config, checker: &Checker, slot: &BackendSlot, now_ms: u64) -> BackendView {
    let mut uses = Vec::new();
    for (fname, f) in &cfg.frontends {
        if !f.backend_names().any(|b| *b == *slot.name) {
            continue;
        }
        if let Some(w) = frontends::evaluate(cfg, fname, &|b| checker.state_of(b)) {
            for p in &w.pools {
                for m in p.members.iter().filter(|m| *m.backend == *slot.name) {
                    uses.push(BackendUseView {
                        frontend: fname.clone(),
                        pool: p.name.clone(),
                        effective_weight: m.effective.weight,
                    });
                }
            }
        }
    }
    let h = &slot.health;
    BackendView {
        name: slot.name.to_string(),
        address: slot.address.to_string(),
        state: h.state().to_string(),
        enabled: h.enabled(),
        healthcheck: slot.healthcheck().map(str::to_owned),
        check_type: slot
            .check_type()
            .map(|t| t.as_str())
            .unwrap_or("static")
            .to_string(),
        counter: h.counter(),
        rise: h.rise(),
        fall: h.fall(),
        last_code: slot.last.as_ref().map(|l| l.code.to_string()),
        last_detail: slot
            .last
            .as_ref()
            .map(|l| l.detail().to_string())
            .filter(|d| !d.is_empty()),
        frontends: uses,
        transitions: h
            .history()
            .map(|t| TransitionView {
                from: t.from.to_string(),
                to: t.to.to_string(),
                code: t.code.to_string(),
                at_unix_ms: t.at_unix_ms,
                age_ms: now_ms.saturating_sub(t.at_unix_ms),
            })
            .collect(),
    }
}

fn http_params(p: &HttpParams, out: &mut Vec<(String, String)>) {
    out.push(("path".into(), p.path.clone()));
    if let Some(h) = &p.host {
        out.push(("host".into(), h.clone()));
    }
    let codes: Vec<String> = p
        .response_codes
        .iter()
        .map(|r| {
            if r.low == r.high {
                r.low.to_string()
            } else {
                format!("{}-{}", r.low, r.high)
            }
        })
        .collect();
    out.push(("response-codes".into(), codes.join(",")));
    if let Some(c) = &p.response_contains {
        out.push(("response-contains".into(), c.clone()));
    }
    if let Some(r) = &p.response_regexp {
        out.push(("response-regexp".into(), r.clone()));
    }
    out.push(("insecure".into(), p.insecure.to_string()));
}

pub fn healthcheck(cfg: &Config, name: &str) -> Option<HealthCheckView> {
    let hc = cfg.healthchecks.get(name)?;
    let mut params = Vec::new();
    if let Some(p) = &hc.http {
        http_params(p, &mut params);
    }
    if let Some(s) = hc.probe_ipv4_src {
        params.push(("probe-ipv4-src".into(), s.to_string()));
    }
    if let Some(s) = hc.probe_ipv6_src {
        params.push(("probe-ipv6-src".into(), s.to_string()));
    }
    Some(HealthCheckView {
        name: name.to_string(),
        check_type: hc.check_type.as_str().to_string(),
        port: hc.port,
        interval: hc.interval,
        fast_interval: hc.fast_interval,
        down_interval: hc.down_interval,
        timeout: hc.timeout,
        rise: hc.rise,
        fall: hc.fall,
        params,
        backends: cfg
            .backends
            .iter()
            .filter(|(_, b)| b.healthcheck.as_deref() == Some(name))
            .map(|(n, _)| n.to_string())
            .collect(),
    })
}

/// The snapshot a new watcher gets: every backend (once per referencing
/// frontend, `from == to`) and every frontend.
pub fn snapshot(cfg: &Config, checker: &Checker, tracker: &FrontendTracker) -> Vec<EventView> {
    let mut out = Vec::new();
    for slot in checker.iter() {
        let state = slot.health.state().to_string();
        let since = slot
            .health
            .last_transition()
            .map(|t| t.at_unix_ms)
            .unwrap_or_else(|| slot.health.since_unix_ms());
        let code = slot
            .health
            .last_transition()
            .map(|t| t.code.to_string())
            .unwrap_or_default();
        let users: Vec<&String> = tracker.users_of(&slot.name).collect();
        let one = |frontend: &str| EventView::Backend {
            backend: slot.name.to_string(),
            frontend: frontend.to_string(),
            from: state.clone(),
            to: state.clone(),
            code: code.clone(),
            at_unix_ms: since,
        };
        if users.is_empty() {
            out.push(one(""));
        }
        for f in users {
            out.push(one(f));
        }
    }
    for name in cfg.frontends.keys() {
        let s = tracker.state(name).to_string();
        out.push(EventView::Frontend {
            frontend: name.clone(),
            from: s.clone(),
            to: s,
            at_unix_ms: tracker.since(name),
        });
    }
    out
}
