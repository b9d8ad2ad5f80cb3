//! lb dumps: `lb_vip_dump` → `lb_vip_details`, `lb_as_v2_dump` →
//! `lb_as_v2_details` (WIRE.md §5, §9). Re-exported from [`super::lb`].
//!
//! Quirks the types keep visible rather than paper over: `lb_vip_dump`'s
//! filter is ignored by VPP; a filtered `lb_as_v2_dump` never matches an
//! IPv4 VIP; details carry removed ASes with `flags & 1 == 0`; and
//! `flow_table_length` is a u16 (65,536 reads as 0).

use std::net::IpAddr;

use super::lb::{LbEncapType, LbSrvType};
use super::types::{Prefix, Reader, Writer, ADDRESS_LEN, PREFIX_LEN};
use super::{Message, WireError};

/// Encoded size of `vl_api_lb_vip_t`.
const LB_VIP_LEN: usize = PREFIX_LEN + 1 + 2;

/// `vl_api_lb_vip_t`: the key of a VIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LbVip {
    pub pfx: Prefix,
    /// 255 for all-port VIPs (VPP forces it when port is 0).
    pub protocol: u8,
    pub port: u16,
}

impl LbVip {
    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(LbVip {
            pfx: r.prefix("vip.pfx")?,
            protocol: r.u8("vip.protocol")?,
            port: r.u16("vip.port")?,
        })
    }

    fn write(&self, w: &mut Writer<'_>) {
        w.prefix(self.pfx);
        w.u8(self.protocol);
        w.u16(self.port);
    }
}

/// `vl_api_prefix_matcher_t`; 255/255 = unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixMatcher {
    pub le: u8,
    pub ge: u8,
}

impl PrefixMatcher {
    pub const UNSET: PrefixMatcher = PrefixMatcher { le: 255, ge: 255 };
}

/// `lb_vip_dump`. VPP ignores every filter field and returns all live VIPs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LbVipDump {
    pub client_index: u32,
    pub context: u32,
    pub pfx: Prefix,
    pub pfx_matcher: PrefixMatcher,
    pub protocol: u8,
    pub port: u16,
}

impl LbVipDump {
    /// The dump-all form maglevd sends: zero prefix, matcher 255/255,
    /// protocol 255, port 0.
    pub fn all(client_index: u32, context: u32) -> Self {
        LbVipDump {
            client_index,
            context,
            pfx: Prefix::ZERO_V4,
            pfx_matcher: PrefixMatcher::UNSET,
            protocol: 255,
            port: 0,
        }
    }
}

impl Message for LbVipDump {
    const NAME: &'static str = "lb_vip_dump";

    fn parse(body: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::after_msg_id(Self::NAME, body)?;
        let msg = LbVipDump {
            client_index: r.u32("client_index")?,
            context: r.u32("context")?,
            pfx: r.prefix("pfx")?,
            pfx_matcher: PrefixMatcher {
                le: r.u8("pfx_matcher.le")?,
                ge: r.u8("pfx_matcher.ge")?,
            },
            protocol: r.u8("protocol")?,
            port: r.u16("port")?,
        };
        r.finish()?;
        Ok(msg)
    }

    fn buffer_len(&self) -> usize {
        10 + PREFIX_LEN + 2 + 1 + 2
    }

    fn emit(&self, msg_id: u16, buf: &mut Vec<u8>) {
        let mut w = Writer::start(buf, msg_id, self.buffer_len());
        w.u32(self.client_index);
        w.u32(self.context);
        w.prefix(self.pfx);
        w.u8(self.pfx_matcher.le);
        w.u8(self.pfx_matcher.ge);
        w.u8(self.protocol);
        w.u16(self.port);
    }
}

/// `lb_vip_details`: lossy (no VIP index, no src_ip_sticky).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LbVipDetails {
    pub context: u32,
    pub vip: LbVip,
    pub encap: LbEncapType,
    pub dscp: u8,
    pub srv_type: LbSrvType,
    pub target_port: u16,
    /// Truncated to 16 bits by VPP: 65,536 is reported as 0.
    pub flow_table_length: u16,
}

impl Message for LbVipDetails {
    const NAME: &'static str = "lb_vip_details";

    fn parse(body: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::after_msg_id(Self::NAME, body)?;
        let msg = LbVipDetails {
            context: r.u32("context")?,
            vip: LbVip::read(&mut r)?,
            encap: r.enum_u32("encap", LbEncapType::from_u32)?,
            dscp: r.u8("dscp")?,
            srv_type: r.enum_u32("srv_type", LbSrvType::from_u32)?,
            target_port: r.u16("target_port")?,
            flow_table_length: r.u16("flow_table_length")?,
        };
        r.finish()?;
        Ok(msg)
    }

    fn buffer_len(&self) -> usize {
        6 + LB_VIP_LEN + 4 + 1 + 4 + 2 + 2
    }

    fn emit(&self, msg_id: u16, buf: &mut Vec<u8>) {
        let mut w = Writer::start(buf, msg_id, self.buffer_len());
        w.u32(self.context);
        self.vip.write(&mut w);
        w.u32(self.encap.as_u32());
        w.u8(self.dscp);
        w.u32(self.srv_type.as_u32());
        w.u16(self.target_port);
        w.u16(self.flow_table_length);
    }
}

/// `lb_as_v2_dump`. An all-zero address means every VIP; see the module doc
/// for why an IPv4 filter must not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LbAsV2Dump {
    pub client_index: u32,
    pub context: u32,
    pub pfx: Prefix,
    pub protocol: u8,
    pub port: u16,
}

impl LbAsV2Dump {
    /// Dump the ASes of all VIPs (zero prefix, protocol 0, port 0).
    pub fn all(client_index: u32, context: u32) -> Self {
        LbAsV2Dump {
            client_index,
            context,
            pfx: Prefix::ZERO_V4,
            protocol: 0,
            port: 0,
        }
    }
}

impl Message for LbAsV2Dump {
    const NAME: &'static str = "lb_as_v2_dump";

    fn parse(body: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::after_msg_id(Self::NAME, body)?;
        let msg = LbAsV2Dump {
            client_index: r.u32("client_index")?,
            context: r.u32("context")?,
            pfx: r.prefix("pfx")?,
            protocol: r.u8("protocol")?,
            port: r.u16("port")?,
        };
        r.finish()?;
        Ok(msg)
    }

    fn buffer_len(&self) -> usize {
        10 + PREFIX_LEN + 1 + 2
    }

    fn emit(&self, msg_id: u16, buf: &mut Vec<u8>) {
        let mut w = Writer::start(buf, msg_id, self.buffer_len());
        w.u32(self.client_index);
        w.u32(self.context);
        w.prefix(self.pfx);
        w.u8(self.protocol);
        w.u16(self.port);
    }
}

/// `lb_as_v2_details`: one AS of one VIP, including removed-but-not-yet-
/// collected ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LbAsV2Details {
    pub context: u32,
    pub vip: LbVip,
    pub app_srv: IpAddr,
    /// Bit 0 = in use; removed ASes linger with 0 until lb's GC.
    pub flags: u8,
    /// VPP uptime in whole seconds when the AS was removed (0 if never).
    pub in_use_since: u32,
    pub weight: u8,
    pub num_buckets: u32,
}

impl LbAsV2Details {
    /// Bit 0 of `flags`: the AS is attached (not removed).
    pub const FLAG_USED: u8 = 1;

    pub fn is_used(&self) -> bool {
        self.flags & Self::FLAG_USED != 0
    }
}

impl Message for LbAsV2Details {
    const NAME: &'static str = "lb_as_v2_details";

    fn parse(body: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::after_msg_id(Self::NAME, body)?;
        let msg = LbAsV2Details {
            context: r.u32("context")?,
            vip: LbVip::read(&mut r)?,
            app_srv: r.address("app_srv")?,
            flags: r.u8("flags")?,
            in_use_since: r.u32("in_use_since")?,
            weight: r.u8("weight")?,
            num_buckets: r.u32("num_buckets")?,
        };
        r.finish()?;
        Ok(msg)
    }

    fn buffer_len(&self) -> usize {
        6 + LB_VIP_LEN + ADDRESS_LEN + 1 + 4 + 1 + 4
    }

    fn emit(&self, msg_id: u16, buf: &mut Vec<u8>) {
        let mut w = Writer::start(buf, msg_id, self.buffer_len());
        w.u32(self.context);
        self.vip.write(&mut w);
        w.address(self.app_srv);
        w.u8(self.flags);
        w.u32(self.in_use_since);
        w.u8(self.weight);
        w.u32(self.num_buckets);
    }
}
