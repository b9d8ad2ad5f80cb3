//! Stage 2 for `backends` and `frontends`: references, pools and weights,
//! address-family consistency, VIP collisions that VPP would refuse, and the
//! VPP source addresses the used backend families require.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use super::{family_name, Errors, GivenSourceAddresses};
use crate::config::model::{Backend, Frontend, HealthCheck, Pool, PoolMember, Protocol};
use crate::config::raw::{NamedMap, RawBackend, RawFrontend, RawPool, RawProtocol};

pub const DEFAULT_WEIGHT: u8 = 100;
pub const MAX_WEIGHT: i64 = 100;

pub(super) fn backends(
    errors: &mut Errors,
    raw: NamedMap<RawBackend>,
    healthchecks: &BTreeMap<String, HealthCheck>,
) -> BTreeMap<Arc<str>, Backend> {
    let check_names: BTreeMap<&str, Arc<str>> = healthchecks
        .keys()
        .map(|n| (n.as_str(), Arc::from(n.as_str())))
        .collect();
    raw.0
        .into_iter()
        .map(|(name, backend)| {
            let path = format!("backends.{name}.healthcheck");
            match backend.healthcheck.as_deref() {
                Some("") => errors.add(path, "must not be empty (omit it for a static backend)"),
                Some(check) if !healthchecks.contains_key(check) => {
                    errors.add(path, format!("unknown healthcheck `{check}`"))
                }
                _ => {}
            }
            let validated = Backend {
                address: backend.address.0,
                healthcheck: backend
                    .healthcheck
                    .map(|c| match check_names.get(c.as_str()) {
                        Some(shared) => Arc::clone(shared),
                        None => Arc::from(c),
                    }),
                enabled: backend.enabled.unwrap_or(true),
            };
            (Arc::from(name), validated)
        })
        .collect()
}

pub(super) fn frontends(
    errors: &mut Errors,
    raw: NamedMap<RawFrontend>,
    backends: &BTreeMap<Arc<str>, Backend>,
) -> BTreeMap<String, Frontend> {
    let validated: BTreeMap<String, Frontend> = raw
        .0
        .into_iter()
        .map(|(name, frontend)| {
            let validated =
                frontend_entry(errors, &format!("frontends.{name}"), frontend, backends);
            (name, validated)
        })
        .collect();
    shared_addresses(errors, &validated, backends);
    validated
}

fn frontend_entry(
    errors: &mut Errors,
    base: &str,
    raw: RawFrontend,
    backends: &BTreeMap<Arc<str>, Backend>,
) -> Frontend {
    let protocol = match raw.protocol {
        None | Some(RawProtocol::Any) => Protocol::Any,
        Some(RawProtocol::Tcp) => Protocol::Tcp,
        Some(RawProtocol::Udp) => Protocol::Udp,
    };
    let port = match raw.port {
        None => 0,
        Some(value) => u16::try_from(value).unwrap_or_else(|_| {
            errors.add(
                format!("{base}.port"),
                format!("{value} out of range 0..=65535"),
            );
            0
        }),
    };
    if protocol == Protocol::Any && port != 0 {
        errors.add(
            format!("{base}.port"),
            format!("{port} with protocol any: an all-protocol VIP must use port 0 (an omitted protocol means any)"),
        );
    }

    let raw_pools = raw.pools.unwrap_or_default();
    if raw_pools.is_empty() {
        errors.add(format!("{base}.pools"), "at least one pool is required");
    }
    // backend name → index of the pool that first used it.
    let mut first_pool_of: BTreeMap<String, usize> = BTreeMap::new();
    let mut first_pool_named: BTreeMap<String, usize> = BTreeMap::new();
    let pools = raw_pools
        .into_iter()
        .enumerate()
        .map(|(index, pool)| {
            let pool_base = format!("{base}.pools[{index}]");
            pool_entry(
                errors,
                &pool_base,
                index,
                pool,
                backends,
                &mut first_pool_named,
                &mut first_pool_of,
            )
        })
        .collect();

    let frontend = Frontend {
        address: raw.address.0,
        protocol,
        port,
        description: raw.description.unwrap_or_default(),
        src_ip_sticky: raw.src_ip_sticky.unwrap_or(false),
        flush_on_down: raw.flush_on_down.unwrap_or(true),
        pools,
    };
    let (ipv4, ipv6) = backends_by_family(&frontend, backends);
    if !ipv4.is_empty() && !ipv6.is_empty() {
        errors.add(
            format!("{base}.pools"),
            format!(
                "backends mix IPv4 ({}) and IPv6 ({}); all backends of a frontend must share one address family",
                ipv4.join(", "),
                ipv6.join(", ")
            ),
        );
    }
    frontend
}

fn pool_entry(
    errors: &mut Errors,
    pool_base: &str,
    index: usize,
    raw: RawPool,
    backends: &BTreeMap<Arc<str>, Backend>,
    first_pool_named: &mut BTreeMap<String, usize>,
    first_pool_of: &mut BTreeMap<String, usize>,
) -> Pool {
    let name = raw.name.unwrap_or_default();
    if name.is_empty() {
        errors.add(
            format!("{pool_base}.name"),
            "a non-empty pool name is required",
        );
    } else if let Some(first) = first_pool_named.get(&name) {
        errors.add(
            format!("{pool_base}.name"),
            format!("duplicate pool name `{name}` (also pools[{first}])"),
        );
    } else {
        first_pool_named.insert(name.clone(), index);
    }

    let entries = raw.backends.unwrap_or_default().0;
    if entries.is_empty() {
        errors.add(
            format!("{pool_base}.backends"),
            "at least one backend is required",
        );
    }
    let members = entries
        .into_iter()
        .map(|(backend, entry)| {
            let member_path = format!("{pool_base}.backends.{backend}");
            if !backends.contains_key(backend.as_str()) {
                errors.add(&member_path, format!("unknown backend `{backend}`"));
            }
            match first_pool_of.get(&backend) {
                Some(first) => errors.add(
                    &member_path,
                    format!("backend `{backend}` is already in pools[{first}] of this frontend"),
                ),
                None => {
                    first_pool_of.insert(backend.clone(), index);
                }
            }
            let weight = match entry.weight {
                None => DEFAULT_WEIGHT,
                Some(value) => match u8::try_from(value) {
                    Ok(weight) if i64::from(weight) <= MAX_WEIGHT => weight,
                    _ => {
                        errors.add(
                            format!("{member_path}.weight"),
                            format!("{value} out of range 0..={MAX_WEIGHT}"),
                        );
                        DEFAULT_WEIGHT
                    }
                },
            };
            PoolMember { backend, weight }
        })
        .collect();
    Pool { name, members }
}

/// Names of the frontend's known backends, split by address family.
fn backends_by_family<'a>(
    frontend: &'a Frontend,
    backends: &BTreeMap<Arc<str>, Backend>,
) -> (Vec<&'a str>, Vec<&'a str>) {
    frontend
        .backend_names()
        .filter_map(|name| backends.get(name).map(|b| (name, b.address)))
        .fold(
            (Vec::new(), Vec::new()),
            |(mut v4, mut v6), (name, address)| {
                if address.is_ipv4() {
                    v4.push(name);
                } else {
                    v6.push(name);
                }
                (v4, v6)
            },
        )
}

/// The single backend family of a frontend, if it has one.
fn backend_family(
    frontend: &Frontend,
    backends: &BTreeMap<Arc<str>, Backend>,
) -> Option<&'static str> {
    match backends_by_family(frontend, backends) {
        (v4, v6) if !v4.is_empty() && v6.is_empty() => Some("IPv4"),
        (v4, v6) if v4.is_empty() && !v6.is_empty() => Some("IPv6"),
        _ => None,
    }
}

/// Rules between frontends on one VIP address, reported on the later name:
/// identical (address, protocol, port); port 0 is an all-port VIP in VPP
/// (protocol forced to any), which cannot coexist with another VIP on that
/// address (VPP -81); all VIPs of one address need one encap, i.e. one
/// backend family (VPP -73).
fn shared_addresses(
    errors: &mut Errors,
    frontends: &BTreeMap<String, Frontend>,
    backends: &BTreeMap<Arc<str>, Backend>,
) {
    let listed: Vec<(&String, &Frontend)> = frontends.iter().collect();
    for (later_index, (later_name, later)) in listed.iter().enumerate() {
        let earlier_ones = listed.iter().take(later_index);
        for (earlier_name, earlier) in earlier_ones.filter(|(_, f)| f.address == later.address) {
            let path = format!("frontends.{later_name}");
            let address = later.address;
            if later.protocol == earlier.protocol && later.port == earlier.port {
                errors.add(
                    &path,
                    format!("same address, protocol and port as frontends.{earlier_name}"),
                );
            } else if later.port == 0 && earlier.port == 0 {
                errors.add(
                    &path,
                    format!(
                        "frontends.{earlier_name} is also an all-port VIP (port 0) on {address}; VPP keeps one all-port VIP per address whatever the protocol"
                    ),
                );
            } else if later.port == 0 || earlier.port == 0 {
                errors.add(
                    &path,
                    format!(
                        "{address} would carry both an all-port VIP (port 0) and a per-port VIP (with frontends.{earlier_name}); VPP refuses that mix"
                    ),
                );
            }
            let families = (
                backend_family(earlier, backends),
                backend_family(later, backends),
            );
            if let (Some(earlier_family), Some(later_family)) = families {
                if earlier_family != later_family {
                    errors.add(
                        &path,
                        format!(
                            "shares VIP address {address} with frontends.{earlier_name}, whose backends are {earlier_family} while these are {later_family}; VPP needs one encapsulation per VIP address"
                        ),
                    );
                }
            }
        }
    }
}

/// With VPP integration enabled, every backend family used by a frontend
/// needs its GRE source address.
pub(super) fn require_src_addresses(
    errors: &mut Errors,
    given: GivenSourceAddresses,
    frontends: &BTreeMap<String, Frontend>,
    backends: &BTreeMap<Arc<str>, Backend>,
) {
    let first_user = |want_ipv4: bool| {
        frontends.iter().find_map(|(frontend_name, frontend)| {
            frontend.backend_names().find_map(|name| {
                let address: IpAddr = backends.get(name)?.address;
                (address.is_ipv4() == want_ipv4).then_some((frontend_name, name, address))
            })
        })
    };
    let checks = [
        (true, given.ipv4, "vpp.lb.ipv4-src-address"),
        (false, given.ipv6, "vpp.lb.ipv6-src-address"),
    ];
    for (want_ipv4, is_given, path) in checks {
        if is_given {
            continue;
        }
        if let Some((frontend, backend, address)) = first_user(want_ipv4) {
            errors.add(
                path,
                format!(
                    "required when VPP integration is enabled (vpp.api-socket): frontends.{frontend} uses {} backend `{backend}`",
                    family_name(address)
                ),
            );
        }
    }
}
