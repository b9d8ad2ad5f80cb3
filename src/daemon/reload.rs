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

/// How many backends each kind of plan covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanCounts {
    pub added: usize,
    pub removed: usize,
    pub restarted: usize,
    pub kept: usize,
}

impl PlanCounts {
    pub fn of(plan: &BTreeMap<&str, BackendReload>) -> PlanCounts {
        let mut c = PlanCounts::default();
        for r in plan.values() {
            match r.plan {
                BackendPlan::Add => c.added += 1,
                BackendPlan::Remove => c.removed += 1,
                BackendPlan::Restart(_) => c.restarted += 1,
                BackendPlan::Keep => c.kept += 1,
            }
        }
        c
    }

    /// Backends whose probing starts afresh (their first probes are spread).
    pub fn starting(&self) -> usize {
        self.added + self.restarted
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
    b.healthcheck
        .as_ref()
        .and_then(|n| cfg.healthchecks.get(&**n))
}

/// Compare two validated configs, backend by backend (sorted by name).
/// The plan borrows the names from the configs: at startup it covers every
/// backend, and owned copies of 10,000 names were most of the daemon's peak
/// memory above its steady state.
pub fn plan<'a>(old: &'a Config, new: &'a Config) -> BTreeMap<&'a str, BackendReload> {
    let mut out = Vec::with_capacity(new.backends.len());
    let netns_changed = old.healthchecker.netns != new.healthchecker.netns;
    for name in old.backends.keys() {
        if !new.backends.contains_key(name) {
            out.push((
                &**name,
                BackendReload {
                    plan: BackendPlan::Remove,
                    enabled_changed: None,
                },
            ));
        }
    }
    for (name, nb) in &new.backends {
        let Some(ob) = old.backends.get(name) else {
            out.push((
                &**name,
                BackendReload {
                    plan: BackendPlan::Add,
                    enabled_changed: None,
                },
            ));
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
        out.push((
            &**name,
            BackendReload {
                plan,
                enabled_changed,
            },
        ));
    }
    // Collected at the end: a map built from all entries at once has full
    // nodes, one filled entry by entry is about half empty.
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_str;

    const BASE: &str = r#"
maglev:
  vpp:
    api-socket: ""
  healthchecks:
    web: { type: http, port: 80, params: { path: /healthz } }
    tcp: { type: tcp, port: 22 }
  backends:
    a: { address: 192.0.2.1, healthcheck: web }
    b: { address: 192.0.2.2, healthcheck: web }
    c: { address: 192.0.2.3, healthcheck: tcp }
    d: { address: 192.0.2.4 }
    e: { address: 192.0.2.5, healthcheck: tcp }
  frontends: {}
"#;

    fn plan_of(old: &str, new: &str) -> BTreeMap<String, BackendReload> {
        let (old, new) = (parse_str(old).unwrap(), parse_str(new).unwrap());
        plan(&old, &new)
            .into_iter()
            .map(|(name, r)| (name.to_owned(), r))
            .collect()
    }

    fn keep() -> BackendReload {
        BackendReload {
            plan: BackendPlan::Keep,
            enabled_changed: None,
        }
    }

    #[test]
    fn identical_config_keeps_everything() {
        let p = plan_of(BASE, BASE);
        assert_eq!(p.len(), 5);
        assert!(p.values().all(|r| *r == keep()));
    }

    #[test]
    fn startup_adds_everything() {
        let (old, new) = (Config::empty(), parse_str(BASE).unwrap());
        let p = plan(&old, &new);
        assert_eq!(p.len(), 5);
        assert!(p.values().all(|r| r.plan == BackendPlan::Add));
    }

    #[test]
    fn each_kind_of_change() {
        let new = BASE
            .replace("params: { path: /healthz }", "params: { path: /other }")
            .replace("c: { address: 192.0.2.3", "c: { address: 192.0.2.33")
            .replace("    d: { address: 192.0.2.4 }\n", "")
            .replace(
                "e: { address: 192.0.2.5, healthcheck: tcp }",
                "e: { address: 192.0.2.5, healthcheck: tcp, enabled: false }\n    f: { address: 192.0.2.6 }",
            );
        let p = plan_of(BASE, &new);
        let r = |n: &str| p.get(n).unwrap().clone();
        assert_eq!(
            r("a").plan,
            BackendPlan::Restart(RestartReason::CheckChanged)
        );
        assert_eq!(
            r("b").plan,
            BackendPlan::Restart(RestartReason::CheckChanged)
        );
        assert_eq!(
            r("c").plan,
            BackendPlan::Restart(RestartReason::AddressChanged)
        );
        assert_eq!(r("d").plan, BackendPlan::Remove);
        assert_eq!(r("e").plan, BackendPlan::Keep);
        assert_eq!(r("e").enabled_changed, Some(false));
        assert_eq!(r("f").plan, BackendPlan::Add);
    }

    #[test]
    fn counts_cover_every_kind() {
        let new = BASE
            .replace("c: { address: 192.0.2.3", "c: { address: 192.0.2.33")
            .replace(
                "    d: { address: 192.0.2.4 }\n",
                "    f: { address: 192.0.2.6 }\n",
            );
        let (old, new) = (parse_str(BASE).unwrap(), parse_str(&new).unwrap());
        let counts = PlanCounts::of(&plan(&old, &new));
        assert_eq!(
            counts,
            PlanCounts {
                added: 1,
                removed: 1,
                restarted: 1,
                kept: 3,
            }
        );
        assert_eq!(counts.starting(), 2);
    }

    #[test]
    fn static_to_checked_and_netns() {
        let new = BASE
            .replace(
                "d: { address: 192.0.2.4 }",
                "d: { address: 192.0.2.4, healthcheck: tcp }",
            )
            .replace(
                "maglev:\n",
                "maglev:\n  healthchecker:\n    netns: dataplane\n",
            );
        let p = plan_of(BASE, &new);
        assert_eq!(
            p["d"].plan,
            BackendPlan::Restart(RestartReason::CheckChanged)
        );
        assert_eq!(
            p["a"].plan,
            BackendPlan::Restart(RestartReason::NetnsChanged)
        );
        // A different check name with an identical definition still restarts:
        // the operator pointed the backend elsewhere on purpose.
        let renamed = BASE
            .replace(
                "tcp: { type: tcp, port: 22 }",
                "tcp: { type: tcp, port: 22 }\n    tcp2: { type: tcp, port: 22 }",
            )
            .replace(
                "e: { address: 192.0.2.5, healthcheck: tcp }",
                "e: { address: 192.0.2.5, healthcheck: tcp2 }",
            );
        let p = plan_of(BASE, &renamed);
        assert_eq!(
            p["e"].plan,
            BackendPlan::Restart(RestartReason::CheckChanged)
        );
        assert_eq!(p["c"], keep());
    }
}
