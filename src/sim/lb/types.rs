//! Plain value types of the lb model: what a client names (VIP keys, encap
//! types, the global conf) and how lb derives its VIP type from them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::sim::ip46::Ip46;

/// A VIP as the API names it: prefix (IPv4 lengths 0–32), protocol, port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VipKey {
    pub prefix: IpAddr,
    pub len: u8,
    pub protocol: u8,
    pub port: u16,
}

impl VipKey {
    pub fn new(prefix: IpAddr, len: u8, protocol: u8, port: u16) -> VipKey {
        VipKey {
            prefix,
            len,
            protocol,
            port,
        }
    }

    /// The API handlers force protocol 255 for an all-port VIP (port 0).
    pub fn effective_protocol(&self) -> u8 {
        if self.port == 0 {
            u8::MAX
        } else {
            self.protocol
        }
    }

    /// `ip_address_decode` + `len + 96` for IPv4 + `ip46_prefix_normalize`.
    /// The length is a u8 in lb, so out-of-range IPv4 lengths wrap as there.
    pub fn internal_prefix(&self) -> (Ip46, u8) {
        let plen = match self.prefix {
            IpAddr::V4(_) => self.len.wrapping_add(96),
            IpAddr::V6(_) => self.len,
        };
        (Ip46::from_ip(self.prefix).normalized(plen), plen)
    }
}

/// `lb_encap_type`; `Unknown` keeps an out-of-range API value, which lb
/// turns into VIP type 0 (ip6-gre6) — an error for IPv4 prefixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encap {
    Gre4,
    Gre6,
    L3dsr,
    Nat4,
    Nat6,
    Unknown(u32),
}

impl Encap {
    pub fn from_api(value: u32) -> Encap {
        match value {
            0 => Encap::Gre4,
            1 => Encap::Gre6,
            2 => Encap::L3dsr,
            3 => Encap::Nat4,
            4 => Encap::Nat6,
            other => Encap::Unknown(other),
        }
    }

    pub fn to_api(self) -> u32 {
        match self {
            Encap::Gre4 => 0,
            Encap::Gre6 => 1,
            Encap::L3dsr => 2,
            Encap::Nat4 => 3,
            Encap::Nat6 => 4,
            Encap::Unknown(value) => value,
        }
    }
}

/// `lb_vip_type_t`, in lb's numbering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VipType {
    Ip6Gre6,
    Ip6Gre4,
    Ip4Gre6,
    Ip4Gre4,
    Ip4L3dsr,
    Ip4Nat4,
    Ip6Nat6,
}

impl VipType {
    /// What the add-VIP handler picks from the prefix family and encap; an
    /// unsupported combination falls back to type 0 like the C code.
    pub fn derive(prefix_is_ip4: bool, encap: Encap) -> VipType {
        match (prefix_is_ip4, encap) {
            (true, Encap::Gre4) => VipType::Ip4Gre4,
            (true, Encap::Gre6) => VipType::Ip4Gre6,
            (true, Encap::L3dsr) => VipType::Ip4L3dsr,
            (true, Encap::Nat4) => VipType::Ip4Nat4,
            (false, Encap::Gre4) => VipType::Ip6Gre4,
            (false, Encap::Nat6) => VipType::Ip6Nat6,
            _ => VipType::Ip6Gre6,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            VipType::Ip6Gre6 => "ip6-gre6",
            VipType::Ip6Gre4 => "ip6-gre4",
            VipType::Ip4Gre6 => "ip4-gre6",
            VipType::Ip4Gre4 => "ip4-gre4",
            VipType::Ip4L3dsr => "ip4-l3dsr",
            VipType::Ip4Nat4 => "ip4-nat4",
            VipType::Ip6Nat6 => "ip6-nat6",
        }
    }

    pub fn is_ip4(self) -> bool {
        matches!(
            self,
            VipType::Ip4Gre6 | VipType::Ip4Gre4 | VipType::Ip4L3dsr | VipType::Ip4Nat4
        )
    }

    /// `lb_encap_is_ip4`: the ASes must be IPv4.
    pub fn encap_is_ip4(self) -> bool {
        matches!(
            self,
            VipType::Ip6Gre4 | VipType::Ip4Gre4 | VipType::Ip4L3dsr | VipType::Ip4Nat4
        )
    }

    pub fn is_nat(self) -> bool {
        matches!(self, VipType::Ip4Nat4 | VipType::Ip6Nat6)
    }

    /// `lb_vip_type_to_api_encap` (used by `lb_vip_details`).
    pub fn api_encap(self) -> Encap {
        match self {
            VipType::Ip4Gre4 | VipType::Ip6Gre4 => Encap::Gre4,
            VipType::Ip4Gre6 | VipType::Ip6Gre6 => Encap::Gre6,
            VipType::Ip4L3dsr => Encap::L3dsr,
            VipType::Ip4Nat4 => Encap::Nat4,
            VipType::Ip6Nat6 => Encap::Nat6,
        }
    }
}

/// Arguments of `lb_add_del_vip_v2` (add).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VipAdd {
    pub key: VipKey,
    pub encap: Encap,
    pub dscp: u8,
    /// `lb_srv_type`: 0 cluster-ip, 1 node-port (NAT VIPs only).
    pub srv_type: u8,
    pub target_port: u16,
    pub new_flows_table_length: u32,
    pub src_ip_sticky: bool,
}

impl VipAdd {
    /// The common case: given key and encap, table length 1024, not sticky.
    pub fn new(key: VipKey, encap: Encap) -> VipAdd {
        VipAdd {
            key,
            encap,
            dscp: 0,
            srv_type: 0,
            target_port: 0,
            new_flows_table_length: 1024,
            src_ip_sticky: false,
        }
    }
}

/// lb's global configuration (`lb_conf` / `lb_conf_get`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LbConf {
    pub ip4_src: Ipv4Addr,
    pub ip6_src: Ipv6Addr,
    pub sticky_buckets_per_core: u32,
    pub flow_timeout: u32,
}

impl Default for LbConf {
    /// What `lb_init` sets: all-ones source addresses, 1024 buckets, 40 s.
    fn default() -> Self {
        LbConf {
            ip4_src: Ipv4Addr::new(255, 255, 255, 255),
            ip6_src: Ipv6Addr::from([0xff; 16]),
            sticky_buckets_per_core: 1024,
            flow_timeout: 40,
        }
    }
}
