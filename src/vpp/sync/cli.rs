//! Parser for VPP's `show lb vips verbose` text (WIRE.md §10), fetched with
//! `cli_inband`. It is the only source of a VIP's src-ip-sticky flag and of
//! its lb pool index (the column of the lb stats counters).
//!
//! The text is human output, not an API: unknown lines are ignored, a block
//! whose header does not parse is skipped up to the next header, and nothing
//! here can panic on garbage.

use std::net::IpAddr;

use super::model::VipKey;

/// The four per-VIP lb counters, summed over threads by VPP.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CliCounters {
    /// `packet from existing sessions`
    pub existing_sessions: u64,
    /// `first session packet`
    pub first_session: u64,
    /// `untracked packet`
    pub untracked: u64,
    /// `no server configured`
    pub no_server: u64,
}

/// One AS line of a VIP block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CliAs {
    pub addr: IpAddr,
    /// VPP does not clamp weights (WIRE.md §9.3), so a u32 is kept.
    pub weight: u32,
    pub buckets: u32,
    pub flows: u64,
    /// `used`; false for `removed` ASes awaiting garbage collection.
    pub used: bool,
}

/// One VIP block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliVip {
    /// lb's VIP pool index.
    pub index: u32,
    /// e.g. `ip4-gre4`, `ip6-gre4`.
    pub vip_type: String,
    pub prefix: (IpAddr, u8),
    pub src_ip_sticky: bool,
    /// Deleted but not yet garbage-collected.
    pub removed: bool,
    /// Present only for per-port VIPs (port ≠ 0).
    pub protocol: Option<u8>,
    pub port: Option<u16>,
    pub new_size: Option<u32>,
    pub counters: CliCounters,
    pub ases: Vec<CliAs>,
}

impl CliVip {
    /// The key this VIP has in the API: all-port VIPs show no protocol line.
    pub fn key(&self) -> Option<VipKey> {
        let (addr, len) = self.prefix;
        VipKey::from_prefix(
            addr,
            len,
            self.protocol.unwrap_or(255),
            self.port.unwrap_or(0),
        )
        .ok()
    }
}

/// Parses the whole reply text.
pub fn parse_show_lb_vips(text: &str) -> Vec<CliVip> {
    let mut vips = Vec::new();
    let mut current: Option<CliVip> = None;
    for line in text.lines() {
        if let Some(header) = parse_header(line) {
            vips.extend(current.take());
            current = Some(header);
            continue;
        }
        if is_header_shaped(line) {
            // A header we cannot read: drop its block rather than
            // attributing its lines to the previous VIP.
            vips.extend(current.take());
            continue;
        }
        if let Some(vip) = current.as_mut() {
            parse_body_line(vip, line);
        }
    }
    vips.extend(current);
    vips
}

/// The src-ip-sticky flag per live VIP, for [`super::current_from_dumps`].
/// Removed VIPs are skipped: a re-added VIP can coexist with its removed
/// predecessor under the same key.
pub fn sticky_from_cli(vips: &[CliVip]) -> Vec<(VipKey, bool)> {
    vips.iter()
        .filter(|vip| !vip.removed)
        .filter_map(|vip| Some((vip.key()?, vip.src_ip_sticky)))
        .collect()
}

/// Headers start with exactly one space; body lines with two or more.
fn is_header_shaped(line: &str) -> bool {
    line.strip_prefix(' ')
        .and_then(|rest| rest.chars().next())
        .is_some_and(|c| !c.is_whitespace())
}

/// ` ip4-gre4 [1] 192.0.2.80/32 src_ip_sticky removed`
fn parse_header(line: &str) -> Option<CliVip> {
    if !is_header_shaped(line) {
        return None;
    }
    let mut words = line.split_whitespace();
    let vip_type = words.next()?;
    let index = words
        .next()?
        .strip_prefix('[')?
        .strip_suffix(']')?
        .parse()
        .ok()?;
    let prefix = parse_prefix(words.next()?)?;
    let mut vip = CliVip {
        index,
        vip_type: vip_type.to_string(),
        prefix,
        src_ip_sticky: false,
        removed: false,
        protocol: None,
        port: None,
        new_size: None,
        counters: CliCounters::default(),
        ases: Vec::new(),
    };
    for word in words {
        match word {
            "src_ip_sticky" => vip.src_ip_sticky = true,
            "removed" => vip.removed = true,
            _ => {}
        }
    }
    Some(vip)
}

fn parse_prefix(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = text.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((addr, len))
}

fn parse_body_line(vip: &mut CliVip, line: &str) {
    let trimmed = line.trim();
    if let Some((name, value)) = trimmed.split_once(": ") {
        // `    first session packet: 4` — counter names contain spaces.
        if let Ok(value) = value.trim().parse::<u64>() {
            match name {
                "packet from existing sessions" => vip.counters.existing_sessions = value,
                "first session packet" => vip.counters.first_session = value,
                "untracked packet" => vip.counters.untracked = value,
                "no server configured" => vip.counters.no_server = value,
                _ => {}
            }
        }
        return;
    }
    let mut words = trimmed.split_whitespace();
    let Some(first) = words.next() else { return };
    if let Ok(addr) = first.parse::<IpAddr>() {
        if let Some(as_line) = parse_as(addr, words) {
            vip.ases.push(as_line);
        }
        return;
    }
    for word in trimmed.split_whitespace() {
        let Some((key, value)) = word.split_once(':') else {
            continue;
        };
        match key {
            "new_size" => vip.new_size = value.parse().ok(),
            "protocol" => vip.protocol = value.parse().ok(),
            "port" => vip.port = value.parse().ok(),
            _ => {}
        }
    }
}

/// `198.51.100.1 weight:100 buckets:575 flows:3 dpo:13 used`
fn parse_as<'a>(addr: IpAddr, words: impl Iterator<Item = &'a str>) -> Option<CliAs> {
    let (mut weight, mut buckets, mut flows, mut used) = (None, None, None, None);
    for word in words {
        match word.split_once(':') {
            Some(("weight", v)) => weight = v.parse().ok(),
            Some(("buckets", v)) => buckets = v.parse().ok(),
            Some(("flows", v)) => flows = v.parse().ok(),
            Some(_) => {}
            None if word == "used" => used = Some(true),
            None if word == "removed" => used = Some(false),
            None => {}
        }
    }
    Some(CliAs {
        addr,
        weight: weight?,
        buckets: buckets?,
        flows: flows?,
        used: used?,
    })
}
