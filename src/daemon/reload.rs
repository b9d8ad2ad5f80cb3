//! What a reload does to each backend: pure comparison of the old and the
//! new config (spec/config.md §9). The loop carries the plan out.

use std::collections::BTreeMap;

use crate::config::{Backend, Config, HealthCheck};

/// The fate of one backend across a reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendPlan {
    /// New in the config: start a prober, state `unknown`.
    Add,
    /// Gone from the config: stop probing, state `removed`, then forget it.
    Remove,
    /// Nothing that affects probing changed: keep state, history and schedule.
    Keep,
    /// The check (its definition, its name, static↔checked), the address or
    /// the probe namespace changed: restart from `unknown`, keep history.
    Restart(RestartReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartReason {
    CheckChanged,
    AddressChanged,
    NetnsChanged,
}

impl RestartReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RestartReason::CheckChanged => "check-changed",
            RestartReason::AddressChanged => "address-changed",
            RestartReason::NetnsChanged => "netns-changed",
        }
    }
}

/// Per backend: the plan, and whether the YAML `enabled` flag itself flipped
/// (`Some(new value)`), which is applied as an operator enable/disable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendReload {
    pub plan: BackendPlan,
    pub enabled_changed: Option<bool>,
}

fn check_of<'a>(cfg: &'a Config, b: &Backend) -> Option<&'a HealthCheck> {
    b.healthcheck.as_ref().and_then(|n| cfg.healthchecks.get(n))
}

/// Compare two validated configs, backend by backend (sorted by name).
pub fn plan(old: &Config, new: &Config) -> BTreeMap<String, BackendReload> {
    let mut out = BTreeMap::new();
    let netns_changed = old.healthchecker.netns != new.healthchecker.netns;
    for (name, ob) in &old.backends {
        if !new.backends.contains_key(name) {
            out.insert(
                name.clone(),
                BackendReload {
                    plan: BackendPlan::Remove,
                    enabled_changed: None,
                },
            );
        }
        let _ = ob;
    }
    for (name, nb) in &new.backends {
        let Some(ob) = old.backends.get(name) else {
            out.insert(
                name.clone(),
                BackendReload {
                    plan: BackendPlan::Add,
                    enabled_changed: None,
                },
            );
            continue;
        };
        let (oc, nc) = (check_of(old, ob), check_of(new, nb));
        let plan = if ob.healthcheck != nb.healthcheck || oc != nc {
            BackendPlan::Restart(RestartReason::CheckChanged)
        } else if ob.address != nb.address {
            BackendPlan::Restart(RestartReason::AddressChanged)
        } else if netns_changed && nc.is_some() {
            BackendPlan::Restart(RestartReason::NetnsChanged)
        } else {
            BackendPlan::Keep
        };
        let enabled_changed = (ob.enabled != nb.enabled).then_some(nb.enabled);
        out.insert(
            name.clone(),
            BackendReload {
                plan,
                enabled_changed,
            },
        );
    }
    out
}
