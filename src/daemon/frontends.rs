//! Frontend bookkeeping: which frontends reference each backend, and each
//! frontend's aggregate state with its transitions (spec/health.md §8–9).
//! Pure apart from the wall-clock stamp passed in.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::Config;
use crate::health::State;
use crate::weights::{self, FrontendState, FrontendWeights};

/// A change of a frontend's aggregate state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontendTransition {
    pub frontend: String,
    pub from: FrontendState,
    pub to: FrontendState,
    pub at_unix_ms: u64,
}

#[derive(Default)]
pub struct FrontendTracker {
    /// backend → frontends that reference it (sorted, deduplicated).
    users: BTreeMap<String, BTreeSet<String>>,
    states: BTreeMap<String, (FrontendState, u64)>,
}

impl FrontendTracker {
    /// Rebuild the reference index for `cfg`; drop removed frontends.
    pub fn reindex(&mut self, cfg: &Config) {
        self.users.clear();
        for (fname, f) in &cfg.frontends {
            for b in f.backend_names() {
                self.users
                    .entry(b.to_string())
                    .or_default()
                    .insert(fname.clone());
            }
        }
        self.states
            .retain(|name, _| cfg.frontends.contains_key(name));
    }

    /// Frontends referencing `backend`, sorted.
    pub fn users_of(&self, backend: &str) -> impl Iterator<Item = &String> {
        self.users.get(backend).into_iter().flatten()
    }

    pub fn state(&self, frontend: &str) -> FrontendState {
        self.states
            .get(frontend)
            .map(|s| s.0)
            .unwrap_or(FrontendState::Unknown)
    }

    pub fn since(&self, frontend: &str) -> u64 {
        self.states.get(frontend).map(|s| s.1).unwrap_or(0)
    }

    /// Recompute `names` (all frontends when `None`) and report changes.
    pub fn update<'a>(
        &mut self,
        cfg: &Config,
        names: Option<&mut dyn Iterator<Item = &'a String>>,
        state_of: &dyn Fn(&str) -> State,
        now_ms: u64,
    ) -> Vec<FrontendTransition> {
        let list: Vec<String> = match names {
            Some(it) => it.cloned().collect(),
            None => cfg.frontends.keys().cloned().collect(),
        };
        let mut out = Vec::new();
        for name in list {
            let Some(f) = cfg.frontends.get(&name) else {
                continue;
            };
            let w = weights::evaluate(f, state_of);
            let entry = self
                .states
                .entry(name.clone())
                .or_insert((FrontendState::Unknown, now_ms));
            if entry.0 != w.state {
                out.push(FrontendTransition {
                    frontend: name.clone(),
                    from: entry.0,
                    to: w.state,
                    at_unix_ms: now_ms,
                });
                *entry = (w.state, now_ms);
            }
        }
        out
    }
}

/// Evaluate one frontend (shared by views, metrics and the VPP sync).
pub fn evaluate(
    cfg: &Config,
    frontend: &str,
    state_of: &dyn Fn(&str) -> State,
) -> Option<FrontendWeights> {
    cfg.frontends
        .get(frontend)
        .map(|f| weights::evaluate(f, state_of))
}
