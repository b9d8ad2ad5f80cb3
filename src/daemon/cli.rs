//! maglevd's command line: flags, their environment variables and defaults.
//! Pure: the caller passes the arguments and an environment lookup.

use std::path::PathBuf;

pub const DEFAULT_CONFIG: &str = "/etc/vpp-maglev/maglev.yaml";
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/vpp-maglev/maglevd.sock";
pub const DEFAULT_METRICS_ADDR: &str = "127.0.0.1:9091";

/// What the operator asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub config: PathBuf,
    pub check_only: bool,
    /// `None`: take it from the config, then the default.
    pub control_socket: Option<PathBuf>,
    /// env_logger filter spec; `None`: `RUST_LOG`, else `info`.
    pub log_level: Option<String>,
    pub log_file: Option<PathBuf>,
    /// Empty string disables the metrics endpoint.
    pub metrics_addr: String,
    /// Override of `vpp.api-socket` (empty disables VPP integration).
    pub vpp_api_addr: Option<String>,
    /// Override of `vpp.stats-socket`.
    pub vpp_stats_addr: Option<String>,
}

/// What `parse` decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    Run(Options),
    Version,
    Help,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliError {
    UnknownFlag(String),
    MissingValue(String),
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::UnknownFlag(s) => write!(f, "unknown argument '{s}' (see --help)"),
            CliError::MissingValue(s) => write!(f, "flag {s} needs a value"),
        }
    }
}

pub const USAGE: &str = "\
usage: maglevd [options]

  -c, --config PATH         config file            [MAGLEV_CONFIG, /etc/vpp-maglev/maglev.yaml]
      --check               validate the config and exit: 0 ok, 1 parse error, 2 semantic error
      --control-socket PATH control socket         [MAGLEV_CONTROL_SOCKET, maglev.control.socket,
                                                    /run/vpp-maglev/maglevd.sock]
      --log-level SPEC      error|warn|info|debug|trace or an env_logger filter
                                                   [MAGLEV_LOG_LEVEL, RUST_LOG, info]
      --log-file PATH       write logs here instead of stderr (reopened on SIGUSR1)
                                                   [MAGLEV_LOG_FILE]
      --metrics-addr ADDR   Prometheus listener, empty disables
                                                   [MAGLEV_METRICS_ADDR, 127.0.0.1:9091]
      --vpp-api-addr PATH   VPP binary API socket, empty disables VPP
                                                   [MAGLEV_VPP_API_ADDR, vpp.api-socket]
      --vpp-stats-addr PATH VPP stats socket       [MAGLEV_VPP_STATS_ADDR, vpp.stats-socket]
      --version             print the version and exit
  -h, --help                this text
";

/// Parse arguments (without the program name). Flags win over environment.
pub fn parse<I, S>(args: I, env: impl Fn(&str) -> Option<String>) -> Result<Invocation, CliError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut o = Options {
        config: env("MAGLEV_CONFIG")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG)),
        check_only: false,
        control_socket: env("MAGLEV_CONTROL_SOCKET")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from),
        log_level: env("MAGLEV_LOG_LEVEL").filter(|s| !s.is_empty()),
        log_file: env("MAGLEV_LOG_FILE")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from),
        metrics_addr: env("MAGLEV_METRICS_ADDR").unwrap_or_else(|| DEFAULT_METRICS_ADDR.into()),
        vpp_api_addr: env("MAGLEV_VPP_API_ADDR"),
        vpp_stats_addr: env("MAGLEV_VPP_STATS_ADDR"),
    };
    let mut args = args.into_iter().map(Into::into);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, CliError> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => args
                    .next()
                    .ok_or_else(|| CliError::MissingValue(name.to_string())),
            }
        };
        match flag.as_str() {
            "-c" | "--config" => o.config = PathBuf::from(value(&flag)?),
            "--check" => o.check_only = true,
            "--control-socket" => o.control_socket = Some(PathBuf::from(value(&flag)?)),
            "--log-level" => o.log_level = Some(value(&flag)?),
            "--log-file" => o.log_file = Some(PathBuf::from(value(&flag)?)),
            "--metrics-addr" => o.metrics_addr = value(&flag)?,
            "--vpp-api-addr" => o.vpp_api_addr = Some(value(&flag)?),
            "--vpp-stats-addr" => o.vpp_stats_addr = Some(value(&flag)?),
            "--version" | "-V" => return Ok(Invocation::Version),
            "-h" | "--help" => return Ok(Invocation::Help),
            _ => return Err(CliError::UnknownFlag(arg)),
        }
    }
    Ok(Invocation::Run(o))
}

/// The log filter: flag or MAGLEV_LOG_LEVEL, else RUST_LOG, else `info`.
pub fn log_filter(o: &Options, env: impl Fn(&str) -> Option<String>) -> String {
    o.log_level
        .clone()
        .or_else(|| env("RUST_LOG").filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "info".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults() {
        let Invocation::Run(o) = parse(Vec::<String>::new(), no_env).unwrap() else {
            panic!()
        };
        assert_eq!(o.config, PathBuf::from(DEFAULT_CONFIG));
        assert!(!o.check_only);
        assert_eq!(o.metrics_addr, DEFAULT_METRICS_ADDR);
        assert_eq!(o.control_socket, None);
        assert_eq!(log_filter(&o, no_env), "info");
    }

    #[test]
    fn flags_win_over_env() {
        let env = |k: &str| match k {
            "MAGLEV_CONFIG" => Some("/env.yaml".to_string()),
            "MAGLEV_METRICS_ADDR" => Some("".to_string()),
            "RUST_LOG" => Some("debug".to_string()),
            _ => None,
        };
        let Invocation::Run(o) = parse(["--config", "/flag.yaml", "--check"], env).unwrap() else {
            panic!()
        };
        assert_eq!(o.config, PathBuf::from("/flag.yaml"));
        assert!(o.check_only);
        assert_eq!(o.metrics_addr, "");
        assert_eq!(log_filter(&o, env), "debug");
        let Invocation::Run(o) = parse(["--log-level=warn", "-c", "x"], env).unwrap() else {
            panic!()
        };
        assert_eq!(log_filter(&o, env), "warn");
        assert_eq!(o.config, PathBuf::from("x"));
    }

    #[test]
    fn errors_and_modes() {
        assert_eq!(parse(["--version"], no_env).unwrap(), Invocation::Version);
        assert_eq!(parse(["-h"], no_env).unwrap(), Invocation::Help);
        assert_eq!(
            parse(["--bogus"], no_env),
            Err(CliError::UnknownFlag("--bogus".into()))
        );
        assert_eq!(
            parse(["--config"], no_env),
            Err(CliError::MissingValue("--config".into()))
        );
        let Invocation::Run(o) = parse(["--vpp-api-addr="], no_env).unwrap() else {
            panic!()
        };
        assert_eq!(o.vpp_api_addr.as_deref(), Some(""));
    }
}
