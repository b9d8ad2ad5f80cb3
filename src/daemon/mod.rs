//! The daemon: the single-threaded `mio` event loop and the glue that feeds
//! sockets, signals and time into the pure cores. This is the only module
//! that waits.
//!
//! Each iteration: wait in `poll` until the next timer deadline, dispatch the
//! ready sockets by token range, fire due timers, answer complete control
//! lines, then fan events and captured log records out to watchers.

pub mod checker;
pub mod cli;
mod commands;
pub mod control_server;
pub mod dataplane;
mod desired;
pub mod frontends;
pub mod reload;
pub mod rlimit;
pub mod tokens;
mod views;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use log::Level;
use mio::{Events, Interest, Poll};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use signal_hook_mio::v1_0::Signals;

use crate::config::{self, Config};
use crate::logev;
use crate::logging;

use checker::{BackendTransition, Checker};
use cli::{Invocation, Options};
use control_server::{ControlLine, ControlServer};
use dataplane::{Ctx, Dataplane};
use frontends::FrontendTracker;
use tokens::TimerKey;
use watch::Watchers;

/// Most control clients served at once.
pub const MAX_CONTROL_CLIENTS: usize = 1024;
/// The loop never sleeps longer than this (a safety net, not a tick).
const MAX_POLL_WAIT: Duration = Duration::from_secs(60);

/// Entry point of the `maglevd` binary.
pub fn main() -> ExitCode {
    let env = |k: &str| std::env::var(k).ok();
    let opts = match cli::parse(std::env::args().skip(1), env) {
        Ok(Invocation::Run(o)) => o,
        Ok(Invocation::Version) => {
            println!("maglevd {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Ok(Invocation::Help) => {
            print!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("maglevd: {e}");
            return ExitCode::from(1);
        }
    };
    if opts.check_only {
        return check_only(&opts);
    }
    let log_opts = logging::LogOptions {
        filter: cli::log_filter(&opts, env),
        file: opts.log_file.clone(),
    };
    if let Err(e) = logging::init(&log_opts) {
        eprintln!("maglevd: {e}");
        return ExitCode::from(1);
    }
    logev!(
        Level::Info,
        "starting",
        version = env!("CARGO_PKG_VERSION"),
        pid = std::process::id(),
        config = opts.config.display(),
    );
    let code = match load_config(&opts) {
        Ok(cfg) => match Daemon::new(opts, cfg) {
            Ok(mut d) => d.run(),
            Err(e) => {
                logev!(Level::Error, "startup-failed", error = e);
                eprintln!("maglevd: {e}");
                ExitCode::from(1)
            }
        },
        Err(e) => {
            logev!(Level::Error, "config-invalid", error = e);
            eprintln!("maglevd: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    };
    logging::shutdown();
    code
}

fn check_only(opts: &Options) -> ExitCode {
    match load_config(opts).and_then(|cfg| {
        Checker::precheck(&cfg).map_err(|e| config::ConfigError::Semantic {
            errors: vec![config::SemanticError::new(
                format!("healthchecks.{}", e.check),
                e.message,
            )],
        })
    }) {
        Ok(()) => {
            println!("config ok: {}", opts.config.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// Load the config and apply command-line overrides of its settings.
pub fn load_config(opts: &Options) -> Result<Config, config::ConfigError> {
    let mut cfg = config::load(&opts.config)?;
    if let Some(api) = &opts.vpp_api_addr {
        cfg.vpp.api_socket = (!api.is_empty()).then(|| PathBuf::from(api));
    }
    if let Some(stats) = &opts.vpp_stats_addr {
        cfg.vpp.stats_socket = PathBuf::from(stats);
    }
    Ok(cfg)
}

/// Errors that stop the daemon from starting.
#[derive(Debug)]
pub enum StartupError {
    Poll(std::io::Error),
    Signals(std::io::Error),
    Control(control_server::ControlSocketError),
    Check(checker::CheckBuildError),
}

impl std::fmt::Display for StartupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartupError::Poll(e) => write!(f, "create poll: {e}"),
            StartupError::Signals(e) => write!(f, "install signal handlers: {e}"),
            StartupError::Control(e) => write!(f, "{e}"),
            StartupError::Check(e) => write!(f, "{e}"),
        }
    }
}

/// Loop statistics reported by `show` and metrics.
#[derive(Debug, Default, Clone, Copy)]
pub struct LoopStats {
    pub iterations: u64,
    pub events: u64,
}

pub struct Daemon {
    poll: Poll,
    timers: crate::timer::TimerHeap<TimerKey>,
    opts: Options,
    config: Config,
    checker: Checker,
    frontends: FrontendTracker,
    control: ControlServer,
    watchers: Watchers,
    dataplane: Dataplane,
    signals: Signals,
    /// Process start: the warmup clock and the uptime metric count from here.
    started: Instant,
    running: bool,
    loop_stats: LoopStats,
}

impl Daemon {
    pub fn new(opts: Options, config: Config) -> Result<Daemon, StartupError> {
        let poll = Poll::new().map_err(StartupError::Poll)?;
        let mut signals =
            Signals::new([SIGHUP, SIGTERM, SIGINT, SIGUSR1]).map_err(StartupError::Signals)?;
        poll.registry()
            .register(&mut signals, tokens::SIGNALS, Interest::READABLE)
            .map_err(StartupError::Signals)?;
        let socket_path = opts
            .control_socket
            .clone()
            .or_else(|| config.control.socket.clone())
            .unwrap_or_else(|| PathBuf::from(cli::DEFAULT_CONTROL_SOCKET));
        let control = ControlServer::bind(
            &socket_path,
            config.control.mode,
            poll.registry(),
            tokens::CONTROL_LISTENER,
            tokens::CONTROL_CLIENT_BASE,
            MAX_CONTROL_CLIENTS,
        )
        .map_err(StartupError::Control)?;
        logev!(
            Level::Info,
            "control-listening",
            socket = socket_path.display(),
            mode = format_args!("{:04o}", config.control.mode),
        );
        let seed =
            u64::from(std::process::id()) ^ (logging::now_unix_ms() << 16) ^ 0x9e37_79b9_7f4a_7c15;
        let checker = Checker::new(&config, seed).map_err(StartupError::Check)?;
        let started = Instant::now();
        let dataplane = Dataplane::new(&config, started);
        let mut d = Daemon {
            poll,
            timers: crate::timer::TimerHeap::new(),
            opts,
            config: Config::empty(),
            checker,
            frontends: FrontendTracker::default(),
            control,
            watchers: Watchers::default(),
            dataplane,
            signals,
            started,
            running: true,
            loop_stats: LoopStats::default(),
        };
        d.raise_nofile(&config);
        d.apply_config(config, "startup")
            .map_err(StartupError::Check)?;
        d.with_dataplane(|dp, ctx| dp.start(ctx));
        Ok(d)
    }

    fn raise_nofile(&self, cfg: &Config) {
        let needed = rlimit::needed(cfg.backends.len(), MAX_CONTROL_CLIENTS);
        match rlimit::raise_to(needed) {
            Ok(c) if c.after < c.needed => logev!(
                Level::Warn,
                "rlimit-nofile",
                before = c.before,
                after = c.after,
                needed = c.needed,
                hard = c.hard,
                msg = "hard limit too low: probes may fail with EMFILE",
            ),
            Ok(c) if c.after != c.before => logev!(
                Level::Info,
                "rlimit-nofile",
                before = c.before,
                after = c.after,
                needed = c.needed,
            ),
            Ok(_) => {}
            Err(e) => logev!(Level::Warn, "rlimit-nofile-failed", error = e),
        }
    }

    /// Apply a validated config (startup or reload) and report what changed.
    fn apply_config(
        &mut self,
        new: Config,
        trigger: &str,
    ) -> Result<String, checker::CheckBuildError> {
        Checker::precheck(&new)?;
        let plan = reload::plan(&self.config, &new);
        let mut transitions = Vec::new();
        let now = Instant::now();
        self.checker.apply_reload(
            &new,
            &plan,
            self.poll.registry(),
            &mut self.timers,
            now,
            &mut transitions,
        )?;
        let count =
            |f: fn(&reload::BackendPlan) -> bool| plan.values().filter(|r| f(&r.plan)).count();
        let summary = format!(
            "added={} removed={} restarted={} kept={}",
            count(|p| matches!(p, reload::BackendPlan::Add)),
            count(|p| matches!(p, reload::BackendPlan::Remove)),
            count(|p| matches!(p, reload::BackendPlan::Restart(_))),
            count(|p| matches!(p, reload::BackendPlan::Keep)),
        );
        if trigger != "startup" {
            if new.control.socket != self.config.control.socket
                && self.opts.control_socket.is_none()
            {
                logev!(
                    Level::Warn,
                    "config-reload-ignored",
                    key = "control.socket",
                    msg = "the control socket moves only on restart",
                );
            }
            self.timers.retain(|_| true);
        }
        self.config = new;
        self.frontends.reindex(&self.config);
        self.handle_transitions(transitions);
        let checker = &self.checker;
        let changes = self.frontends.update(
            &self.config,
            None,
            &|b| checker.state_of(b),
            logging::now_unix_ms(),
        );
        self.emit_frontend_transitions(changes);
        logev!(
            Level::Info,
            "config-reload-done",
            trigger = trigger,
            backends = self.config.backends.len(),
            frontends = self.config.frontends.len(),
            added = count(|p| matches!(p, reload::BackendPlan::Add)),
            removed = count(|p| matches!(p, reload::BackendPlan::Remove)),
            restarted = count(|p| matches!(p, reload::BackendPlan::Restart(_))),
        );
        Ok(summary)
    }

    /// Reload from disk (SIGHUP, `config reload`). On any error nothing
    /// changes; the error is logged and returned.
    fn reload(&mut self, trigger: &str) -> Result<String, String> {
        logev!(Level::Info, "config-reload-start", trigger = trigger);
        let new = match load_config(&self.opts) {
            Ok(c) => c,
            Err(e) => {
                logev!(
                    Level::Error,
                    "config-reload-failed",
                    trigger = trigger,
                    error = e
                );
                return Err(e.to_string());
            }
        };
        if let Err(e) = Checker::precheck(&new) {
            logev!(
                Level::Error,
                "config-reload-failed",
                trigger = trigger,
                error = e
            );
            return Err(e.to_string());
        }
        self.raise_nofile(&new);
        let socket = new.vpp.api_socket.clone();
        let summary = self.apply_config(new, trigger).map_err(|e| e.to_string())?;
        self.with_dataplane(|dp, ctx| dp.on_reload(ctx, socket));
        Ok(summary)
    }

    /// Run a dataplane step with a view of the daemon, then send the
    /// control replies it deferred.
    fn with_dataplane<R>(&mut self, f: impl FnOnce(&mut Dataplane, &mut Ctx<'_>) -> R) -> R {
        let mut replies = Vec::new();
        let r = {
            let mut ctx = Ctx {
                registry: self.poll.registry(),
                timers: &mut self.timers,
                cfg: &self.config,
                checker: &self.checker,
                now: Instant::now(),
                replies: &mut replies,
            };
            f(&mut self.dataplane, &mut ctx)
        };
        let now = Instant::now();
        for (client, text) in replies {
            self.control.reply(
                self.poll.registry(),
                client,
                &text,
                control_server::After::Default,
                now,
            );
        }
        r
    }

    /// Log transitions, emit one event per referencing frontend, and update
    /// the frontends' aggregate states.
    fn handle_transitions(&mut self, transitions: Vec<BackendTransition>) {
        if transitions.is_empty() {
            return;
        }
        let mut touched = std::collections::BTreeSet::new();
        for bt in &transitions {
            let t = &bt.transition;
            logev!(
                Level::Info,
                "backend-transition",
                backend = bt.backend,
                from = t.from,
                to = t.to,
                code = t.code,
                detail = bt.detail,
            );
            let users: Vec<String> = self.frontends.users_of(&bt.backend).cloned().collect();
            self.watchers.backend_event(
                &mut self.control,
                self.poll.registry(),
                bt,
                &users,
                Instant::now(),
            );
            touched.extend(users);
        }
        let checker = &self.checker;
        let changes = self.frontends.update(
            &self.config,
            Some(&mut touched.iter()),
            &|b| checker.state_of(b),
            logging::now_unix_ms(),
        );
        self.emit_frontend_transitions(changes);
        // The only health → VPP path: one VIP sync per touched frontend.
        self.with_dataplane(|dp, ctx| {
            for f in &touched {
                dp.on_frontend_event(ctx, f);
            }
        });
    }

    fn emit_frontend_transitions(&mut self, changes: Vec<frontends::FrontendTransition>) {
        for ft in changes {
            logev!(
                Level::Info,
                "frontend-transition",
                frontend = ft.frontend,
                from = ft.from,
                to = ft.to,
            );
            self.watchers.frontend_event(
                &mut self.control,
                self.poll.registry(),
                &ft,
                Instant::now(),
            );
        }
    }

    /// The event loop. Returns the process exit code.
    pub fn run(&mut self) -> ExitCode {
        let mut events = Events::with_capacity(1024);
        let mut lines: Vec<ControlLine> = Vec::new();
        let mut transitions: Vec<BackendTransition> = Vec::new();
        logev!(
            Level::Info,
            "running",
            backends = self.config.backends.len(),
            frontends = self.config.frontends.len(),
        );
        while self.running {
            let now = Instant::now();
            let mut timeout = self.timers.poll_timeout(now, MAX_POLL_WAIT);
            if self.control.client_count() > 0 {
                if let Some(d) = self.control.next_deadline() {
                    timeout = timeout.min(d.saturating_duration_since(now));
                }
            }
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    logev!(Level::Error, "poll-failed", error = e);
                    return ExitCode::from(1);
                }
            }
            self.loop_stats.iterations += 1;
            let now = Instant::now();
            for event in events.iter() {
                self.loop_stats.events += 1;
                let token = event.token();
                if let Some(slot) = tokens::probe_slot(token) {
                    self.checker.on_probe_ready(
                        slot,
                        event,
                        &mut self.timers,
                        now,
                        &mut transitions,
                    );
                } else if token == tokens::SIGNALS {
                    self.on_signals();
                } else if self.control.is_listener(token) {
                    self.control.accept(self.poll.registry(), now);
                } else if let Some(client) = self.control.client_of(token) {
                    self.control
                        .on_ready(self.poll.registry(), client, event, now, &mut lines);
                    if !self.control.is_watching(client) {
                        self.watchers.forget_if_gone(&self.control);
                    }
                } else if token == tokens::VPP_API {
                    self.with_dataplane(|dp, ctx| dp.on_ready(ctx, event));
                } else if self.checker.is_icmp_token(token) {
                    self.checker
                        .on_icmp_ready(token, &mut self.timers, now, &mut transitions);
                }
            }
            while let Some((scheduled, key)) = self.timers.pop_due(now) {
                self.on_timer(key, scheduled, now, &mut transitions);
            }
            if !transitions.is_empty() {
                self.handle_transitions(std::mem::take(&mut transitions));
            }
            if self.control.client_count() > 0 {
                self.control.expire_idle(self.poll.registry(), now);
            }
            for line in lines.drain(..) {
                self.execute_line(line, now);
            }
            self.watchers.forget_if_gone(&self.control);
            self.watchers
                .forward_logs(&mut self.control, self.poll.registry(), Instant::now());
        }
        logev!(Level::Info, "stopping", reason = "signal");
        self.control.shutdown(self.poll.registry());
        ExitCode::SUCCESS
    }

    fn on_timer(
        &mut self,
        key: TimerKey,
        scheduled: Instant,
        now: Instant,
        transitions: &mut Vec<BackendTransition>,
    ) {
        let registry = self.poll.registry();
        match key {
            TimerKey::Probe { slot, gen } => self.checker.on_probe_timer(
                slot,
                gen,
                scheduled,
                registry,
                &mut self.timers,
                now,
                transitions,
            ),
            TimerKey::ProbeDeadline { slot, gen } => {
                self.checker
                    .on_probe_deadline(slot, gen, &mut self.timers, now, transitions)
            }
            TimerKey::ControlHousekeeping
            | TimerKey::MetricsHousekeeping
            | TimerKey::StatsScrape { .. } => {}
            dp_key => self.with_dataplane(|dp, ctx| dp.on_timer(ctx, dp_key)),
        }
    }

    fn on_signals(&mut self) {
        let pending: Vec<i32> = self.signals.pending().collect();
        for sig in pending {
            match sig {
                SIGHUP => {
                    let _ = self.reload("SIGHUP");
                }
                SIGTERM | SIGINT => {
                    logev!(
                        Level::Info,
                        "signal",
                        signal = if sig == SIGTERM { "SIGTERM" } else { "SIGINT" },
                        action = "shutdown",
                    );
                    self.running = false;
                }
                SIGUSR1 => {
                    logging::reopen();
                    logev!(Level::Info, "log-reopen", trigger = "SIGUSR1");
                }
                _ => {}
            }
        }
    }
}
