//! The validated configuration: what the rest of the daemon reads.
//!
//! These types are produced only by [`crate::config::load`] /
//! [`crate::config::parse_str`] after both validation stages passed, so code
//! that consumes them may rely on every cross-reference being resolvable
//! (backend names in pools exist, health-check names exist, families agree).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The whole `maglev:` document.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub healthchecker: HealthcheckerConfig,
    pub vpp: VppConfig,
    pub control: ControlConfig,
    /// Keyed by name; `BTreeMap` so every listing is sorted by name.
    pub healthchecks: BTreeMap<String, HealthCheck>,
    /// Names are shared (`Arc`) with the health checker's slots, and each
    /// backend's `healthcheck` with the other backends using that check:
    /// one copy of a name, not three, for each of 10,000 backends.
    pub backends: BTreeMap<Arc<str>, Backend>,
    pub frontends: BTreeMap<String, Frontend>,
}

/// `maglev.healthchecker`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthcheckerConfig {
    /// Transitions kept per backend (≥ 1, default 5).
    pub transition_history: usize,
    /// Network namespace (name under /run/netns) probes run in; `None` = own.
    pub netns: Option<String>,
}

/// `maglev.vpp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VppConfig {
    /// Binary API socket. `None` (empty string in YAML) disables VPP integration.
    pub api_socket: Option<PathBuf>,
    /// Stats segment socket.
    pub stats_socket: PathBuf,
    pub lb: LbConfig,
}

/// `maglev.vpp.lb`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbConfig {
    /// Period of the full drift-repair sync; `Duration::ZERO` disables it.
    pub sync_interval: Duration,
    pub ipv4_src_address: Option<Ipv4Addr>,
    pub ipv6_src_address: Option<Ipv6Addr>,
    /// Power of two.
    pub sticky_buckets_per_core: u32,
    /// Whole seconds, 1..=120.
    pub flow_timeout_secs: u32,
    pub startup_min_delay: Duration,
    pub startup_max_delay: Duration,
}

/// `maglev.control` (ours): where the control socket lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlConfig {
    /// `None`: use the command-line flag or the built-in default.
    pub socket: Option<PathBuf>,
    /// File mode of the socket, default 0o660.
    pub mode: u32,
}

/// Probe type of a health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckType {
    Icmp,
    Tcp,
    Http,
    Https,
}

impl CheckType {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckType::Icmp => "icmp",
            CheckType::Tcp => "tcp",
            CheckType::Http => "http",
            CheckType::Https => "https",
        }
    }
}

/// An inclusive range of accepted HTTP status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRange {
    pub low: u16,
    pub high: u16,
}

/// `params` of an `http` / `https` check.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpParams {
    /// Request path, default `/`.
    pub path: String,
    /// `Host` header and TLS SNI; `None` = the backend address literal.
    pub host: Option<String>,
    /// Accepted status codes, default `[200-399]`.
    pub response_codes: Vec<StatusRange>,
    /// Substring the body must contain.
    pub response_contains: Option<String>,
    /// Regular expression the body must match (source text; compiled by the prober).
    pub response_regexp: Option<String>,
    /// Skip certificate verification (https only), default true.
    pub insecure: bool,
}

/// `healthchecks.<name>`.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthCheck {
    pub check_type: CheckType,
    /// Required for tcp/http/https, absent for icmp.
    pub port: Option<u16>,
    pub interval: Duration,
    pub fast_interval: Duration,
    pub down_interval: Duration,
    pub timeout: Duration,
    pub rise: u32,
    pub fall: u32,
    pub probe_ipv4_src: Option<Ipv4Addr>,
    pub probe_ipv6_src: Option<Ipv6Addr>,
    /// Present for http/https.
    pub http: Option<HttpParams>,
}

/// `backends.<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    pub address: IpAddr,
    /// `None`: static backend (always passes).
    pub healthcheck: Option<Arc<str>>,
    pub enabled: bool,
}

/// L4 protocol of a VIP, with VPP's numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Tcp,
    Udp,
    Any,
}

impl Protocol {
    /// IANA protocol number as VPP wants it (255 = any).
    pub fn number(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Any => 255,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Any => "any",
        }
    }
}

/// One entry of `pools[].backends`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolMember {
    pub backend: String,
    /// 0..=100.
    pub weight: u8,
}

/// `frontends.<name>.pools[i]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub name: String,
    /// In YAML order.
    pub members: Vec<PoolMember>,
}

/// `frontends.<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frontend {
    pub address: IpAddr,
    pub protocol: Protocol,
    /// 0 = all ports.
    pub port: u16,
    pub description: String,
    pub src_ip_sticky: bool,
    pub flush_on_down: bool,
    /// Priority order: index 0 is primary.
    pub pools: Vec<Pool>,
}

impl Frontend {
    /// Every backend name referenced by this frontend, in pool order.
    pub fn backend_names(&self) -> impl Iterator<Item = &str> {
        self.pools
            .iter()
            .flat_map(|p| p.members.iter().map(|m| m.backend.as_str()))
    }
}

impl Config {
    /// A config with nothing in it: the "previous config" of the first load,
    /// so that startup is a reload where every backend is new.
    pub fn empty() -> Config {
        Config {
            healthchecker: HealthcheckerConfig {
                transition_history: 5,
                netns: None,
            },
            vpp: VppConfig {
                api_socket: None,
                stats_socket: PathBuf::new(),
                lb: LbConfig {
                    sync_interval: Duration::ZERO,
                    ipv4_src_address: None,
                    ipv6_src_address: None,
                    sticky_buckets_per_core: 65536,
                    flow_timeout_secs: 40,
                    startup_min_delay: Duration::ZERO,
                    startup_max_delay: Duration::ZERO,
                },
            },
            control: ControlConfig {
                socket: None,
                mode: 0o660,
            },
            healthchecks: BTreeMap::new(),
            backends: BTreeMap::new(),
            frontends: BTreeMap::new(),
        }
    }
}
