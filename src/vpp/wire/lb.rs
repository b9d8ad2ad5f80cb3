//! lb plugin messages (API 1.2.0): global config, VIP and AS mutations, and
//! their enums. The dumps and their details live in [`super::lb_dump`].
//!
//! Field layouts follow WIRE.md §2's table. Protocol fields are plain `u8`
//! (6 = TCP, 17 = UDP, 255 = any) both where the JSON says `u8` and where it
//! says `vl_api_ip_proto_t` — same encoding.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::types::{Prefix, Reader, Writer, ADDRESS_LEN, PREFIX_LEN};
use super::{bare_request, Message, WireError};

pub use super::lb_dump::{
    LbAsV2Details, LbAsV2Dump, LbVip, LbVipDetails, LbVipDump, PrefixMatcher,
};

/// `vl_api_lb_encap_type_t` (u32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LbEncapType {
    Gre4 = 0,
    Gre6 = 1,
    L3dsr = 2,
    Nat4 = 3,
    Nat6 = 4,
}

impl LbEncapType {
    pub fn from_u32(v: u32) -> Option<Self> {
        Some(match v {
            0 => LbEncapType::Gre4,
            1 => LbEncapType::Gre6,
            2 => LbEncapType::L3dsr,
            3 => LbEncapType::Nat4,
            4 => LbEncapType::Nat6,
            _ => return None,
        })
    }

    pub fn as_u32(self) -> u32 {
        self as u32
    }
}

/// `vl_api_lb_srv_type_t` (u32), meaningful for NAT VIPs only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LbSrvType {
    ClusterIp = 0,
    NodePort = 1,
}

impl LbSrvType {
    pub fn from_u32(v: u32) -> Option<Self> {
        Some(match v {
            0 => LbSrvType::ClusterIp,
            1 => LbSrvType::NodePort,
            _ => return None,
        })
    }

    pub fn as_u32(self) -> u32 {
        self as u32
    }
}

/// `lb_conf`: global source addresses and flow-table parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LbConf {
    pub client_index: u32,
    pub context: u32,
    pub ip4_src_address: Ipv4Addr,
    pub ip6_src_address: Ipv6Addr,
    /// Must be a power of two (else -70 INVALID_MEMORY_SIZE).
    pub sticky_buckets_per_core: u32,
    /// Seconds.
    pub flow_timeout: u32,
}

impl Message for LbConf {
    const NAME: &'static str = "lb_conf";

    fn parse(body: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::after_msg_id(Self::NAME, body)?;
        let msg = LbConf {
            client_index: r.u32("client_index")?,
            context: r.u32("context")?,
            ip4_src_address: r.ip4("ip4_src_address")?,
            ip6_src_address: r.ip6("ip6_src_address")?,
            sticky_buckets_per_core: r.u32("sticky_buckets_per_core")?,
            flow_timeout: r.u32("flow_timeout")?,
        };
        r.finish()?;
        Ok(msg)
    }

    fn buffer_len(&self) -> usize {
        38
    }

    fn emit(&self, msg_id: u16, buf: &mut Vec<u8>) {
        let mut w = Writer::start(buf, msg_id, self.buffer_len());
        w.u32(self.client_index);
        w.u32(self.context);
        w.ip4(self.ip4_src_address);
        w.ip6(self.ip6_src_address);
        w.u32(self.sticky_buckets_per_core);
        w.u32(self.flow_timeout);
    }
}

bare_request!(
    /// `lb_conf_get`.
    LbConfGet,
    "lb_conf_get"
);

/// `lb_conf_get_reply`: the values `lb_conf` set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LbConfGetReply {
    pub context: u32,
    pub retval: i32,
    pub ip4_src_address: Ipv4Addr,
    pub ip6_src_address: Ipv6Addr,
    pub sticky_buckets_per_core: u32,
    pub flow_timeout: u32,
}

impl Message for LbConfGetReply {
    const NAME: &'static str = "lb_conf_get_reply";

    fn parse(body: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::after_msg_id(Self::NAME, body)?;
        let msg = LbConfGetReply {
            context: r.u32("context")?,
            retval: r.i32("retval")?,
            ip4_src_address: r.ip4("ip4_src_address")?,
            ip6_src_address: r.ip6("ip6_src_address")?,
            sticky_buckets_per_core: r.u32("sticky_buckets_per_core")?,
            flow_timeout: r.u32("flow_timeout")?,
        };
        r.finish()?;
        Ok(msg)
    }

    fn buffer_len(&self) -> usize {
        38
    }

    fn emit(&self, msg_id: u16, buf: &mut Vec<u8>) {
        let mut w = Writer::start(buf, msg_id, self.buffer_len());
        w.u32(self.context);
        w.i32(self.retval);
        w.ip4(self.ip4_src_address);
        w.ip6(self.ip6_src_address);
        w.u32(self.sticky_buckets_per_core);
        w.u32(self.flow_timeout);
    }
}

/// `lb_add_del_vip_v2`: create or delete a VIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LbAddDelVipV2 {
    pub client_index: u32,
    pub context: u32,
    pub pfx: Prefix,
    pub protocol: u8,
    /// 0 = all-port VIP.
    pub port: u16,
    pub encap: LbEncapType,
    /// L3DSR only.
    pub dscp: u8,
    /// NAT only (`type` in the API).
    pub srv_type: LbSrvType,
    pub target_port: u16,
    pub node_port: u16,
    /// Power of two (else -70).
    pub new_flows_table_length: u32,
    pub src_ip_sticky: bool,
    pub is_del: bool,
}

impl LbAddDelVipV2 {
    /// Adding a plain GRE VIP the way maglevd does: cluster-IP service, no
    /// DSCP or NAT ports, a 1,024-entry new-flow table (0 crashes VPP).
    pub fn gre(
        client_index: u32,
        context: u32,
        pfx: Prefix,
        protocol: u8,
        port: u16,
        encap: LbEncapType,
        src_ip_sticky: bool,
    ) -> Self {
        LbAddDelVipV2 {
            client_index,
            context,
            pfx,
            protocol,
            port,
            encap,
            dscp: 0,
            srv_type: LbSrvType::ClusterIp,
            target_port: 0,
            node_port: 0,
            new_flows_table_length: 1024,
            src_ip_sticky,
            is_del: false,
        }
    }
}

impl Message for LbAddDelVipV2 {
    const NAME: &'static str = "lb_add_del_vip_v2";

    fn parse(body: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::after_msg_id(Self::NAME, body)?;
        let msg = LbAddDelVipV2 {
            client_index: r.u32("client_index")?,
            context: r.u32("context")?,
            pfx: r.prefix("pfx")?,
            protocol: r.u8("protocol")?,
            port: r.u16("port")?,
            encap: r.enum_u32("encap", LbEncapType::from_u32)?,
            dscp: r.u8("dscp")?,
            srv_type: r.enum_u32("type", LbSrvType::from_u32)?,
            target_port: r.u16("target_port")?,
            node_port: r.u16("node_port")?,
            new_flows_table_length: r.u32("new_flows_table_length")?,
            src_ip_sticky: r.bool("src_ip_sticky")?,
            is_del: r.bool("is_del")?,
        };
        r.finish()?;
        Ok(msg)
    }

    fn buffer_len(&self) -> usize {
        10 + PREFIX_LEN + 1 + 2 + 4 + 1 + 4 + 2 + 2 + 4 + 1 + 1
    }

    fn emit(&self, msg_id: u16, buf: &mut Vec<u8>) {
        let mut w = Writer::start(buf, msg_id, self.buffer_len());
        w.u32(self.client_index);
        w.u32(self.context);
        w.prefix(self.pfx);
        w.u8(self.protocol);
        w.u16(self.port);
        w.u32(self.encap.as_u32());
        w.u8(self.dscp);
        w.u32(self.srv_type.as_u32());
        w.u16(self.target_port);
        w.u16(self.node_port);
        w.u32(self.new_flows_table_length);
        w.bool(self.src_ip_sticky);
        w.bool(self.is_del);
    }
}

/// `lb_add_del_as_v2`: attach (with weight) or detach an application server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LbAddDelAsV2 {
    pub client_index: u32,
    pub context: u32,
    pub pfx: Prefix,
    pub protocol: u8,
    pub port: u16,
    pub as_address: IpAddr,
    pub weight: u8,
    pub is_del: bool,
    pub is_flush: bool,
}

impl Message for LbAddDelAsV2 {
    const NAME: &'static str = "lb_add_del_as_v2";

    fn parse(body: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::after_msg_id(Self::NAME, body)?;
        let msg = LbAddDelAsV2 {
            client_index: r.u32("client_index")?,
            context: r.u32("context")?,
            pfx: r.prefix("pfx")?,
            protocol: r.u8("protocol")?,
            port: r.u16("port")?,
            as_address: r.address("as_address")?,
            weight: r.u8("weight")?,
            is_del: r.bool("is_del")?,
            is_flush: r.bool("is_flush")?,
        };
        r.finish()?;
        Ok(msg)
    }

    fn buffer_len(&self) -> usize {
        10 + PREFIX_LEN + 1 + 2 + ADDRESS_LEN + 1 + 1 + 1
    }

    fn emit(&self, msg_id: u16, buf: &mut Vec<u8>) {
        let mut w = Writer::start(buf, msg_id, self.buffer_len());
        w.u32(self.client_index);
        w.u32(self.context);
        w.prefix(self.pfx);
        w.u8(self.protocol);
        w.u16(self.port);
        w.address(self.as_address);
        w.u8(self.weight);
        w.bool(self.is_del);
        w.bool(self.is_flush);
    }
}

/// `lb_as_set_weight`: change an attached AS's weight (VPP does not check
/// the documented 0–100 range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LbAsSetWeight {
    pub client_index: u32,
    pub context: u32,
    pub pfx: Prefix,
    pub protocol: u8,
    pub port: u16,
    pub as_address: IpAddr,
    pub weight: u8,
    pub is_flush: bool,
}

impl Message for LbAsSetWeight {
    const NAME: &'static str = "lb_as_set_weight";

    fn parse(body: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::after_msg_id(Self::NAME, body)?;
        let msg = LbAsSetWeight {
            client_index: r.u32("client_index")?,
            context: r.u32("context")?,
            pfx: r.prefix("pfx")?,
            protocol: r.u8("protocol")?,
            port: r.u16("port")?,
            as_address: r.address("as_address")?,
            weight: r.u8("weight")?,
            is_flush: r.bool("is_flush")?,
        };
        r.finish()?;
        Ok(msg)
    }

    fn buffer_len(&self) -> usize {
        10 + PREFIX_LEN + 1 + 2 + ADDRESS_LEN + 1 + 1
    }

    fn emit(&self, msg_id: u16, buf: &mut Vec<u8>) {
        let mut w = Writer::start(buf, msg_id, self.buffer_len());
        w.u32(self.client_index);
        w.u32(self.context);
        w.prefix(self.pfx);
        w.u8(self.protocol);
        w.u16(self.port);
        w.address(self.as_address);
        w.u8(self.weight);
        w.bool(self.is_flush);
    }
}
