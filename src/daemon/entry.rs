//! maglevd's entry point: flags, `--check`, logging setup, loading the
//! config, and the errors that stop the daemon from starting.

use std::path::PathBuf;
use std::process::ExitCode;

use log::Level;

use crate::config::{self, Config};
use crate::logev;
use crate::logging;

use super::checker::{self, Checker};
use super::cli::{self, Invocation, Options};
use super::{control_server, Daemon};

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
    let overrides = config::Overrides {
        vpp_api_socket: opts.vpp_api_addr.clone(),
    };
    let mut cfg = config::load_with(&opts.config, &overrides)?;
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
    MetricsAddr(String),
    Metrics(crate::metrics::MetricsServerError),
}

impl std::fmt::Display for StartupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartupError::Poll(e) => write!(f, "create poll: {e}"),
            StartupError::Signals(e) => write!(f, "install signal handlers: {e}"),
            StartupError::Control(e) => write!(f, "{e}"),
            StartupError::Check(e) => write!(f, "{e}"),
            StartupError::MetricsAddr(a) => {
                write!(
                    f,
                    "--metrics-addr {a:?}: not an address:port (empty disables)"
                )
            }
            StartupError::Metrics(e) => write!(f, "{e}"),
        }
    }
}
