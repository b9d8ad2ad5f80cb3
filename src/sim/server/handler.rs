//! The simulated VPP's API handlers: one decoded [`Request`] in, the reply
//! frames out, with the lb model behind them. No sockets and no clock: the
//! server ticks the model and routes the replies.
//!
//! Replies are emitted with the `vpp::wire` codec; the header `q` word gets
//! the junk VPP puts there (a heap-address-looking value, 0 for
//! `sockclnt_create_reply` and `cli_inband_reply`; WIRE.md §1).

use std::collections::HashMap;
use std::net::IpAddr;

use super::request::{AsRequest, Hdr, Request, VipRequest};
use super::table::SimTable;
use crate::sim::ip46::Ip46;
use crate::sim::lb::{rv, Encap, LbState, VipAdd, VipDetails, VipKey};
use crate::vpp::wire::ip::{FibPath, IpRoute, IpRouteLookupReply, FIB_PATH_LEN};
use crate::vpp::wire::lb::{LbAsV2Details, LbConfGetReply, LbVip};
use crate::vpp::wire::memclnt::{
    ControlPingReply, MessageTableEntry, SockclntCreateReply, SockclntDeleteReply,
};
use crate::vpp::wire::types::Writer;
use crate::vpp::wire::vlib::CliInbandReply;
use crate::vpp::wire::vpe::ShowVersionReply;
use crate::vpp::wire::{Message, Prefix, RetvalReply};

/// The `q` junk of most captured replies.
pub const Q_JUNK: [u8; 8] = [0xc0, 0xc4, 0x04, 0x30, 0x01, 0, 0, 0];
const Q_SHOW_VERSION: [u8; 8] = [0x80, 0xb2, 0x06, 0x30, 0x01, 0, 0, 0];
const Q_ROUTE_FOUND: [u8; 8] = [0xc0, 0x25, 0x06, 0x30, 0x01, 0, 0, 0];
const Q_ZERO: [u8; 8] = [0; 8];

/// What `show_version` reports.
pub const PROGRAM: &str = "vpe";
pub const VERSION: &str = "26.10-vppsim";
const BUILD_DATE: &str = "2026-11-22T01:41:59";
const BUILD_DIRECTORY: &str = concat!("vpp-maglev ", env!("CARGO_PKG_VERSION"), " vppsim");

/// One reply frame: the header's junk word and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub q: [u8; 8],
    pub body: Vec<u8>,
}

/// Who gets the replies: VPP sends them to the registration the request's
/// `client_index` names (WIRE.md §4); `sockclnt_create` is answered on the
/// socket it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addressee {
    Sender,
    ClientIndex(u32),
}

/// The handler's answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub addressee: Addressee,
    pub replies: Vec<Reply>,
    /// Close the addressee's socket once these replies are written
    /// (`sockclnt_delete`).
    pub close_after: bool,
}

impl Response {
    /// No reply at all (unknown message).
    pub fn silent() -> Response {
        Response {
            addressee: Addressee::Sender,
            replies: Vec::new(),
            close_after: false,
        }
    }

    fn to(addressee: Addressee, replies: Vec<Reply>) -> Response {
        Response {
            addressee,
            replies,
            close_after: false,
        }
    }
}

/// What the server tells the handler about the connection.
pub struct RequestCtx<'a> {
    /// The client index registered for the sending socket.
    pub sender_index: u32,
    /// Whether a client index belongs to a live registration.
    pub is_live: &'a dyn Fn(u32) -> bool,
}

/// The simulated VPP process: lb state, pid, message ids.
#[derive(Debug, Clone)]
pub struct Handler {
    pub lb: LbState,
    pub vpe_pid: u32,
    table: SimTable,
    reply_ids: HashMap<&'static str, u16>,
}

/// Reply messages by name, with the CRC this build uses.
const REPLY_KEYS: [(&str, &str); 17] = [
    ("sockclnt_delete_reply", "sockclnt_delete_reply_8f38b1ee"),
    ("control_ping_reply", "control_ping_reply_f6b0b8ca"),
    ("show_version_reply", "show_version_reply_c919bde1"),
    ("cli_inband_reply", "cli_inband_reply_05879051"),
    ("lb_conf_reply", "lb_conf_reply_e8d4e804"),
    ("lb_conf_get_reply", "lb_conf_get_reply_923427ac"),
    ("lb_add_del_vip_reply", "lb_add_del_vip_reply_e8d4e804"),
    (
        "lb_add_del_vip_v2_reply",
        "lb_add_del_vip_v2_reply_e8d4e804",
    ),
    ("lb_add_del_as_reply", "lb_add_del_as_reply_e8d4e804"),
    ("lb_add_del_as_v2_reply", "lb_add_del_as_v2_reply_e8d4e804"),
    ("lb_as_set_weight_reply", "lb_as_set_weight_reply_e8d4e804"),
    ("lb_flush_vip_reply", "lb_flush_vip_reply_e8d4e804"),
    ("lb_vip_details", "lb_vip_details_1329ec9b"),
    ("lb_as_details", "lb_as_details_8d24c29e"),
    ("lb_as_v2_details", "lb_as_v2_details_90064aae"),
    ("ip_route_lookup_reply", "ip_route_lookup_reply_5d8febcb"),
    ("sockclnt_create_reply", "sockclnt_create_reply_35166268"),
];

impl Handler {
    pub fn new(table: SimTable, vpe_pid: u32) -> Handler {
        let reply_ids = REPLY_KEYS
            .iter()
            .filter_map(|(name, key)| table.id(key).map(|id| (*name, id)))
            .collect();
        Handler {
            lb: LbState::default(),
            vpe_pid,
            table,
            reply_ids,
        }
    }

    pub fn table(&self) -> &SimTable {
        &self.table
    }

    fn id(&self, reply: &str) -> u16 {
        self.reply_ids.get(reply).copied().unwrap_or(0)
    }

    fn emit<M: Message>(&self, reply: &str, q: [u8; 8], msg: &M) -> Reply {
        let mut body = Vec::with_capacity(msg.buffer_len());
        msg.emit(self.id(reply), &mut body);
        Reply { q, body }
    }

    fn retval_reply(&self, reply: &str, context: u32, retval: i32) -> Reply {
        let mut body = Vec::with_capacity(RetvalReply::LEN);
        RetvalReply { context, retval }.emit(self.id(reply), &mut body);
        Reply { q: Q_JUNK, body }
    }

    /// Runs the request's handler against the model.
    pub fn handle(&mut self, request: &Request, ctx: &RequestCtx<'_>) -> Response {
        let to = |hdr: &Hdr| Addressee::ClientIndex(hdr.client_index);
        match request {
            Request::SockclntCreate { context, .. } => {
                let reply = SockclntCreateReply {
                    client_index: 0,
                    context: *context,
                    response: 0,
                    index: ctx.sender_index,
                    message_table: self.table.announced(&[]),
                };
                let reply = self.emit("sockclnt_create_reply", Q_ZERO, &reply);
                Response::to(Addressee::Sender, vec![reply])
            }
            Request::SockclntDelete { hdr, index } => {
                let live = (ctx.is_live)(*index);
                let reply = SockclntDeleteReply {
                    context: hdr.context,
                    response: if live { 1 } else { -1 },
                };
                Response {
                    addressee: to(hdr),
                    replies: vec![self.emit("sockclnt_delete_reply", Q_JUNK, &reply)],
                    close_after: live,
                }
            }
            Request::ControlPing(hdr) => {
                let reply = self.ping_reply(hdr, 0);
                Response::to(to(hdr), vec![reply])
            }
            Request::ShowVersion(hdr) => {
                let reply = self.version_reply(hdr.context, 0);
                Response::to(to(hdr), vec![reply])
            }
            Request::CliInband { hdr, cmd } => {
                let (retval, text) = match cmd {
                    Some(cmd) => (0, super::cli::run(&self.lb, cmd)),
                    None => (-1, String::new()),
                };
                let reply = CliInbandReply {
                    context: hdr.context,
                    retval,
                    reply: text,
                };
                Response::to(to(hdr), vec![self.emit("cli_inband_reply", Q_ZERO, &reply)])
            }
            Request::LbConf {
                hdr,
                ip4_src,
                ip6_src,
                sticky_buckets_per_core,
                flow_timeout,
            } => {
                let retval =
                    self.lb
                        .conf(*ip4_src, *ip6_src, *sticky_buckets_per_core, *flow_timeout);
                let reply = self.retval_reply("lb_conf_reply", hdr.context, retval);
                Response::to(to(hdr), vec![reply])
            }
            Request::LbConfGet(hdr) => {
                let reply = self.conf_get_reply(hdr.context, 0);
                Response::to(to(hdr), vec![reply])
            }
            Request::LbAddDelVip { hdr, v2, vip } => {
                let retval = self.add_del_vip(vip);
                let name = if *v2 {
                    "lb_add_del_vip_v2_reply"
                } else {
                    "lb_add_del_vip_reply"
                };
                Response::to(to(hdr), vec![self.retval_reply(name, hdr.context, retval)])
            }
            Request::LbAddDelAs { hdr, v2, req } => {
                let retval = self.add_del_as(req);
                let name = if *v2 {
                    "lb_add_del_as_v2_reply"
                } else {
                    "lb_add_del_as_reply"
                };
                Response::to(to(hdr), vec![self.retval_reply(name, hdr.context, retval)])
            }
            Request::LbAsSetWeight { hdr, req } => {
                let retval = self
                    .lb
                    .set_weight(&req.key, req.address, req.weight, req.is_flush);
                let reply = self.retval_reply("lb_as_set_weight_reply", hdr.context, retval);
                Response::to(to(hdr), vec![reply])
            }
            Request::LbFlushVip { hdr, key } => {
                let retval = self.lb.flush_vip(key);
                let reply = self.retval_reply("lb_flush_vip_reply", hdr.context, retval);
                Response::to(to(hdr), vec![reply])
            }
            Request::LbVipDump(hdr) => {
                let details = self.lb.vip_dump();
                let replies = details
                    .iter()
                    .map(|d| self.vip_details(hdr.context, d))
                    .collect();
                Response::to(to(hdr), replies)
            }
            Request::LbAsDump { hdr, v2, filter } => {
                let details = self.lb.as_v2_dump(filter);
                let replies = details
                    .iter()
                    .map(|d| {
                        let msg = LbAsV2Details {
                            context: hdr.context,
                            vip: api_vip(&d.vip),
                            app_srv: d.address,
                            flags: d.flags,
                            in_use_since: d.in_use_since,
                            weight: d.weight,
                            num_buckets: d.num_buckets,
                        };
                        if *v2 {
                            self.emit("lb_as_v2_details", Q_JUNK, &msg)
                        } else {
                            self.as_v1_details(&msg)
                        }
                    })
                    .collect();
                Response::to(to(hdr), replies)
            }
            Request::IpRouteLookup {
                hdr,
                table_id,
                exact: _,
                prefix,
                len,
            } => {
                let reply = self.route_lookup(hdr.context, *table_id, *prefix, *len);
                Response::to(to(hdr), vec![reply])
            }
            Request::Unsupported { .. } | Request::Unknown { .. } => Response::silent(),
        }
    }

    /// The reply a handler that failed with `retval` sends: the request's
    /// reply type with its data fields zeroed. Dumps answer with no details
    /// (they have no retval); unknown messages with nothing.
    pub fn error_response(&self, request: &Request, retval: i32) -> Response {
        let to = |hdr: &Hdr| Addressee::ClientIndex(hdr.client_index);
        let reply = match request {
            Request::SockclntCreate { context, .. } => {
                let reply = SockclntCreateReply {
                    client_index: 0,
                    context: *context,
                    response: retval,
                    index: 0,
                    message_table: Vec::new(),
                };
                let reply = self.emit("sockclnt_create_reply", Q_ZERO, &reply);
                return Response::to(Addressee::Sender, vec![reply]);
            }
            Request::SockclntDelete { hdr, .. } => {
                let reply = SockclntDeleteReply {
                    context: hdr.context,
                    response: retval,
                };
                (to(hdr), self.emit("sockclnt_delete_reply", Q_JUNK, &reply))
            }
            Request::ControlPing(hdr) => (to(hdr), self.ping_reply(hdr, retval)),
            Request::ShowVersion(hdr) => (to(hdr), self.version_reply(hdr.context, retval)),
            Request::CliInband { hdr, .. } => {
                let reply = CliInbandReply {
                    context: hdr.context,
                    retval,
                    reply: String::new(),
                };
                (to(hdr), self.emit("cli_inband_reply", Q_ZERO, &reply))
            }
            Request::LbConfGet(hdr) => (to(hdr), self.conf_get_reply(hdr.context, retval)),
            Request::LbConf { hdr, .. } => (
                to(hdr),
                self.retval_reply("lb_conf_reply", hdr.context, retval),
            ),
            Request::LbAddDelVip { hdr, v2, .. } => {
                let name = if *v2 {
                    "lb_add_del_vip_v2_reply"
                } else {
                    "lb_add_del_vip_reply"
                };
                (to(hdr), self.retval_reply(name, hdr.context, retval))
            }
            Request::LbAddDelAs { hdr, v2, .. } => {
                let name = if *v2 {
                    "lb_add_del_as_v2_reply"
                } else {
                    "lb_add_del_as_reply"
                };
                (to(hdr), self.retval_reply(name, hdr.context, retval))
            }
            Request::LbAsSetWeight { hdr, .. } => (
                to(hdr),
                self.retval_reply("lb_as_set_weight_reply", hdr.context, retval),
            ),
            Request::LbFlushVip { hdr, .. } => (
                to(hdr),
                self.retval_reply("lb_flush_vip_reply", hdr.context, retval),
            ),
            Request::IpRouteLookup { hdr, .. } => {
                let reply = self.route_reply(hdr.context, retval, None);
                (to(hdr), reply)
            }
            Request::LbVipDump(hdr) | Request::LbAsDump { hdr, .. } => {
                return Response::to(to(hdr), Vec::new());
            }
            Request::Unsupported { .. } | Request::Unknown { .. } => return Response::silent(),
        };
        Response::to(reply.0, vec![reply.1])
    }

    fn ping_reply(&self, hdr: &Hdr, retval: i32) -> Reply {
        let reply = ControlPingReply {
            context: hdr.context,
            retval,
            client_index: hdr.client_index,
            vpe_pid: self.vpe_pid,
        };
        self.emit("control_ping_reply", Q_JUNK, &reply)
    }

    fn version_reply(&self, context: u32, retval: i32) -> Reply {
        let ok = retval == 0;
        let text = |s: &str| if ok { s.to_owned() } else { String::new() };
        let reply = ShowVersionReply {
            context,
            retval,
            program: text(PROGRAM),
            version: text(VERSION),
            build_date: text(BUILD_DATE),
            build_directory: text(BUILD_DIRECTORY),
        };
        self.emit("show_version_reply", Q_SHOW_VERSION, &reply)
    }

    fn conf_get_reply(&self, context: u32, retval: i32) -> Reply {
        let conf = self.lb.conf_get();
        let ok = retval == 0;
        let reply = LbConfGetReply {
            context,
            retval,
            ip4_src_address: if ok { conf.ip4_src } else { [0; 4].into() },
            ip6_src_address: if ok { conf.ip6_src } else { [0; 16].into() },
            sticky_buckets_per_core: if ok { conf.sticky_buckets_per_core } else { 0 },
            flow_timeout: if ok { conf.flow_timeout } else { 0 },
        };
        self.emit("lb_conf_get_reply", Q_JUNK, &reply)
    }

    fn add_del_vip(&mut self, vip: &VipRequest) -> i32 {
        if vip.is_del {
            return self.lb.del_vip(&vip.key);
        }
        self.lb.add_vip(&VipAdd {
            key: vip.key,
            encap: Encap::from_api(vip.encap),
            dscp: vip.dscp,
            // lb keeps the service type in one byte.
            srv_type: vip.srv_type as u8,
            target_port: vip.target_port,
            new_flows_table_length: vip.new_flows_table_length,
            src_ip_sticky: vip.src_ip_sticky,
        })
    }

    fn add_del_as(&mut self, req: &AsRequest) -> i32 {
        if req.is_del {
            self.lb.del_as(&req.key, req.address, req.is_flush)
        } else {
            self.lb
                .add_as(&req.key, req.address, req.weight, req.is_flush)
        }
    }

    /// `lb_vip_details`, written field by field: lb fills `dscp` and
    /// `srv_type` from the same union byte, which the codec's enum type could
    /// not carry for an L3DSR VIP (srv_type = its dscp).
    fn vip_details(&self, context: u32, d: &VipDetails) -> Reply {
        let mut body = Vec::with_capacity(40);
        let mut w = Writer::start(&mut body, self.id("lb_vip_details"), 40);
        w.u32(context);
        let vip = api_vip(&d.key);
        w.prefix(vip.pfx);
        w.u8(vip.protocol);
        w.u16(vip.port);
        w.u32(d.encap.to_api());
        w.u8(d.dscp);
        w.u32(u32::from(d.srv_type));
        w.u16(d.target_port);
        w.u16(d.flow_table_length);
        Reply { q: Q_JUNK, body }
    }

    /// `lb_as_details` (v1): the v2 details without weight and buckets.
    fn as_v1_details(&self, d: &LbAsV2Details) -> Reply {
        let mut body = Vec::with_capacity(49);
        let mut w = Writer::start(&mut body, self.id("lb_as_details"), 49);
        w.u32(d.context);
        w.prefix(d.vip.pfx);
        w.u8(d.vip.protocol);
        w.u16(d.vip.port);
        w.address(d.app_srv);
        w.u8(d.flags);
        w.u32(d.in_use_since);
        Reply { q: Q_JUNK, body }
    }

    /// `ip_route_lookup` over lb's FIB entries in table 0 (non-exact
    /// lookups are answered like exact ones; only lb's routes exist here).
    fn route_lookup(&self, context: u32, table_id: u32, prefix: IpAddr, len: u8) -> Reply {
        if table_id != 0 {
            // fib_api_table_id_decode: VNET_API_ERROR_NO_SUCH_FIB.
            return self.route_reply(context, -3, None);
        }
        match self.lb.route_stats_index(prefix, len) {
            Some(stats_index) => {
                let found = IpRoute {
                    table_id,
                    stats_index,
                    prefix: Prefix::new(normalized(prefix, len), len),
                    paths: vec![local_path(prefix.is_ipv6())],
                };
                self.route_reply(context, 0, Some(found))
            }
            None => self.route_reply(context, rv::NO_SUCH_ENTRY, None),
        }
    }

    fn route_reply(&self, context: u32, retval: i32, route: Option<IpRoute>) -> Reply {
        let q = if route.is_some() {
            Q_ROUTE_FOUND
        } else {
            Q_JUNK
        };
        let route = route.unwrap_or(IpRoute {
            table_id: 0,
            stats_index: 0,
            prefix: Prefix::ZERO_V4,
            paths: Vec::new(),
        });
        let reply = IpRouteLookupReply {
            context,
            retval,
            route,
        };
        self.emit("ip_route_lookup_reply", q, &reply)
    }

    /// The table entry announced for the ids this handler answers with
    /// (tests).
    pub fn announced(&self) -> Vec<MessageTableEntry> {
        self.table.announced(&[])
    }
}

/// A VIP key as `lb_vip_t` (IPv4 lengths 0–32, as the dumps send them).
fn api_vip(key: &VipKey) -> LbVip {
    LbVip {
        pfx: Prefix::new(key.prefix, key.len),
        protocol: key.protocol,
        port: key.port,
    }
}

/// The route's own prefix: the request's, with host bits cleared.
fn normalized(prefix: IpAddr, len: u8) -> IpAddr {
    match prefix {
        IpAddr::V4(_) => Ip46::from_ip(prefix)
            .normalized(len.saturating_add(96))
            .to_ip(),
        IpAddr::V6(_) => IpAddr::V6(Ip46::from_ip(prefix).normalized(len).0.into()),
    }
}

/// The one path of an lb VIP route as captured: no interface (~0), weight 1,
/// proto ip4/ip6, everything else zero.
fn local_path(ipv6: bool) -> FibPath {
    let mut raw = [0u8; FIB_PATH_LEN];
    raw[..4].copy_from_slice(&u32::MAX.to_be_bytes());
    raw[12] = 1;
    raw[22..26].copy_from_slice(&u32::from(ipv6).to_be_bytes());
    FibPath(raw)
}
