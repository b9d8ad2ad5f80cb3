//! `watch events` subscribers: filters, remaining counts, and the fan-out
//! of backend, frontend and log events to their control connections.

use std::collections::BTreeMap;
use std::time::Instant;

use log::LevelFilter;
use mio::Registry;

use crate::control::grammar::WatchFilter;
use crate::control::render;
use crate::control::view::EventView;
use crate::logging;

use super::checker::BackendTransition;
use super::control_server::ControlServer;
use super::frontends::FrontendTransition;

struct Watcher {
    filter: WatchFilter,
    /// Events still to send before the stream ends (`num`).
    remaining: Option<u64>,
}

#[derive(Default)]
pub struct Watchers {
    by_client: BTreeMap<u64, Watcher>,
}

impl Watchers {
    /// Start streaming to `client`: the snapshot first, then live events.
    pub fn add(
        &mut self,
        control: &mut ControlServer,
        registry: &Registry,
        client: u64,
        filter: WatchFilter,
        snapshot: Vec<EventView>,
        now: Instant,
    ) {
        self.by_client.insert(
            client,
            Watcher {
                filter,
                remaining: filter.num,
            },
        );
        for ev in snapshot {
            if !self.send(control, registry, client, &ev, now) {
                break;
            }
        }
        self.update_capture_level();
    }

    /// Drop watchers whose connection is gone.
    pub fn forget_if_gone(&mut self, control: &ControlServer) {
        let before = self.by_client.len();
        self.by_client.retain(|id, _| control.is_watching(*id));
        if self.by_client.len() != before {
            self.update_capture_level();
        }
    }

    fn update_capture_level(&self) {
        let level = self
            .by_client
            .values()
            .filter_map(|w| w.filter.log)
            .map(|l| log::Level::from(l).to_level_filter())
            .max()
            .unwrap_or(LevelFilter::Off);
        logging::set_capture_level(level);
    }

    /// Send one event to one watcher if its filter wants it. Returns false
    /// when the watcher is finished or gone.
    fn send(
        &mut self,
        control: &mut ControlServer,
        registry: &Registry,
        client: u64,
        ev: &EventView,
        now: Instant,
    ) -> bool {
        let Some(w) = self.by_client.get_mut(&client) else {
            return false;
        };
        let wanted = match ev {
            EventView::Backend { .. } => w.filter.backend,
            EventView::Frontend { .. } => w.filter.frontend,
            EventView::Log { level, .. } => w
                .filter
                .log
                .is_some_and(|min| level_of(level).is_some_and(|l| min.admits(l))),
        };
        if !wanted {
            return true;
        }
        if !control.push_watch(registry, client, &render::event_line(ev)) {
            // Dropped (too slow): it may have been the one asking for debug logs.
            self.by_client.remove(&client);
            self.update_capture_level();
            return false;
        }
        if let Some(r) = w.remaining.as_mut() {
            *r = r.saturating_sub(1);
            if *r == 0 {
                self.by_client.remove(&client);
                self.update_capture_level();
                control.end_watch(registry, client, now);
                return false;
            }
        }
        true
    }

    fn broadcast(
        &mut self,
        control: &mut ControlServer,
        registry: &Registry,
        ev: &EventView,
        now: Instant,
    ) {
        let ids: Vec<u64> = self.by_client.keys().copied().collect();
        for id in ids {
            self.send(control, registry, id, ev, now);
        }
    }

    pub fn backend_event(
        &mut self,
        control: &mut ControlServer,
        registry: &Registry,
        bt: &BackendTransition,
        frontends: &[String],
        now: Instant,
    ) {
        if self.by_client.is_empty() {
            return;
        }
        let t = &bt.transition;
        let one = |frontend: &str| EventView::Backend {
            backend: bt.backend.clone(),
            frontend: frontend.to_string(),
            from: t.from.to_string(),
            to: t.to.to_string(),
            code: t.code.to_string(),
            at_unix_ms: t.at_unix_ms,
        };
        if frontends.is_empty() {
            self.broadcast(control, registry, &one(""), now);
        }
        for f in frontends {
            self.broadcast(control, registry, &one(f), now);
        }
    }

    pub fn frontend_event(
        &mut self,
        control: &mut ControlServer,
        registry: &Registry,
        ft: &FrontendTransition,
        now: Instant,
    ) {
        if self.by_client.is_empty() {
            return;
        }
        let ev = EventView::Frontend {
            frontend: ft.frontend.clone(),
            from: ft.from.to_string(),
            to: ft.to.to_string(),
            at_unix_ms: ft.at_unix_ms,
        };
        self.broadcast(control, registry, &ev, now);
    }

    /// Hand captured log records to watchers that asked for logs.
    pub fn forward_logs(&mut self, control: &mut ControlServer, registry: &Registry, now: Instant) {
        let records = logging::take_captured();
        if records.is_empty() || self.by_client.is_empty() {
            return;
        }
        for r in records {
            let mut fields = logging::parse_fields(&r.body);
            let event = if fields.first().is_some_and(|(k, _)| k == "event") {
                fields.remove(0).1
            } else {
                String::new()
            };
            let ev = EventView::Log {
                level: logging::level_name(r.level).to_string(),
                event,
                fields,
                at_unix_ms: r.at_unix_ms,
            };
            self.broadcast(control, registry, &ev, now);
        }
    }
}

fn level_of(name: &str) -> Option<log::Level> {
    name.parse().ok()
}
