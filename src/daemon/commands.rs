//! Executing control commands against the daemon's state. Parsing lives in
//! `control::grammar`, rendering in `control::render`; this file only decides
//! what each command does and which view it answers with.

use std::time::Instant;

use log::Level;

use crate::control::grammar::{self, BackendAction, Command, Request};
use crate::control::render::{self, json as rjson, text as rtext};
use crate::health::Action;
use crate::logev;
use crate::logging;

use super::control_server::{After, ControlLine};
use super::{dataplane, views, Daemon};

/// The reply to one command, and what happens to the connection after it.
struct Reply {
    text: String,
    after: After,
}

impl Reply {
    fn payload(text: String) -> Reply {
        Reply {
            text: render::reply_payload(&text),
            after: After::Default,
        }
    }
    fn ok() -> Reply {
        Reply {
            text: render::reply_ok(),
            after: After::Default,
        }
    }
    fn err(msg: impl std::fmt::Display) -> Reply {
        Reply {
            text: render::reply_err(&msg.to_string()),
            after: After::Default,
        }
    }
}

impl Daemon {
    /// Parse and execute one line from a control client.
    pub(super) fn execute_line(&mut self, line: ControlLine, now: Instant) {
        let client = line.client;
        let text = match grammar::sanitize(&line.line) {
            Ok(t) => t.trim().to_string(),
            Err(e) => {
                let r = Reply::err(e);
                self.control
                    .reply(self.poll.registry(), client, &r.text, r.after, now);
                return;
            }
        };
        if text.is_empty() {
            // An empty line in prompt mode just gets a new prompt.
            self.control
                .reply(self.poll.registry(), client, "", After::Default, now);
            return;
        }
        let reply = match grammar::parse(&text) {
            Ok(req) => {
                logev!(
                    Level::Debug,
                    "control-command",
                    client = client,
                    command = text
                );
                self.execute(client, req, now)
            }
            Err(e) => Some(Reply::err(e)),
        };
        if let Some(r) = reply {
            self.control
                .reply(self.poll.registry(), client, &r.text, r.after, now);
        }
    }

    /// `None` when the command already answered (watch).
    fn execute(&mut self, client: u64, req: Request, now: Instant) -> Option<Reply> {
        let json = req.json;
        let now_ms = logging::now_unix_ms();
        let reply = match req.command {
            Command::Help => Reply::payload(grammar::help_text()),
            Command::ShowVersion => {
                let v = views::version();
                Reply::payload(if json {
                    rjson::version(&v)
                } else {
                    rtext::version(&v)
                })
            }
            Command::ShowFrontends { name: None } => {
                let v = views::frontends(&self.config, &self.checker, &self.frontends);
                Reply::payload(if json {
                    rjson::frontend_list(&v)
                } else {
                    rtext::frontend_list(&v)
                })
            }
            Command::ShowFrontends { name: Some(n) } => {
                match views::frontend(&self.config, &self.checker, &self.frontends, &n) {
                    Some(v) => Reply::payload(if json {
                        rjson::frontend_detail(&v)
                    } else {
                        rtext::frontend_detail(&v)
                    }),
                    None => Reply::err(format!("unknown frontend '{n}'")),
                }
            }
            Command::ShowBackends { name: None } => {
                let v: Vec<_> = self
                    .checker
                    .iter()
                    .map(|s| views::backend(&self.config, &self.checker, s, now_ms))
                    .collect();
                Reply::payload(if json {
                    rjson::backend_list(&v)
                } else {
                    rtext::backend_list(&v)
                })
            }
            Command::ShowBackends { name: Some(n) } => match self.checker.get(&n) {
                Some(s) => {
                    let v = views::backend(&self.config, &self.checker, s, now_ms);
                    Reply::payload(if json {
                        rjson::backend_detail(&v)
                    } else {
                        rtext::backend_detail(&v)
                    })
                }
                None => Reply::err(format!("unknown backend '{n}'")),
            },
            Command::ShowHealthChecks { name: None } => {
                let v: Vec<_> = self
                    .config
                    .healthchecks
                    .keys()
                    .filter_map(|n| views::healthcheck(&self.config, n))
                    .collect();
                Reply::payload(if json {
                    rjson::healthcheck_list(&v)
                } else {
                    rtext::healthcheck_list(&v)
                })
            }
            Command::ShowHealthChecks { name: Some(n) } => {
                match views::healthcheck(&self.config, &n) {
                    Some(v) => Reply::payload(if json {
                        rjson::healthcheck_detail(&v)
                    } else {
                        rtext::healthcheck_detail(&v)
                    }),
                    None => Reply::err(format!("unknown healthcheck '{n}'")),
                }
            }
            Command::ShowVppInfo => match self.dataplane.info_view(now) {
                Ok(v) => Reply::payload(if json {
                    rjson::vpp_info(&v)
                } else {
                    rtext::vpp_info(&v)
                }),
                Err(e) => Reply::err(e),
            },
            Command::ShowVppLbState => {
                match self.with_dataplane(|dp, ctx| dp.show_lb_state(ctx, client, json)) {
                    Ok(()) => return None,
                    Err(e) => Reply::err(e),
                }
            }
            Command::ShowVppLbCounters { .. } => Reply::err(self.dataplane.unavailable()),
            Command::SyncVppLbState { frontend } => {
                if let Some(f) = &frontend {
                    if !self.config.frontends.contains_key(f) {
                        return Some(Reply::err(format!("unknown frontend '{f}'")));
                    }
                }
                if !self.dataplane.is_up() {
                    Reply::err(self.dataplane.unavailable())
                } else {
                    self.with_dataplane(|dp, ctx| {
                        dp.request_full(ctx, dataplane::Trigger::Operator, frontend, Some(client))
                    });
                    return None;
                }
            }
            Command::SetBackend { name, action } => {
                let action = match action {
                    BackendAction::Pause => Action::Pause,
                    BackendAction::Resume => Action::Resume,
                    BackendAction::Enable => Action::Enable,
                    BackendAction::Disable => Action::Disable,
                };
                if self.checker.get(&name).is_none() {
                    Reply::err(format!("unknown backend '{name}'"))
                } else {
                    let mut transitions = Vec::new();
                    let r = self.checker.operator(
                        &name,
                        action,
                        &mut self.timers,
                        now,
                        &mut transitions,
                    );
                    self.handle_transitions(transitions);
                    match r {
                        Ok(_) => Reply::ok(),
                        Err(e) => Reply::err(format!("backend '{name}': {e}")),
                    }
                }
            }
            Command::SetWeight {
                frontend,
                pool,
                backend,
                weight,
                flush,
            } => match self.set_weight(&frontend, &pool, &backend, weight, flush) {
                Ok(()) => Reply::ok(),
                Err(e) => Reply::err(e),
            },
            Command::ConfigCheck => {
                logev!(
                    Level::Info,
                    "config-check-start",
                    path = self.opts.config.display()
                );
                let r = super::load_config(&self.opts)
                    .map_err(|e| e.to_string())
                    .and_then(|c| super::checker::Checker::precheck(&c).map_err(|e| e.to_string()));
                logev!(
                    Level::Info,
                    "config-check-done",
                    ok = r.is_ok(),
                    error = r.as_ref().err().map(String::as_str).unwrap_or(""),
                );
                match r {
                    Ok(()) => Reply::ok(),
                    Err(e) => Reply::err(e),
                }
            }
            Command::ConfigReload => match self.reload("control") {
                Ok(_) => Reply::ok(),
                Err(e) => Reply::err(e),
            },
            Command::LogReopen => {
                logging::reopen();
                logev!(Level::Info, "log-reopen", trigger = "control");
                Reply::ok()
            }
            Command::Watch(filter) => {
                let snapshot = views::snapshot(&self.config, &self.checker, &self.frontends);
                self.control
                    .reply(self.poll.registry(), client, "", After::Watch, now);
                self.watchers.add(
                    &mut self.control,
                    self.poll.registry(),
                    client,
                    filter,
                    snapshot,
                    now,
                );
                return None;
            }
            Command::Prompt => Reply {
                text: String::new(),
                after: After::EnterPrompt,
            },
            Command::Quit => Reply {
                text: String::new(),
                after: After::Close,
            },
        };
        Some(reply)
    }

    /// `set frontend F pool P backend B weight N [flush]`: change the
    /// in-memory config (lost on reload, as in the original).
    fn set_weight(
        &mut self,
        frontend: &str,
        pool: &str,
        backend: &str,
        weight: u8,
        flush: bool,
    ) -> Result<(), String> {
        let f = self
            .config
            .frontends
            .get_mut(frontend)
            .ok_or_else(|| format!("unknown frontend '{frontend}'"))?;
        let p = f
            .pools
            .iter_mut()
            .find(|p| p.name == pool)
            .ok_or_else(|| format!("frontend '{frontend}' has no pool '{pool}'"))?;
        let m = p
            .members
            .iter_mut()
            .find(|m| m.backend == backend)
            .ok_or_else(|| {
                format!("pool '{pool}' of frontend '{frontend}' has no backend '{backend}'")
            })?;
        let old = m.weight;
        m.weight = weight;
        logev!(
            Level::Info,
            "frontend-weight-set",
            frontend = frontend,
            pool = pool,
            backend = backend,
            from = old,
            to = weight,
            flush = flush,
        );
        let checker = &self.checker;
        let name = frontend.to_string();
        let changes = self.frontends.update(
            &self.config,
            Some(&mut std::iter::once(&name)),
            &|b| checker.state_of(b),
            logging::now_unix_ms(),
        );
        self.emit_frontend_transitions(changes);
        self.on_weight_changed(frontend, backend, flush);
        Ok(())
    }

    fn on_weight_changed(&mut self, frontend: &str, backend: &str, flush: bool) {
        self.with_dataplane(|dp, ctx| dp.on_weight_set(ctx, frontend, backend, flush));
    }
}
