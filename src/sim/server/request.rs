//! Decoding requests the way VPP does: leniently.
//!
//! VPP does not check a request's length against its definition and reads
//! whatever bytes are there (WIRE.md §1); booleans are any non-zero byte and
//! enums any u32. The strict codec in `vpp::wire` is right for a client but
//! would make the simulator refuse what VPP accepts, so requests are read
//! here with a cursor that yields zeros past the end (VPP would read stale
//! buffer bytes; zeros are the deterministic stand-in) and ignores trailing
//! bytes. Replies are still emitted with the codec.

use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::sim::lb::{AsDumpFilter, VipKey};

/// The common request prefix after the message id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hdr {
    pub client_index: u32,
    pub context: u32,
}

/// `lb_add_del_vip` (v1) and `lb_add_del_vip_v2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VipRequest {
    pub key: VipKey,
    pub encap: u32,
    pub dscp: u8,
    pub srv_type: u32,
    pub target_port: u16,
    pub node_port: u16,
    pub new_flows_table_length: u32,
    /// Always false for v1, which has no such field.
    pub src_ip_sticky: bool,
    pub is_del: bool,
}

/// `lb_add_del_as` (v1, weight 100) and `lb_add_del_as_v2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsRequest {
    pub key: VipKey,
    pub address: IpAddr,
    pub weight: u8,
    pub is_del: bool,
    pub is_flush: bool,
}

/// A decoded request. `name` dispatch happened before: the variant says
/// which message it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    SockclntCreate {
        context: u32,
        name: String,
    },
    SockclntDelete {
        hdr: Hdr,
        index: u32,
    },
    ControlPing(Hdr),
    ShowVersion(Hdr),
    /// `cmd` is `None` when the string length runs past the message (VPP
    /// answers -1 with an empty reply).
    CliInband {
        hdr: Hdr,
        cmd: Option<String>,
    },
    LbConf {
        hdr: Hdr,
        ip4_src: Ipv4Addr,
        ip6_src: Ipv6Addr,
        sticky_buckets_per_core: u32,
        flow_timeout: u32,
    },
    LbConfGet(Hdr),
    LbAddDelVip {
        hdr: Hdr,
        v2: bool,
        vip: VipRequest,
    },
    LbAddDelAs {
        hdr: Hdr,
        v2: bool,
        req: AsRequest,
    },
    LbAsSetWeight {
        hdr: Hdr,
        req: AsRequest,
    },
    LbFlushVip {
        hdr: Hdr,
        key: VipKey,
    },
    LbVipDump(Hdr),
    LbAsDump {
        hdr: Hdr,
        v2: bool,
        filter: AsDumpFilter,
    },
    IpRouteLookup {
        hdr: Hdr,
        table_id: u32,
        exact: bool,
        prefix: IpAddr,
        len: u8,
    },
    /// In the table but not simulated: VPP would answer, we stay silent
    /// (logged), like an unknown id.
    Unsupported {
        name: String,
    },
    /// Not in the table: VPP logs "no handler for msg id N" and answers
    /// nothing.
    Unknown {
        msg_id: u16,
    },
}

impl Request {
    /// Decodes `body` as the message named `name` (without CRC).
    pub fn decode(name: &str, body: &[u8]) -> Request {
        let mut r = Lenient::after_msg_id(body);
        match name {
            "sockclnt_create" => Request::SockclntCreate {
                context: r.u32(),
                name: r.fixed_string(64),
            },
            "sockclnt_delete" => Request::SockclntDelete {
                hdr: r.hdr(),
                index: r.u32(),
            },
            "control_ping" => Request::ControlPing(r.hdr()),
            "show_version" => Request::ShowVersion(r.hdr()),
            "cli_inband" => Request::CliInband {
                hdr: r.hdr(),
                cmd: r.var_string(),
            },
            "lb_conf" => Request::LbConf {
                hdr: r.hdr(),
                ip4_src: Ipv4Addr::from(r.array::<4>()),
                ip6_src: Ipv6Addr::from(r.array::<16>()),
                sticky_buckets_per_core: r.u32(),
                flow_timeout: r.u32(),
            },
            "lb_conf_get" => Request::LbConfGet(r.hdr()),
            "lb_add_del_vip" | "lb_add_del_vip_v2" => {
                let v2 = name.ends_with("_v2");
                let hdr = r.hdr();
                let vip = VipRequest {
                    key: r.vip_key(),
                    encap: r.u32(),
                    dscp: r.u8(),
                    srv_type: r.u32(),
                    target_port: r.u16(),
                    node_port: r.u16(),
                    new_flows_table_length: r.u32(),
                    src_ip_sticky: v2 && r.bool(),
                    is_del: r.bool(),
                };
                Request::LbAddDelVip { hdr, v2, vip }
            }
            "lb_add_del_as" | "lb_add_del_as_v2" => {
                let v2 = name.ends_with("_v2");
                let hdr = r.hdr();
                let key = r.vip_key();
                let address = r.address();
                // v1 has no weight; its handler adds with weight 100.
                let weight = if v2 { r.u8() } else { 100 };
                let req = AsRequest {
                    key,
                    address,
                    weight,
                    is_del: r.bool(),
                    is_flush: r.bool(),
                };
                Request::LbAddDelAs { hdr, v2, req }
            }
            "lb_as_set_weight" => {
                let hdr = r.hdr();
                let req = AsRequest {
                    key: r.vip_key(),
                    address: r.address(),
                    weight: r.u8(),
                    is_del: false,
                    is_flush: r.bool(),
                };
                Request::LbAsSetWeight { hdr, req }
            }
            "lb_flush_vip" => Request::LbFlushVip {
                hdr: r.hdr(),
                key: r.vip_key(),
            },
            "lb_vip_dump" => Request::LbVipDump(r.hdr()),
            "lb_as_dump" | "lb_as_v2_dump" => {
                let hdr = r.hdr();
                let _af = r.u8();
                let raw_address = r.array::<16>();
                let _len = r.u8();
                let filter = AsDumpFilter {
                    raw_address,
                    protocol: r.u8(),
                    port: r.u16(),
                };
                Request::LbAsDump {
                    hdr,
                    v2: name.ends_with("_v2_dump"),
                    filter,
                }
            }
            "ip_route_lookup" => {
                let hdr = r.hdr();
                let table_id = r.u32();
                let exact = r.u8() != 0;
                let prefix = r.address();
                Request::IpRouteLookup {
                    hdr,
                    table_id,
                    exact,
                    prefix,
                    len: r.u8(),
                }
            }
            other => Request::Unsupported {
                name: other.to_owned(),
            },
        }
    }

    /// The `client_index` the request names (its reply's addressee); `None`
    /// for `sockclnt_create`, which is answered on its own socket.
    pub fn client_index(&self) -> Option<u32> {
        self.hdr().map(|h| h.client_index)
    }

    pub fn context(&self) -> Option<u32> {
        match self {
            Request::SockclntCreate { context, .. } => Some(*context),
            other => other.hdr().map(|h| h.context),
        }
    }

    fn hdr(&self) -> Option<Hdr> {
        match self {
            Request::SockclntDelete { hdr, .. }
            | Request::ControlPing(hdr)
            | Request::ShowVersion(hdr)
            | Request::CliInband { hdr, .. }
            | Request::LbConf { hdr, .. }
            | Request::LbConfGet(hdr)
            | Request::LbAddDelVip { hdr, .. }
            | Request::LbAddDelAs { hdr, .. }
            | Request::LbAsSetWeight { hdr, .. }
            | Request::LbFlushVip { hdr, .. }
            | Request::LbVipDump(hdr)
            | Request::LbAsDump { hdr, .. }
            | Request::IpRouteLookup { hdr, .. } => Some(*hdr),
            Request::SockclntCreate { .. }
            | Request::Unsupported { .. }
            | Request::Unknown { .. } => None,
        }
    }

    /// One-line `key=value` summary of the fields (recorder, debug log).
    pub fn summary(&self) -> String {
        let mut s = String::new();
        if let Some(hdr) = self.hdr() {
            let _ = write!(s, "client_index={:#x} ", hdr.client_index);
        }
        if let Some(context) = self.context() {
            let _ = write!(s, "context={context:#x}");
        }
        let _ = match self {
            Request::SockclntCreate { name, .. } => write!(s, " name={name:?}"),
            Request::SockclntDelete { index, .. } => write!(s, " index={index:#x}"),
            Request::CliInband { cmd, .. } => write!(s, " cmd={:?}", cmd.as_deref().unwrap_or("")),
            Request::LbConf {
                ip4_src,
                ip6_src,
                sticky_buckets_per_core,
                flow_timeout,
                ..
            } => write!(
                s,
                " ip4_src={ip4_src} ip6_src={ip6_src} \
                 sticky_buckets_per_core={sticky_buckets_per_core} flow_timeout={flow_timeout}"
            ),
            Request::LbAddDelVip { vip, .. } => write!(
                s,
                " {} encap={} dscp={} type={} target_port={} new_flows_table_length={} \
                 src_ip_sticky={} is_del={}",
                vip_text(&vip.key),
                vip.encap,
                vip.dscp,
                vip.srv_type,
                vip.target_port,
                vip.new_flows_table_length,
                vip.src_ip_sticky,
                vip.is_del
            ),
            Request::LbAddDelAs { req, .. } => write!(
                s,
                " {} as={} weight={} is_del={} is_flush={}",
                vip_text(&req.key),
                req.address,
                req.weight,
                req.is_del,
                req.is_flush
            ),
            Request::LbAsSetWeight { req, .. } => write!(
                s,
                " {} as={} weight={} is_flush={}",
                vip_text(&req.key),
                req.address,
                req.weight,
                req.is_flush
            ),
            Request::LbFlushVip { key, .. } => write!(s, " {}", vip_text(key)),
            Request::LbAsDump { filter, .. } => write!(
                s,
                " filter={} protocol={} port={}",
                Ipv6Addr::from(filter.raw_address),
                filter.protocol,
                filter.port
            ),
            Request::IpRouteLookup {
                table_id,
                exact,
                prefix,
                len,
                ..
            } => write!(
                s,
                " table_id={table_id} exact={exact} prefix={prefix}/{len}"
            ),
            Request::Unsupported { name } => write!(s, "unsupported={name}"),
            Request::Unknown { msg_id } => write!(s, "unknown_msg_id={msg_id}"),
            Request::ControlPing(_)
            | Request::ShowVersion(_)
            | Request::LbConfGet(_)
            | Request::LbVipDump(_) => Ok(()),
        };
        s.trim().to_owned()
    }
}

fn vip_text(key: &VipKey) -> String {
    format!(
        "vip={}/{} protocol={} port={}",
        key.prefix, key.len, key.protocol, key.port
    )
}

/// A cursor that never fails: bytes past the end read as zero.
struct Lenient<'a> {
    body: &'a [u8],
    pos: usize,
}

impl<'a> Lenient<'a> {
    fn after_msg_id(body: &'a [u8]) -> Self {
        Lenient { body, pos: 2 }
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = self.body.get(self.pos + i).copied().unwrap_or(0);
        }
        self.pos += N;
        out
    }

    fn u8(&mut self) -> u8 {
        self.array::<1>()[0]
    }

    fn bool(&mut self) -> bool {
        self.u8() != 0
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes(self.array())
    }

    fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.array())
    }

    fn hdr(&mut self) -> Hdr {
        Hdr {
            client_index: self.u32(),
            context: self.u32(),
        }
    }

    /// `vl_api_address_t`: af 0 is IPv4 (union bytes 0–3); any other af is
    /// read as IPv6.
    fn address(&mut self) -> IpAddr {
        let af = self.u8();
        let union = self.array::<16>();
        if af == 0 {
            IpAddr::V4(Ipv4Addr::new(union[0], union[1], union[2], union[3]))
        } else {
            IpAddr::V6(Ipv6Addr::from(union))
        }
    }

    /// `pfx` (address + len), `protocol`, `port`: the VIP key of lb requests.
    fn vip_key(&mut self) -> VipKey {
        let prefix = self.address();
        let len = self.u8();
        VipKey::new(prefix, len, self.u8(), self.u16())
    }

    fn fixed_string(&mut self, n: usize) -> String {
        let start = self.pos.min(self.body.len());
        let end = self.pos.saturating_add(n).min(self.body.len());
        self.pos = self.pos.saturating_add(n);
        let raw = self.body.get(start..end).unwrap_or(&[]);
        let text = raw.split(|b| *b == 0).next().unwrap_or(&[]);
        String::from_utf8_lossy(text).into_owned()
    }

    fn var_string(&mut self) -> Option<String> {
        let len = usize::try_from(self.u32()).ok()?;
        let end = self.pos.checked_add(len)?;
        let raw = self.body.get(self.pos..end)?;
        self.pos = end;
        Some(String::from_utf8_lossy(raw).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(fields: &[&[u8]]) -> Vec<u8> {
        let mut b = vec![0, 99];
        for f in fields {
            b.extend_from_slice(f);
        }
        b
    }

    #[test]
    fn short_bodies_read_zeros_and_odd_values_are_kept() {
        // client_index, context, then an af-0 prefix cut after 2 bytes.
        let b = body(&[&[0x80, 0, 0, 1], &[0, 0, 0, 7], &[0, 192]]);
        let Request::LbAddDelAs { hdr, v2, req } = Request::decode("lb_add_del_as_v2", &b) else {
            panic!()
        };
        assert_eq!(hdr.client_index, 0x8000_0001);
        assert_eq!(hdr.context, 7);
        assert!(v2);
        assert_eq!(req.key.prefix, "192.0.0.0".parse::<IpAddr>().unwrap());
        assert_eq!((req.weight, req.is_del, req.is_flush), (0, false, false));

        let mut vip = body(&[&[0; 8], &[1], &[0x20; 16], &[128, 6, 0, 80]]);
        vip.extend_from_slice(&[0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 2, 5]);
        let Request::LbAddDelVip { vip, .. } = Request::decode("lb_add_del_vip_v2", &vip) else {
            panic!()
        };
        assert_eq!(vip.encap, 9);
        assert_eq!(vip.new_flows_table_length, 1024);
        assert!(vip.src_ip_sticky, "any non-zero byte is true");
        assert!(vip.is_del);
    }

    #[test]
    fn v1_messages_lack_fields() {
        let mut b = body(&[&[0; 8], &[0, 192, 0, 2, 80], &[0; 12], &[32, 6, 0, 80]]);
        b.extend_from_slice(&[0, 198, 51, 100, 1]);
        b.extend_from_slice(&[0; 12]);
        b.extend_from_slice(&[1, 0]);
        let Request::LbAddDelAs { v2, req, .. } = Request::decode("lb_add_del_as", &b) else {
            panic!()
        };
        assert!(!v2);
        assert_eq!(req.weight, 100);
        assert!(req.is_del);
    }

    #[test]
    fn cli_string_past_the_end_is_none() {
        let b = body(&[&[0; 8], &[0, 0, 0, 10], b"show"]);
        assert_eq!(
            Request::decode("cli_inband", &b),
            Request::CliInband {
                hdr: Hdr {
                    client_index: 0,
                    context: 0
                },
                cmd: None
            }
        );
    }

    #[test]
    fn summaries_name_the_fields() {
        let b = body(&[&[0x80, 0, 0, 1], &[0, 0, 0x20, 6], &[0, 0, 0, 4], b"show"]);
        let req = Request::decode("cli_inband", &b);
        assert_eq!(
            req.summary(),
            "client_index=0x80000001 context=0x2006 cmd=\"show\""
        );
        assert_eq!(req.client_index(), Some(0x8000_0001));
        assert_eq!(
            Request::Unknown { msg_id: 4242 }.summary(),
            "unknown_msg_id=4242"
        );
    }
}
