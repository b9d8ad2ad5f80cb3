//! Stage 1: the YAML document as decoded by serde, before any cross-field
//! rule. Everything that can fail here is a *parse error*: unknown keys,
//! wrong types, duplicate keys, malformed durations and addresses.
//!
//! Numbers that have a semantic range (ports, weights, counts) are kept as
//! `i64` so that an out-of-range value becomes a semantic error with an exact
//! path instead of serde's generic "invalid value". Maps keep YAML order and
//! reject duplicate keys ([`NamedMap`]) because serde's own map impls would
//! silently keep the last one.

use std::fmt;
use std::marker::PhantomData;
use std::net::IpAddr;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use crate::duration::{self, DurationError};

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDocument {
    pub maglev: RawMaglev,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawMaglev {
    pub healthchecker: Option<RawHealthchecker>,
    pub vpp: Option<RawVpp>,
    pub control: Option<RawControl>,
    pub healthchecks: Option<NamedMap<RawHealthCheck>>,
    pub backends: Option<NamedMap<RawBackend>>,
    pub frontends: Option<NamedMap<RawFrontend>>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawHealthchecker {
    pub transition_history: Option<i64>,
    pub netns: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawVpp {
    pub api_socket: Option<String>,
    pub stats_socket: Option<String>,
    pub lb: Option<RawLb>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawLb {
    pub sync_interval: Option<RawDuration>,
    pub ipv4_src_address: Option<RawIp>,
    pub ipv6_src_address: Option<RawIp>,
    pub sticky_buckets_per_core: Option<i64>,
    pub flow_timeout: Option<RawDuration>,
    pub startup_min_delay: Option<RawDuration>,
    pub startup_max_delay: Option<RawDuration>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawControl {
    pub socket: Option<String>,
    pub mode: Option<RawMode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawCheckType {
    Icmp,
    Tcp,
    Http,
    Https,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawHealthCheck {
    #[serde(rename = "type")]
    pub check_type: RawCheckType,
    pub port: Option<i64>,
    pub interval: Option<RawDuration>,
    pub fast_interval: Option<RawDuration>,
    pub down_interval: Option<RawDuration>,
    pub timeout: Option<RawDuration>,
    pub rise: Option<i64>,
    pub fall: Option<i64>,
    pub probe_ipv4_src: Option<RawIp>,
    pub probe_ipv6_src: Option<RawIp>,
    pub params: Option<RawParams>,
}

/// `params` of a health check. One struct for every type so that unknown
/// keys are a parse error; which keys a type may use is checked in stage 2.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawParams {
    pub path: Option<String>,
    pub host: Option<String>,
    /// serde_yaml hands an unquoted `200` over as the string "200".
    pub response_codes: Option<String>,
    pub response_contains: Option<String>,
    pub response_regexp: Option<String>,
    pub insecure: Option<bool>,
}

impl RawParams {
    /// YAML names of the keys that are set, in declaration order.
    pub fn present_keys(&self) -> Vec<&'static str> {
        let flags = [
            ("path", self.path.is_some()),
            ("host", self.host.is_some()),
            ("response-codes", self.response_codes.is_some()),
            ("response-contains", self.response_contains.is_some()),
            ("response-regexp", self.response_regexp.is_some()),
            ("insecure", self.insecure.is_some()),
        ];
        flags
            .into_iter()
            .filter_map(|(key, set)| set.then_some(key))
            .collect()
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawBackend {
    pub address: RawIp,
    pub healthcheck: Option<String>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawProtocol {
    Tcp,
    Udp,
    Any,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawFrontend {
    pub address: RawIp,
    pub protocol: Option<RawProtocol>,
    pub port: Option<i64>,
    pub description: Option<String>,
    pub src_ip_sticky: Option<bool>,
    pub flush_on_down: Option<bool>,
    pub pools: Option<Vec<RawPool>>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawPool {
    pub name: Option<String>,
    pub backends: Option<NamedMap<RawPoolEntry>>,
}

/// A map keyed by name that keeps YAML order and rejects duplicate keys.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedMap<T>(pub Vec<(String, T)>);

impl<T> Default for NamedMap<T> {
    fn default() -> Self {
        NamedMap(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for NamedMap<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NamedMapVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for NamedMapVisitor<T> {
            type Value = NamedMap<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map keyed by name")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries: Vec<(String, T)> = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    if entries.iter().any(|(existing, _)| *existing == name) {
                        return Err(de::Error::custom(format_args!("duplicate key `{name}`")));
                    }
                    let value = map.next_value::<T>()?;
                    entries.push((name, value));
                }
                Ok(NamedMap(entries))
            }
        }

        deserializer.deserialize_map(NamedMapVisitor(PhantomData))
    }
}

/// A pool entry: `{ weight: N }`, `{}`, an empty value, or a bare integer.
/// `weight` is `None` when not given (default applies in stage 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RawPoolEntry {
    pub weight: Option<i64>,
}

impl<'de> Deserialize<'de> for RawPoolEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;

        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = RawPoolEntry;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a pool entry: `{ weight: N }`, `{}`, nothing, or an integer weight")
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(RawPoolEntry::default())
            }

            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(RawPoolEntry::default())
            }

            fn visit_i64<E: de::Error>(self, weight: i64) -> Result<Self::Value, E> {
                Ok(RawPoolEntry {
                    weight: Some(weight),
                })
            }

            fn visit_u64<E: de::Error>(self, weight: u64) -> Result<Self::Value, E> {
                // Anything beyond i64 is out of range anyway; saturate so
                // stage 2 reports it with its path.
                Ok(RawPoolEntry {
                    weight: Some(i64::try_from(weight).unwrap_or(i64::MAX)),
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entry = RawPoolEntry::default();
                let mut seen_weight = false;
                while let Some(key) = map.next_key::<String>()? {
                    if key != "weight" {
                        return Err(de::Error::unknown_field(&key, &["weight"]));
                    }
                    if seen_weight {
                        return Err(de::Error::duplicate_field("weight"));
                    }
                    seen_weight = true;
                    entry.weight = map.next_value::<Option<i64>>()?;
                }
                Ok(entry)
            }
        }

        deserializer.deserialize_any(EntryVisitor)
    }
}

/// A duration in Go syntax (or a bare `0`). Negative values survive stage 1
/// so that stage 2 can report them as semantic errors with their path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawDuration {
    Value(Duration),
    Negative(String),
}

impl<'de> Deserialize<'de> for RawDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // serde_yaml hands plain scalars (including the integer 0) to
        // `visit_str` when a string is asked for.
        deserialize_parsed(
            deserializer,
            "a duration such as \"2s\"",
            |text| match duration::parse(text) {
                Ok(value) => Ok(RawDuration::Value(value)),
                Err(DurationError::Negative(input)) => Ok(RawDuration::Negative(input)),
                Err(other) => Err(other.to_string()),
            },
        )
    }
}

/// A literal IP address. Prefixes (`192.0.2.1/32`) and host names are
/// rejected with a message that says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawIp(pub IpAddr);

impl<'de> Deserialize<'de> for RawIp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_parsed(deserializer, "an IP address", parse_ip)
    }
}

fn parse_ip(text: &str) -> Result<RawIp, String> {
    if let Ok(address) = text.parse::<IpAddr>() {
        return Ok(RawIp(address));
    }
    if let Some((address, _)) = text.split_once('/') {
        if address.parse::<IpAddr>().is_ok() {
            return Err(format!(
                "`{text}` is a prefix; give a bare IP address such as `{address}`"
            ));
        }
    }
    Err(format!(
        "`{text}` is not an IP address (a literal IPv4 or IPv6 address is needed; no host names)"
    ))
}

/// Decodes a scalar as text and converts it with `parse`. The conversion
/// runs inside the visitor so that serde_yaml attaches this value's own key
/// path and line/column to the error, not its parent's.
fn deserialize_parsed<'de, D, T>(
    deserializer: D,
    expecting: &'static str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    struct ParsedVisitor<T> {
        expecting: &'static str,
        parse: fn(&str) -> Result<T, String>,
    }

    impl<T> Visitor<'_> for ParsedVisitor<T> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.expecting)
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
            (self.parse)(text).map_err(E::custom)
        }
    }

    deserializer.deserialize_str(ParsedVisitor { expecting, parse })
}

/// `control.mode`: an octal string (`"0660"`; an unquoted `0660` reaches us
/// as that string too) or an integer (`0o660`, `432`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawMode {
    Integer(i64),
    Text(String),
}

impl<'de> Deserialize<'de> for RawMode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ModeVisitor;

        impl Visitor<'_> for ModeVisitor {
            type Value = RawMode;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a file mode: an octal string such as \"0660\" or an integer")
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
                Ok(RawMode::Integer(value))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
                Ok(RawMode::Integer(i64::try_from(value).unwrap_or(i64::MAX)))
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(RawMode::Text(value.to_string()))
            }
        }

        deserializer.deserialize_any(ModeVisitor)
    }
}
