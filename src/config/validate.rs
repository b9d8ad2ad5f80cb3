//! Stage 2: semantic validation of a decoded document (spec/config.md §8)
//! and construction of the [`Config`] model with defaults filled in.
//!
//! Every rule is checked and every violation collected, so an operator sees
//! all problems at once; the list is sorted by path. This module owns the
//! global sections (`healthchecker`, `vpp`, `control`) and the shared helpers;
//! `healthchecks` and `frontends` (with backends) live in submodules.

mod frontends;
mod healthchecks;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::error::SemanticError;
use super::model::{Config, ControlConfig, HealthcheckerConfig, LbConfig, VppConfig};
use super::raw::{RawControl, RawDocument, RawDuration, RawHealthchecker, RawIp, RawMode, RawVpp};

pub const DEFAULT_TRANSITION_HISTORY: usize = 5;
pub const DEFAULT_API_SOCKET: &str = "/run/vpp/api.sock";
pub const DEFAULT_STATS_SOCKET: &str = "/run/vpp/stats.sock";
pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_secs(30);
pub const DEFAULT_STICKY_BUCKETS_PER_CORE: u32 = 65536;
pub const DEFAULT_FLOW_TIMEOUT_SECS: u32 = 40;
pub const MAX_FLOW_TIMEOUT_SECS: u32 = 120;
pub const DEFAULT_STARTUP_MIN_DELAY: Duration = Duration::from_secs(5);
pub const DEFAULT_STARTUP_MAX_DELAY: Duration = Duration::from_secs(30);
pub const DEFAULT_CONTROL_MODE: u32 = 0o660;

/// Checks every rule; returns the model, or all violations sorted by path.
pub fn validate(document: RawDocument) -> Result<Config, Vec<SemanticError>> {
    let raw = document.maglev;
    let mut errors = Errors::default();

    let healthchecker = healthchecker(&mut errors, raw.healthchecker.unwrap_or_default());
    let raw_vpp = raw.vpp.unwrap_or_default();
    let (vpp, given_src) = vpp(&mut errors, &raw_vpp);
    let control = control(&mut errors, raw.control.unwrap_or_default());
    let healthchecks =
        healthchecks::healthchecks(&mut errors, raw.healthchecks.unwrap_or_default());
    let backends =
        frontends::backends(&mut errors, raw.backends.unwrap_or_default(), &healthchecks);
    let frontends = frontends::frontends(&mut errors, raw.frontends.unwrap_or_default(), &backends);
    if vpp.api_socket.is_some() {
        frontends::require_src_addresses(&mut errors, given_src, &frontends, &backends);
    }
    check_names(
        &mut errors,
        "healthchecks",
        healthchecks.keys().map(String::as_str),
    );
    check_names(&mut errors, "backends", backends.keys().map(|n| &**n));
    check_names(
        &mut errors,
        "frontends",
        frontends.keys().map(String::as_str),
    );
    for (fname, f) in &frontends {
        for (i, p) in f.pools.iter().enumerate() {
            if !p.name.is_empty() && !name_ok(&p.name) {
                errors.add(
                    format!("frontends.{fname}.pools[{i}].name"),
                    name_rule(&p.name),
                );
            }
        }
    }

    let config = Config {
        healthchecker,
        vpp,
        control,
        healthchecks,
        backends,
        frontends,
    };
    errors.into_result(config)
}

/// Names are typed as words on the control socket and printed in columns,
/// so they may not contain blanks, control characters or quotes.
fn name_ok(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '"' && c != '\\')
}

fn name_rule(name: &str) -> String {
    format!("name {name:?} must be non-empty, without blanks, control characters, quotes or backslashes")
}

fn check_names<'a>(errors: &mut Errors, section: &str, names: impl Iterator<Item = &'a str>) {
    for n in names {
        if !name_ok(n) {
            errors.add(format!("{section}.{n}"), name_rule(n));
        }
    }
}

/// Collects violations; paths are YAML key paths without `maglev.`.
#[derive(Debug, Default)]
struct Errors(Vec<SemanticError>);

impl Errors {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(SemanticError::new(path, message));
    }

    fn into_result<T>(self, value: T) -> Result<T, Vec<SemanticError>> {
        let mut list = self.0;
        if list.is_empty() {
            return Ok(value);
        }
        list.sort();
        list.dedup();
        Err(list)
    }
}

/// Which source addresses were given (of any family): a wrong-family value
/// is reported once, not again as "missing".
#[derive(Debug, Clone, Copy, Default)]
struct GivenSourceAddresses {
    ipv4: bool,
    ipv6: bool,
}

/// A duration that may be zero; negative is an error (then `default`).
fn duration_or(
    errors: &mut Errors,
    path: &str,
    raw: Option<&RawDuration>,
    default: Duration,
) -> Duration {
    match raw {
        None => default,
        Some(RawDuration::Value(value)) => *value,
        Some(RawDuration::Negative(text)) => {
            errors.add(path, format!("negative duration {text:?}"));
            default
        }
    }
}

/// A duration that must be greater than zero.
fn positive_duration(
    errors: &mut Errors,
    path: &str,
    raw: Option<&RawDuration>,
    default: Duration,
) -> Duration {
    let value = duration_or(errors, path, raw, default);
    if value.is_zero() {
        errors.add(path, "must be greater than 0");
        return default;
    }
    value
}

/// An integer count that must be at least 1 (and fit a u32).
/// `rise` and `fall`: 1..=65535. The upper bound is ours (spec says ≥ 1):
/// 65,535 probes at 1 s is 18 hours, and the state machine of 10,000
/// backends stores the thresholds in 16 bits (docs/config.md).
fn threshold_count(errors: &mut Errors, path: &str, raw: Option<i64>, default: u32) -> u32 {
    let Some(value) = raw else {
        return default;
    };
    match u16::try_from(value) {
        Ok(count) if count >= 1 => u32::from(count),
        _ => {
            errors.add(path, format!("{value} out of range 1..={}", u16::MAX));
            default
        }
    }
}

fn family_name(address: IpAddr) -> &'static str {
    if address.is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}

fn ipv4_only(errors: &mut Errors, path: &str, raw: Option<RawIp>) -> Option<std::net::Ipv4Addr> {
    match raw?.0 {
        IpAddr::V4(address) => Some(address),
        other @ IpAddr::V6(_) => {
            errors.add(path, format!("must be an IPv4 address, got {other}"));
            None
        }
    }
}

fn ipv6_only(errors: &mut Errors, path: &str, raw: Option<RawIp>) -> Option<std::net::Ipv6Addr> {
    match raw?.0 {
        IpAddr::V6(address) => Some(address),
        other @ IpAddr::V4(_) => {
            errors.add(path, format!("must be an IPv6 address, got {other}"));
            None
        }
    }
}

fn healthchecker(errors: &mut Errors, raw: RawHealthchecker) -> HealthcheckerConfig {
    let transition_history = match raw.transition_history {
        None => DEFAULT_TRANSITION_HISTORY,
        Some(value) => match usize::try_from(value) {
            Ok(count) if count >= 1 => count,
            _ => {
                errors.add(
                    "healthchecker.transition-history",
                    format!("{value} out of range: must be at least 1"),
                );
                DEFAULT_TRANSITION_HISTORY
            }
        },
    };
    let netns = raw.netns.filter(|name| !name.is_empty());
    if let Some(name) = &netns {
        // A name is a file under /run/netns; a path would escape it.
        if name.contains('/') || name.contains('\0') || name == "." || name == ".." {
            errors.add(
                "healthchecker.netns",
                format!("{name:?} is not a namespace name (as listed by `ip netns`)"),
            );
        }
    }
    HealthcheckerConfig {
        transition_history,
        netns,
    }
}

fn vpp(errors: &mut Errors, raw: &RawVpp) -> (VppConfig, GivenSourceAddresses) {
    let api_socket = match raw.api_socket.as_deref() {
        None => Some(PathBuf::from(DEFAULT_API_SOCKET)),
        Some("") => None,
        Some(path) => Some(PathBuf::from(path)),
    };
    // Empty disables the counter scrape (VPP programming goes on).
    let stats_socket = match raw.stats_socket.as_deref() {
        None => PathBuf::from(DEFAULT_STATS_SOCKET),
        Some(path) => PathBuf::from(path),
    };
    let empty_lb = Default::default();
    let lb = raw.lb.as_ref().unwrap_or(&empty_lb);
    let given = GivenSourceAddresses {
        ipv4: lb.ipv4_src_address.is_some(),
        ipv6: lb.ipv6_src_address.is_some(),
    };

    let sync_interval = duration_or(
        errors,
        "vpp.lb.sync-interval",
        lb.sync_interval.as_ref(),
        DEFAULT_SYNC_INTERVAL,
    );
    let sticky_buckets_per_core = match lb.sticky_buckets_per_core {
        None => DEFAULT_STICKY_BUCKETS_PER_CORE,
        Some(value) => match u32::try_from(value) {
            Ok(count) if count.is_power_of_two() => count,
            _ => {
                errors.add(
                    "vpp.lb.sticky-buckets-per-core",
                    format!("{value} is not a power of 2 in 1..=2147483648"),
                );
                DEFAULT_STICKY_BUCKETS_PER_CORE
            }
        },
    };
    let flow_timeout_secs = flow_timeout(errors, lb.flow_timeout.as_ref());
    let startup_min_delay = duration_or(
        errors,
        "vpp.lb.startup-min-delay",
        lb.startup_min_delay.as_ref(),
        DEFAULT_STARTUP_MIN_DELAY,
    );
    let startup_max_delay = duration_or(
        errors,
        "vpp.lb.startup-max-delay",
        lb.startup_max_delay.as_ref(),
        DEFAULT_STARTUP_MAX_DELAY,
    );
    if startup_max_delay < startup_min_delay {
        errors.add(
            "vpp.lb.startup-max-delay",
            format!(
                "{} is less than startup-min-delay {}",
                crate::duration::format(startup_max_delay),
                crate::duration::format(startup_min_delay)
            ),
        );
    }
    let config = VppConfig {
        api_socket,
        stats_socket,
        lb: LbConfig {
            sync_interval,
            ipv4_src_address: ipv4_only(errors, "vpp.lb.ipv4-src-address", lb.ipv4_src_address),
            ipv6_src_address: ipv6_only(errors, "vpp.lb.ipv6-src-address", lb.ipv6_src_address),
            sticky_buckets_per_core,
            flow_timeout_secs,
            startup_min_delay,
            startup_max_delay,
        },
    };
    (config, given)
}

/// VPP takes whole seconds in 1..=120; a sub-second remainder is refused
/// rather than silently rounded.
fn flow_timeout(errors: &mut Errors, raw: Option<&RawDuration>) -> u32 {
    const PATH: &str = "vpp.lb.flow-timeout";
    let default = Duration::from_secs(u64::from(DEFAULT_FLOW_TIMEOUT_SECS));
    let value = duration_or(errors, PATH, raw, default);
    let text = crate::duration::format(value);
    if value.subsec_nanos() != 0 {
        errors.add(PATH, format!("{text} is not a whole number of seconds"));
        return DEFAULT_FLOW_TIMEOUT_SECS;
    }
    match u32::try_from(value.as_secs()) {
        Ok(secs) if (1..=MAX_FLOW_TIMEOUT_SECS).contains(&secs) => secs,
        _ => {
            errors.add(PATH, format!("{text} out of range 1s..=120s"));
            DEFAULT_FLOW_TIMEOUT_SECS
        }
    }
}

fn control(errors: &mut Errors, raw: RawControl) -> ControlConfig {
    let socket = match raw.socket {
        None => None,
        Some(path) if path.is_empty() => {
            errors.add(
                "control.socket",
                "must not be empty (omit it for the default)",
            );
            None
        }
        Some(path) => Some(PathBuf::from(path)),
    };
    let mode = match raw.mode {
        None => DEFAULT_CONTROL_MODE,
        Some(raw_mode) => file_mode(&raw_mode).unwrap_or_else(|message| {
            errors.add("control.mode", message);
            DEFAULT_CONTROL_MODE
        }),
    };
    ControlConfig { socket, mode }
}

fn file_mode(raw: &RawMode) -> Result<u32, String> {
    let value = match raw {
        RawMode::Integer(value) => {
            u32::try_from(*value).map_err(|_| format!("{value} is not a file mode (0..=0o777)"))?
        }
        RawMode::Text(text) => {
            let digits = text.strip_prefix("0o").unwrap_or(text);
            if digits.is_empty() || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                return Err(format!(
                    "{text:?} is not an octal file mode such as \"0660\""
                ));
            }
            u32::from_str_radix(digits, 8)
                .map_err(|_| format!("{text:?} is not an octal file mode such as \"0660\""))?
        }
    };
    if value > 0o777 {
        return Err(format!(
            "{value:#o} is above 0o777 (write the mode as an octal string such as \"0660\")"
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_modes() {
        let cases: &[(RawMode, Result<u32, &str>)] = &[
            (RawMode::Text("0660".into()), Ok(0o660)),
            (RawMode::Text("660".into()), Ok(0o660)),
            (RawMode::Text("0o600".into()), Ok(0o600)),
            (RawMode::Integer(0o640), Ok(0o640)),
            (RawMode::Integer(0), Ok(0)),
            (
                RawMode::Text("0860".into()),
                Err("\"0860\" is not an octal file mode such as \"0660\""),
            ),
            (
                RawMode::Text("".into()),
                Err("\"\" is not an octal file mode such as \"0660\""),
            ),
            (
                RawMode::Text("01777".into()),
                Err("0o1777 is above 0o777 (write the mode as an octal string such as \"0660\")"),
            ),
            (
                RawMode::Integer(660),
                Err("0o1224 is above 0o777 (write the mode as an octal string such as \"0660\")"),
            ),
            (
                RawMode::Integer(-1),
                Err("-1 is not a file mode (0..=0o777)"),
            ),
        ];
        for (raw, expected) in cases {
            assert_eq!(file_mode(raw), expected.map_err(String::from), "{raw:?}");
        }
    }
}
