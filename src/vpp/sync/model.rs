//! What the planner compares: the VIP key, the desired VIP (config + health)
//! and the current VIP (VPP's dumps), plus the normalisation that turns VPP's
//! dump representation into the same keys the desired side uses.
//!
//! Both sides must build *identical* keys for the same VIP, or every sync
//! recreates everything. The traps (WIRE.md §9, dataplane.md §13): IPv4
//! arrives as 4 bytes, as an af-0 address union or as an IPv4-mapped IPv6
//! address; VPP forces protocol 255 on all-port VIPs; the AS dump returns
//! removed ASes with flags 0 and cannot be filtered by an IPv4 VIP.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// VPP's protocol number for "any protocol" (all-port VIPs).
pub const PROTOCOL_ANY: u8 = 255;

/// Bit 0 of `lb_as_v2_details.flags`: the AS is in use (not removed).
pub const AS_FLAG_USED: u8 = 1;

/// Identity of a VIP in VPP: (prefix, protocol, port).
///
/// Always canonical: IPv4 as `IpAddr::V4` (never mapped into IPv6), a prefix
/// length valid for the family, and protocol 255 whenever port is 0 (VPP
/// forces that itself). `Ord` is numeric: IPv4 before IPv6, then address,
/// length, protocol, port — the order every plan walks VIPs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VipKey {
    addr: IpAddr,
    prefix_len: u8,
    protocol: u8,
    port: u16,
}

/// Why a dump entry could not become a [`VipKey`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The address union carried an address family other than 0 (IPv4) or 1 (IPv6).
    AddressFamily { af: u8 },
    /// The prefix length does not fit the address family.
    PrefixLength { addr: IpAddr, len: u8 },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::AddressFamily { af } => write!(f, "unknown address family {af}"),
            KeyError::PrefixLength { addr, len } => {
                write!(f, "prefix length {len} invalid for {addr}")
            }
        }
    }
}

impl std::error::Error for KeyError {}

impl VipKey {
    /// A configured VIP: host prefix (/32 or /128) of `addr`.
    pub fn host(addr: IpAddr, protocol: u8, port: u16) -> VipKey {
        let addr = addr.to_canonical();
        let prefix_len = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        VipKey::canonical(addr, prefix_len, protocol, port)
    }

    /// A VIP as VPP reports it. An IPv4-mapped IPv6 prefix (`::ffff:a.b.c.d/
    /// 96+n`) becomes `a.b.c.d/n`.
    pub fn from_prefix(addr: IpAddr, len: u8, protocol: u8, port: u16) -> Result<VipKey, KeyError> {
        let (addr, len) = match addr {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) if len >= 96 => (IpAddr::V4(v4), len - 96),
                _ => (addr, len),
            },
            IpAddr::V4(_) => (addr, len),
        };
        let max = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        if len > max {
            return Err(KeyError::PrefixLength { addr, len });
        }
        Ok(VipKey::canonical(addr, len, protocol, port))
    }

    fn canonical(addr: IpAddr, prefix_len: u8, protocol: u8, port: u16) -> VipKey {
        let protocol = if port == 0 { PROTOCOL_ANY } else { protocol };
        VipKey {
            addr,
            prefix_len,
            protocol,
            port,
        }
    }

    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    pub fn protocol(&self) -> u8 {
        self.protocol
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// CIDR text, e.g. `192.0.2.80/32`.
    pub fn prefix_string(&self) -> String {
        format!("{}/{}", self.addr, self.prefix_len)
    }
}

impl fmt::Display for VipKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} protocol {} port {}",
            self.addr, self.prefix_len, self.protocol, self.port
        )
    }
}

/// Encapsulation of a VIP (`lb_encap_type`). Desired VIPs only use GRE; other
/// values can only come from a dump (a VIP someone else created).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Encap {
    Gre4,
    Gre6,
    /// L3DSR (2), NAT4 (3), NAT6 (4) or anything newer, as the raw enum value.
    Other(u32),
}

impl Encap {
    /// Encap for a set of backends: the *backend* family decides (§4).
    pub fn for_backend(addr: IpAddr) -> Encap {
        match addr.to_canonical() {
            IpAddr::V4(_) => Encap::Gre4,
            IpAddr::V6(_) => Encap::Gre6,
        }
    }

    pub fn from_wire(value: u32) -> Encap {
        match value {
            0 => Encap::Gre4,
            1 => Encap::Gre6,
            other => Encap::Other(other),
        }
    }

    pub fn to_wire(self) -> u32 {
        match self {
            Encap::Gre4 => 0,
            Encap::Gre6 => 1,
            Encap::Other(value) => value,
        }
    }
}

impl fmt::Display for Encap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Encap::Gre4 => f.write_str("gre4"),
            Encap::Gre6 => f.write_str("gre6"),
            Encap::Other(value) => write!(f, "encap-{value}"),
        }
    }
}

/// One application server as the config and health state want it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DesiredAs {
    pub weight: u8,
    /// The effective-weight table asks for flushing this AS's sessions.
    pub flush: bool,
    /// Opaque; changes whenever the backend's state changes. A flush is
    /// issued at most once per (VIP, AS, epoch).
    pub flush_epoch: u64,
}

/// A VIP as it should be in VPP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredVip {
    pub key: VipKey,
    pub encap: Encap,
    pub src_ip_sticky: bool,
    /// Keys are canonical (IPv4 as `V4`); use [`DesiredVip::insert_as`].
    pub ases: BTreeMap<IpAddr, DesiredAs>,
}

impl DesiredVip {
    pub fn new(key: VipKey, encap: Encap, src_ip_sticky: bool) -> DesiredVip {
        DesiredVip {
            key,
            encap,
            src_ip_sticky,
            ases: BTreeMap::new(),
        }
    }

    /// Adds an AS, canonicalising IPv4-mapped IPv6 addresses to IPv4.
    pub fn insert_as(&mut self, addr: IpAddr, desired: DesiredAs) {
        self.ases.insert(addr.to_canonical(), desired);
    }
}

/// One AS as VPP has it (in use: flags bit 0 set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentAs {
    pub weight: u8,
}

/// A VIP as VPP has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentVip {
    pub key: VipKey,
    pub encap: Encap,
    /// Only the CLI scrape reveals it; `None` when the scrape did not list
    /// this VIP. The planner never recreates a VIP on an unknown flag.
    pub src_ip_sticky: Option<bool>,
    pub ases: BTreeMap<IpAddr, CurrentAs>,
}

/// An address as a decoder may hand it over: already an `IpAddr` (4 or 16
/// bytes), or the raw `vl_api_address_t` union (af 0 = IPv4 in bytes 0–3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpAddr {
    Ip(IpAddr),
    Union { af: u8, un: [u8; 16] },
}

impl DumpAddr {
    /// The canonical address, or an error for an unknown address family.
    pub fn to_ip(self) -> Result<IpAddr, KeyError> {
        self.decode().map(|addr| addr.to_canonical())
    }

    /// As carried, IPv4-mapped IPv6 left alone (prefix lengths depend on it).
    fn decode(self) -> Result<IpAddr, KeyError> {
        match self {
            DumpAddr::Ip(addr) => Ok(addr),
            DumpAddr::Union { af: 0, un } => {
                Ok(IpAddr::V4(Ipv4Addr::new(un[0], un[1], un[2], un[3])))
            }
            DumpAddr::Union { af: 1, un } => Ok(IpAddr::V6(Ipv6Addr::from(un))),
            DumpAddr::Union { af, .. } => Err(KeyError::AddressFamily { af }),
        }
    }
}

impl From<IpAddr> for DumpAddr {
    fn from(addr: IpAddr) -> DumpAddr {
        DumpAddr::Ip(addr)
    }
}

/// One `lb_vip_details`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DumpVip {
    pub prefix_addr: DumpAddr,
    pub prefix_len: u8,
    pub protocol: u8,
    pub port: u16,
    /// `lb_encap_type`: 0 GRE4, 1 GRE6, 2 L3DSR, 3 NAT4, 4 NAT6.
    pub encap: u32,
}

impl DumpVip {
    pub fn key(&self) -> Result<VipKey, KeyError> {
        VipKey::from_prefix(
            self.prefix_addr.decode()?,
            self.prefix_len,
            self.protocol,
            self.port,
        )
    }
}

/// One `lb_as_v2_details`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DumpAs {
    pub vip_prefix_addr: DumpAddr,
    pub vip_prefix_len: u8,
    pub vip_protocol: u8,
    pub vip_port: u16,
    pub addr: DumpAddr,
    /// Bit 0 = in use; removed ASes linger with 0 until lb's GC.
    pub flags: u8,
    pub weight: u8,
    pub num_buckets: u32,
}

impl DumpAs {
    pub fn vip_key(&self) -> Result<VipKey, KeyError> {
        VipKey::from_prefix(
            self.vip_prefix_addr.decode()?,
            self.vip_prefix_len,
            self.vip_protocol,
            self.vip_port,
        )
    }

    pub fn is_used(&self) -> bool {
        self.flags & AS_FLAG_USED != 0
    }
}

/// Builds the current state from an unfiltered `lb_vip_dump`, an unfiltered
/// `lb_as_v2_dump` and the src-ip-sticky flags of the CLI scrape
/// ([`crate::vpp::sync::sticky_from_cli`]).
///
/// ASes are matched to VIPs on the full key on this side (a filtered dump
/// loses IPv4 VIPs, WIRE.md §9.1); ASes with flags 0 are skipped (removed but
/// not yet collected, §9.2), which also resolves the duplicate (VIP, AS) that
/// a re-added VIP produces. ASes of VIPs absent from the VIP dump belong to
/// deleted VIPs and are ignored. Entries with an undecodable address are
/// skipped: they cannot be addressed by any call anyway.
pub fn current_from_dumps(
    vips: &[DumpVip],
    ases: &[DumpAs],
    sticky: &[(VipKey, bool)],
) -> BTreeMap<VipKey, CurrentVip> {
    let mut current = BTreeMap::new();
    for vip in vips {
        let Ok(key) = vip.key() else { continue };
        current.entry(key).or_insert_with(|| CurrentVip {
            key,
            encap: Encap::from_wire(vip.encap),
            src_ip_sticky: None,
            ases: BTreeMap::new(),
        });
    }
    for (key, flag) in sticky {
        if let Some(vip) = current.get_mut(key) {
            vip.src_ip_sticky = Some(*flag);
        }
    }
    for dumped in ases.iter().filter(|a| a.is_used()) {
        let (Ok(key), Ok(addr)) = (dumped.vip_key(), dumped.addr.to_ip()) else {
            continue;
        };
        if let Some(vip) = current.get_mut(&key) {
            vip.ases.insert(
                addr,
                CurrentAs {
                    weight: dumped.weight,
                },
            );
        }
    }
    current
}
