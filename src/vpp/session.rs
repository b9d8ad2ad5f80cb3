//! The VPP binary-API session, sans-IO (style.md §1): bytes in, bytes out,
//! time passed in. It performs the handshake, keeps the message-id table,
//! stamps `client_index` and a fresh `context` on every request, matches
//! replies (and dump details, closed by a `control_ping`) back to the
//! caller's tags, and times out requests whose reply never comes — a VPP
//! that drops a reply (WIRE.md §4) fails that request, never the session.
//!
//! VPP answers a connection's requests in order, so a request's timeout
//! runs from the later of its send and the last reply to the request
//! before it: a long pipelined batch (a full sync of 65,000 calls) that a
//! slow VPP works through steadily does not time out at its tail, while a
//! hung VPP still fails everything outstanding after one timeout.
//!
//! The connection shell (`vpp::client`) moves bytes between the socket and
//! [`Session::on_bytes`] / [`Session::output`].

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::sync::{Encap, LbCall, VipKey};
use super::wire::ip::{IpRouteLookup, IpRouteLookupReply};
use super::wire::lb::{LbAddDelAsV2, LbAddDelVipV2, LbAsSetWeight, LbConf, LbEncapType, LbSrvType};
use super::wire::lb_dump::{LbAsV2Details, LbAsV2Dump, LbVipDetails, LbVipDump};
use super::wire::memclnt::{
    ControlPing, ControlPingReply, SockclntCreate, SockclntCreateReply, SOCKCLNT_CREATE_ID,
    SOCKCLNT_CREATE_REPLY_ID,
};
use super::wire::table::names;
use super::wire::vlib::{CliInband, CliInbandReply};
use super::wire::vpe::{ShowVersion, ShowVersionReply};
use super::wire::{
    FrameReader, Message, MessageTable, MissingMessages, MsgIds, Prefix, RetvalReply, WireError,
};

/// Name we register with VPP (visible in `show api clients`).
pub const CLIENT_NAME: &str = "vpp-maglev";
/// New-flow table length of every VIP we create (WIRE.md: 0 crashes VPP).
pub const NEW_FLOWS_TABLE_LENGTH: u32 = 1024;
/// Largest reply body accepted. The `cli_inband` reply to `show lb vips
/// verbose` grows with VIPs × ASes (3.8 MB for 1,000 VIPs × 64 ASes), far
/// beyond the wire default meant for the handshake; 64 MiB covers ~16× that.
pub const MAX_REPLY_BODY: usize = 64 << 20;

/// What the caller asks VPP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Ping,
    ShowVersion,
    Cli(String),
    LbConf(LbConf),
    /// One planned lb change.
    Lb(LbCall),
    VipDump,
    AsDump,
    /// Exact lookup of a host route in table 0 (stats index of a VIP).
    RouteLookup(IpAddr, u8),
}

impl Request {
    /// Message name for logs and counters.
    pub fn message(&self) -> &'static str {
        match self {
            Request::Ping => "control_ping",
            Request::ShowVersion => "show_version",
            Request::Cli(_) => "cli_inband",
            Request::LbConf(_) => "lb_conf",
            Request::Lb(LbCall::AddVip { .. } | LbCall::DelVip { .. }) => "lb_add_del_vip_v2",
            Request::Lb(LbCall::AddAs { .. } | LbCall::DelAs { .. }) => "lb_add_del_as_v2",
            Request::Lb(LbCall::SetWeight { .. }) => "lb_as_set_weight",
            Request::VipDump => "lb_vip_dump",
            Request::AsDump => "lb_as_v2_dump",
            Request::RouteLookup(..) => "ip_route_lookup",
        }
    }
}

/// VPP's answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Retval(i32),
    Ping {
        vpe_pid: u32,
    },
    Version(ShowVersionReply),
    Cli {
        retval: i32,
        text: String,
    },
    VipDump(Vec<LbVipDetails>),
    AsDump(Vec<LbAsV2Details>),
    Route {
        retval: i32,
        stats_index: u32,
    },
    /// No reply within the deadline.
    TimedOut,
}

impl Response {
    /// Success as VPP reports it (`retval` 0), for counters.
    pub fn ok(&self) -> bool {
        match self {
            Response::Retval(r)
            | Response::Cli { retval: r, .. }
            | Response::Route { retval: r, .. } => *r == 0,
            Response::Version(v) => v.retval == 0,
            Response::TimedOut => false,
            _ => true,
        }
    }
}

/// What the session tells its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// Handshake done: requests may be sent.
    Ready { client_index: u32, table_len: usize },
    Completed {
        tag: u64,
        message: &'static str,
        response: Response,
    },
}

/// Why a session cannot go on (the connection must be dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionError {
    Wire(WireError),
    Refused(i32),
    Missing(MissingMessages),
    NotReady,
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionError::Wire(e) => write!(f, "malformed data from VPP: {e}"),
            SessionError::Refused(r) => write!(f, "VPP refused sockclnt_create: response {r}"),
            SessionError::Missing(m) => write!(f, "{m}"),
            SessionError::NotReady => f.write_str("the VPP session is not ready"),
        }
    }
}

enum Expect {
    Handshake,
    Retval,
    Ping,
    Version,
    Cli,
    Route,
    VipDetails(Vec<LbVipDetails>),
    AsDetails(Vec<LbAsV2Details>),
    /// The control_ping closing the dump sent under `dump_context`.
    DumpEnd {
        dump_context: u32,
    },
}

struct Pending {
    tag: u64,
    message: &'static str,
    expect: Expect,
}

enum Phase {
    Handshaking { context: u32 },
    Ready { client_index: u32, ids: MsgIds },
}

pub struct Session {
    reader: FrameReader,
    out: Vec<u8>,
    phase: Phase,
    next_context: u32,
    pending: HashMap<u32, Pending>,
    /// (deadline, context) in send order: replies come back in order, so
    /// the front is always the oldest outstanding request.
    deadlines: VecDeque<(Instant, u32)>,
    /// When VPP last answered the oldest outstanding request.
    last_progress: Option<Instant>,
    timeout: Duration,
    table: Option<MessageTable>,
}

impl Session {
    /// Start a session: queues `sockclnt_create`.
    pub fn new(now: Instant, timeout: Duration) -> Session {
        let mut s = Session {
            reader: FrameReader::with_max_body(MAX_REPLY_BODY),
            out: Vec::new(),
            phase: Phase::Handshaking { context: 0 },
            next_context: 0x4d47_0000,
            pending: HashMap::new(),
            deadlines: VecDeque::new(),
            last_progress: None,
            timeout,
            table: None,
        };
        let context = s.context();
        SockclntCreate {
            context,
            name: CLIENT_NAME.to_string(),
        }
        .emit_frame(SOCKCLNT_CREATE_ID, &mut s.out);
        s.phase = Phase::Handshaking { context };
        s.pending.insert(
            context,
            Pending {
                tag: 0,
                message: "sockclnt_create",
                expect: Expect::Handshake,
            },
        );
        s.deadlines.push_back((now + timeout, context));
        s
    }

    fn context(&mut self) -> u32 {
        self.next_context = self.next_context.wrapping_add(1);
        self.next_context
    }

    pub fn is_ready(&self) -> bool {
        matches!(self.phase, Phase::Ready { .. })
    }

    pub fn table(&self) -> Option<&MessageTable> {
        self.table.as_ref()
    }

    /// Bytes waiting to be written; the shell drains what the socket took.
    pub fn output(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    /// Requests awaiting a reply.
    pub fn in_flight(&self) -> usize {
        self.pending
            .values()
            .filter(|p| !matches!(p.expect, Expect::DumpEnd { .. }))
            .count()
    }

    /// Queue a request; its completion comes back with `tag`.
    pub fn send(&mut self, tag: u64, req: &Request, now: Instant) -> Result<(), SessionError> {
        let Phase::Ready { client_index, ids } = self.phase else {
            return Err(SessionError::NotReady);
        };
        let ci = client_index;
        let context = self.context();
        let message = req.message();
        let expect = match req {
            Request::Ping => {
                ControlPing {
                    client_index: ci,
                    context,
                }
                .emit_frame(ids.control_ping, &mut self.out);
                Expect::Ping
            }
            Request::ShowVersion => {
                ShowVersion {
                    client_index: ci,
                    context,
                }
                .emit_frame(ids.show_version, &mut self.out);
                Expect::Version
            }
            Request::Cli(cmd) => {
                CliInband {
                    client_index: ci,
                    context,
                    cmd: cmd.clone(),
                }
                .emit_frame(ids.cli_inband, &mut self.out);
                Expect::Cli
            }
            Request::LbConf(conf) => {
                LbConf {
                    client_index: ci,
                    context,
                    ..*conf
                }
                .emit_frame(ids.lb_conf, &mut self.out);
                Expect::Retval
            }
            Request::Lb(call) => {
                emit_call(call, ci, context, &ids, &mut self.out);
                Expect::Retval
            }
            Request::VipDump => {
                LbVipDump::all(ci, context).emit_frame(ids.lb_vip_dump, &mut self.out);
                self.close_dump(context, ci, &ids, tag, message, now);
                Expect::VipDetails(Vec::new())
            }
            Request::AsDump => {
                LbAsV2Dump::all(ci, context).emit_frame(ids.lb_as_v2_dump, &mut self.out);
                self.close_dump(context, ci, &ids, tag, message, now);
                Expect::AsDetails(Vec::new())
            }
            Request::RouteLookup(addr, len) => {
                IpRouteLookup {
                    client_index: ci,
                    context,
                    table_id: 0,
                    exact: 1,
                    prefix: Prefix::new(*addr, *len),
                }
                .emit_frame(ids.ip_route_lookup, &mut self.out);
                Expect::Route
            }
        };
        self.pending.insert(
            context,
            Pending {
                tag,
                message,
                expect,
            },
        );
        self.deadlines.push_back((now + self.timeout, context));
        Ok(())
    }

    /// Send the `control_ping` that ends a dump.
    fn close_dump(
        &mut self,
        dump_context: u32,
        ci: u32,
        ids: &MsgIds,
        tag: u64,
        message: &'static str,
        now: Instant,
    ) {
        let context = self.context();
        ControlPing {
            client_index: ci,
            context,
        }
        .emit_frame(ids.control_ping, &mut self.out);
        self.pending.insert(
            context,
            Pending {
                tag,
                message,
                expect: Expect::DumpEnd { dump_context },
            },
        );
        self.deadlines.push_back((now + self.timeout, context));
    }

    /// Feed bytes read from the socket.
    pub fn on_bytes(
        &mut self,
        bytes: &[u8],
        now: Instant,
        events: &mut Vec<SessionEvent>,
    ) -> Result<(), SessionError> {
        self.reader.push(bytes);
        while let Some(frame) = self.reader.next_frame() {
            let frame = frame.map_err(SessionError::Wire)?;
            self.on_frame(&frame.body, now, events)?;
        }
        Ok(())
    }

    /// The oldest request still awaiting its reply.
    fn oldest_pending(&mut self) -> Option<u32> {
        while let Some(&(_, ctx)) = self.deadlines.front() {
            if self.pending.contains_key(&ctx) {
                return Some(ctx);
            }
            self.deadlines.pop_front();
        }
        None
    }

    /// A reply (or dump detail) for `context` arrived: progress when it
    /// answers the oldest outstanding request (directly or as the ping
    /// closing its dump). A reply overtaking an older request means that
    /// request's reply was dropped, so it must not extend its deadline.
    fn note_reply(&mut self, context: u32, now: Instant) {
        let Some(oldest) = self.oldest_pending() else {
            return;
        };
        let closes_oldest = matches!(
            self.pending.get(&context),
            Some(Pending { expect: Expect::DumpEnd { dump_context }, .. }) if *dump_context == oldest
        );
        if oldest == context || closes_oldest {
            self.last_progress = Some(now);
        }
    }

    /// When the oldest outstanding request (sent at `sent_deadline` -
    /// timeout) fails.
    fn effective_deadline(&self, sent_deadline: Instant) -> Instant {
        match self.last_progress {
            Some(p) => sent_deadline.max(p + self.timeout),
            None => sent_deadline,
        }
    }

    fn on_frame(
        &mut self,
        body: &[u8],
        now: Instant,
        events: &mut Vec<SessionEvent>,
    ) -> Result<(), SessionError> {
        let id = super::wire::frame::body_msg_id(body).map_err(SessionError::Wire)?;
        let ids = match self.phase {
            Phase::Handshaking { context } => {
                if id != SOCKCLNT_CREATE_REPLY_ID {
                    return Ok(());
                }
                let reply = SockclntCreateReply::parse(body).map_err(SessionError::Wire)?;
                if reply.context != context {
                    return Ok(());
                }
                self.pending.remove(&context);
                if reply.response != 0 {
                    return Err(SessionError::Refused(reply.response));
                }
                let table = MessageTable::from_reply(&reply);
                let ids = MsgIds::resolve(&table).map_err(SessionError::Missing)?;
                events.push(SessionEvent::Ready {
                    client_index: reply.index,
                    table_len: table.len(),
                });
                self.table = Some(table);
                self.phase = Phase::Ready {
                    client_index: reply.index,
                    ids,
                };
                return Ok(());
            }
            Phase::Ready { ids, .. } => ids,
        };
        let Some(key) = ids.key_of(id) else {
            // Something we never asked for (another subscription): ignore.
            return Ok(());
        };
        let wire = |e| SessionError::Wire(e);
        match key {
            names::CONTROL_PING_REPLY => {
                let r = ControlPingReply::parse(body).map_err(wire)?;
                self.note_reply(r.context, now);
                match self.pending.remove(&r.context) {
                    Some(Pending {
                        expect: Expect::DumpEnd { dump_context },
                        ..
                    }) => {
                        if let Some(p) = self.pending.remove(&dump_context) {
                            let response = match p.expect {
                                Expect::VipDetails(v) => Response::VipDump(v),
                                Expect::AsDetails(v) => Response::AsDump(v),
                                _ => Response::TimedOut,
                            };
                            events.push(SessionEvent::Completed {
                                tag: p.tag,
                                message: p.message,
                                response,
                            });
                        }
                    }
                    Some(p) => events.push(SessionEvent::Completed {
                        tag: p.tag,
                        message: p.message,
                        response: Response::Ping { vpe_pid: r.vpe_pid },
                    }),
                    None => {}
                }
            }
            names::LB_VIP_DETAILS => {
                let d = LbVipDetails::parse(body).map_err(wire)?;
                self.note_reply(d.context, now);
                if let Some(Pending {
                    expect: Expect::VipDetails(v),
                    ..
                }) = self.pending.get_mut(&d.context)
                {
                    v.push(d);
                }
            }
            names::LB_AS_V2_DETAILS => {
                let d = LbAsV2Details::parse(body).map_err(wire)?;
                self.note_reply(d.context, now);
                if let Some(Pending {
                    expect: Expect::AsDetails(v),
                    ..
                }) = self.pending.get_mut(&d.context)
                {
                    v.push(d);
                }
            }
            names::SHOW_VERSION_REPLY => {
                let r = ShowVersionReply::parse(body).map_err(wire)?;
                self.complete(r.context, Response::Version(r), now, events);
            }
            names::CLI_INBAND_REPLY => {
                let r = CliInbandReply::parse(body).map_err(wire)?;
                self.complete(
                    r.context,
                    Response::Cli {
                        retval: r.retval,
                        text: r.reply,
                    },
                    now,
                    events,
                );
            }
            names::IP_ROUTE_LOOKUP_REPLY => {
                let r = IpRouteLookupReply::parse(body).map_err(wire)?;
                self.complete(
                    r.context,
                    Response::Route {
                        retval: r.retval,
                        stats_index: r.route.stats_index,
                    },
                    now,
                    events,
                );
            }
            names::LB_CONF_REPLY
            | names::LB_ADD_DEL_VIP_V2_REPLY
            | names::LB_ADD_DEL_AS_V2_REPLY
            | names::LB_AS_SET_WEIGHT_REPLY => {
                let r = RetvalReply::parse_as("retval reply", body).map_err(wire)?;
                self.complete(r.context, Response::Retval(r.retval), now, events);
            }
            _ => {}
        }
        Ok(())
    }

    fn complete(
        &mut self,
        context: u32,
        response: Response,
        now: Instant,
        events: &mut Vec<SessionEvent>,
    ) {
        self.note_reply(context, now);
        if let Some(p) = self.pending.remove(&context) {
            events.push(SessionEvent::Completed {
                tag: p.tag,
                message: p.message,
                response,
            });
        }
    }

    /// The earliest deadline of an outstanding request.
    pub fn next_deadline(&mut self) -> Option<Instant> {
        self.oldest_pending()?;
        let &(at, _) = self.deadlines.front()?;
        Some(self.effective_deadline(at))
    }

    /// Fail every request whose deadline passed. A handshake that times out
    /// is reported as an error (the connection is useless).
    pub fn expire(
        &mut self,
        now: Instant,
        events: &mut Vec<SessionEvent>,
    ) -> Result<(), SessionError> {
        while let Some(&(at, ctx)) = self.deadlines.front() {
            if self.pending.contains_key(&ctx) && self.effective_deadline(at) > now {
                break;
            }
            self.deadlines.pop_front();
            let Some(p) = self.pending.remove(&ctx) else {
                continue;
            };
            match p.expect {
                Expect::Handshake => return Err(SessionError::NotReady),
                Expect::DumpEnd { dump_context } => {
                    if let Some(d) = self.pending.remove(&dump_context) {
                        events.push(SessionEvent::Completed {
                            tag: d.tag,
                            message: d.message,
                            response: Response::TimedOut,
                        });
                    }
                }
                _ => events.push(SessionEvent::Completed {
                    tag: p.tag,
                    message: p.message,
                    response: Response::TimedOut,
                }),
            }
        }
        Ok(())
    }
}

fn encap_wire(e: Encap) -> LbEncapType {
    LbEncapType::from_u32(e.to_wire()).unwrap_or(LbEncapType::Gre4)
}

fn emit_call(call: &LbCall, ci: u32, context: u32, ids: &MsgIds, out: &mut Vec<u8>) {
    let pfx = |k: &VipKey| Prefix::new(k.addr(), k.prefix_len());
    match call {
        LbCall::AddVip {
            key,
            encap,
            src_ip_sticky,
        } => vip_message(ci, context, key, encap_wire(*encap), *src_ip_sticky, false)
            .emit_frame(ids.lb_add_del_vip_v2, out),
        // lb finds the VIP to delete by (prefix, protocol, port) only.
        LbCall::DelVip { key } => vip_message(ci, context, key, LbEncapType::Gre4, false, true)
            .emit_frame(ids.lb_add_del_vip_v2, out),
        LbCall::AddAs { key, addr, weight } => LbAddDelAsV2 {
            client_index: ci,
            context,
            pfx: pfx(key),
            protocol: key.protocol(),
            port: key.port(),
            as_address: *addr,
            weight: *weight,
            is_del: false,
            is_flush: false,
        }
        .emit_frame(ids.lb_add_del_as_v2, out),
        LbCall::DelAs { key, addr, flush } => LbAddDelAsV2 {
            client_index: ci,
            context,
            pfx: pfx(key),
            protocol: key.protocol(),
            port: key.port(),
            as_address: *addr,
            weight: 0,
            is_del: true,
            is_flush: *flush,
        }
        .emit_frame(ids.lb_add_del_as_v2, out),
        LbCall::SetWeight {
            key,
            addr,
            weight,
            flush,
        } => LbAsSetWeight {
            client_index: ci,
            context,
            pfx: pfx(key),
            protocol: key.protocol(),
            port: key.port(),
            as_address: *addr,
            weight: *weight,
            is_flush: *flush,
        }
        .emit_frame(ids.lb_as_set_weight, out),
    }
}

fn vip_message(
    ci: u32,
    context: u32,
    key: &VipKey,
    encap: LbEncapType,
    sticky: bool,
    is_del: bool,
) -> LbAddDelVipV2 {
    LbAddDelVipV2 {
        client_index: ci,
        context,
        pfx: Prefix::new(key.addr(), key.prefix_len()),
        protocol: key.protocol(),
        port: key.port(),
        encap,
        dscp: 0,
        srv_type: LbSrvType::ClusterIp,
        target_port: 0,
        node_port: 0,
        new_flows_table_length: NEW_FLOWS_TABLE_LENGTH,
        src_ip_sticky: sticky,
        is_del,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vpp::wire::memclnt::MessageTableEntry;
    use crate::vpp::wire::{encode_frame, RetvalReply};

    fn reply_table() -> Vec<MessageTableEntry> {
        // Real ids of the captured build for what we use, plus one more.
        let mut out = Vec::new();
        for (i, key) in crate::vpp::wire::table::REQUIRED_MESSAGES
            .iter()
            .enumerate()
        {
            out.push(MessageTableEntry {
                index: 100 + i as u16,
                name: key.to_string(),
            });
        }
        out
    }

    fn ready_session(now: Instant) -> (Session, MsgIds) {
        let mut s = Session::new(now, Duration::from_secs(1));
        let req = s.output().clone();
        s.output().clear();
        // The handshake request: id 15, our name.
        assert_eq!(&req[16..18], &[0, 15]);
        let sent = SockclntCreate::parse(&req[16..]).unwrap();
        assert_eq!(sent.name, CLIENT_NAME);
        let reply = SockclntCreateReply {
            client_index: 0,
            context: sent.context,
            response: 0,
            index: 0x8000_0001,
            message_table: reply_table(),
        };
        let mut bytes = Vec::new();
        reply.emit_frame(SOCKCLNT_CREATE_REPLY_ID, &mut bytes);
        let mut events = Vec::new();
        s.on_bytes(&bytes, now, &mut events).unwrap();
        assert_eq!(
            events,
            vec![SessionEvent::Ready {
                client_index: 0x8000_0001,
                table_len: reply_table().len()
            }]
        );
        let ids = MsgIds::resolve(&MessageTable::from_entries(&reply_table())).unwrap();
        (s, ids)
    }

    fn frames(bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut r = FrameReader::new();
        r.push(bytes);
        let mut out = Vec::new();
        while let Some(f) = r.next_frame() {
            out.push(f.unwrap().body);
        }
        out
    }

    #[test]
    fn requests_carry_client_index_and_fresh_contexts() {
        let now = Instant::now();
        let (mut s, ids) = ready_session(now);
        s.send(7, &Request::Ping, now).unwrap();
        s.send(8, &Request::Ping, now).unwrap();
        let sent = frames(s.output());
        assert_eq!(sent.len(), 2);
        let a = ControlPing::parse(&sent[0]).unwrap();
        let b = ControlPing::parse(&sent[1]).unwrap();
        assert_eq!(
            u16::from_be_bytes([sent[0][0], sent[0][1]]),
            ids.control_ping
        );
        assert_eq!(a.client_index, 0x8000_0001);
        assert_ne!(a.context, b.context);
        // Replies out of order still find their tags.
        let mut bytes = Vec::new();
        for (ctx, pid) in [(b.context, 2), (a.context, 1)] {
            ControlPingReply {
                context: ctx,
                retval: 0,
                client_index: 0x8000_0001,
                vpe_pid: pid,
            }
            .emit_frame(ids.control_ping_reply, &mut bytes);
        }
        let mut events = Vec::new();
        s.on_bytes(&bytes, now, &mut events).unwrap();
        let tags: Vec<(u64, Response)> = events
            .into_iter()
            .filter_map(|e| match e {
                SessionEvent::Completed { tag, response, .. } => Some((tag, response)),
                _ => None,
            })
            .collect();
        assert_eq!(
            tags,
            vec![
                (8, Response::Ping { vpe_pid: 2 }),
                (7, Response::Ping { vpe_pid: 1 })
            ]
        );
    }

    #[test]
    fn dump_ends_with_the_ping_reply() {
        let now = Instant::now();
        let (mut s, ids) = ready_session(now);
        s.send(1, &Request::VipDump, now).unwrap();
        let sent = frames(s.output());
        assert_eq!(sent.len(), 2, "dump then control_ping");
        let dump = LbVipDump::parse(&sent[0]).unwrap();
        let ping = ControlPing::parse(&sent[1]).unwrap();
        let mut bytes = Vec::new();
        // An empty dump: only the ping reply.
        ControlPingReply {
            context: ping.context,
            retval: 0,
            client_index: 0,
            vpe_pid: 9,
        }
        .emit_frame(ids.control_ping_reply, &mut bytes);
        let mut events = Vec::new();
        s.on_bytes(&bytes, now, &mut events).unwrap();
        assert_eq!(
            events,
            vec![SessionEvent::Completed {
                tag: 1,
                message: "lb_vip_dump",
                response: Response::VipDump(vec![])
            }]
        );
        let _ = dump;
        assert_eq!(s.in_flight(), 0);
    }

    #[test]
    fn a_lost_reply_times_out_alone() {
        let now = Instant::now();
        let (mut s, ids) = ready_session(now);
        let call = LbCall::SetWeight {
            key: VipKey::host("192.0.2.80".parse().unwrap(), 6, 80),
            addr: "198.51.100.1".parse().unwrap(),
            weight: 50,
            flush: false,
        };
        s.send(1, &Request::Lb(call), now).unwrap();
        s.send(2, &Request::Lb(call), now).unwrap();
        let sent = frames(s.output());
        let second = LbAsSetWeight::parse(&sent[1]).unwrap();
        assert_eq!(second.weight, 50);
        assert_eq!(second.pfx, Prefix::new("192.0.2.80".parse().unwrap(), 32));
        // Only the second request is answered.
        let mut body = Vec::new();
        RetvalReply {
            context: second.context,
            retval: -6,
        }
        .emit(ids.lb_as_set_weight_reply, &mut body);
        let mut bytes = Vec::new();
        encode_frame(&body, &mut bytes);
        let mut events = Vec::new();
        s.on_bytes(&bytes, now, &mut events).unwrap();
        assert_eq!(events.len(), 1);
        assert!(matches!(
            &events[0],
            SessionEvent::Completed {
                tag: 2,
                response: Response::Retval(-6),
                ..
            }
        ));
        assert!(s.next_deadline().is_some());
        let mut events = Vec::new();
        s.expire(now + Duration::from_millis(500), &mut events)
            .unwrap();
        assert!(events.is_empty());
        s.expire(now + Duration::from_secs(2), &mut events).unwrap();
        assert!(matches!(
            &events[..],
            [SessionEvent::Completed {
                tag: 1,
                response: Response::TimedOut,
                ..
            }]
        ));
        assert_eq!(s.next_deadline(), None);
    }

    /// (name, request count, replies answered at these ms offsets in
    /// order, expire at, tags expected to time out).
    type TimeoutCase = (&'static str, usize, &'static [u64], u64, &'static [u64]);

    #[test]
    fn timeouts_run_from_the_last_progress() {
        let ms = Duration::from_millis;
        let cases: &[TimeoutCase] = &[
            // A slow VPP working steadily through a batch: nothing fails
            // although the tail was sent long before the expiry time.
            ("steady progress", 3, &[900, 1800], 2500, &[]),
            ("stall after progress", 3, &[900, 1800], 2900, &[2]),
            // A hung VPP fails everything outstanding at once.
            ("hung", 3, &[], 1000, &[0, 1, 2]),
            ("not yet", 3, &[], 999, &[]),
        ];
        for (name, n, answers, expire_at, want) in cases {
            let now = Instant::now();
            let (mut s, ids) = ready_session(now);
            for tag in 0..*n as u64 {
                s.send(tag, &Request::Ping, now).unwrap();
            }
            let sent = frames(s.output());
            for (i, at) in answers.iter().enumerate() {
                let ping = ControlPing::parse(&sent[i]).unwrap();
                let mut bytes = Vec::new();
                ControlPingReply {
                    context: ping.context,
                    retval: 0,
                    client_index: 0,
                    vpe_pid: 1,
                }
                .emit_frame(ids.control_ping_reply, &mut bytes);
                s.on_bytes(&bytes, now + ms(*at), &mut Vec::new()).unwrap();
            }
            let mut events = Vec::new();
            s.expire(now + ms(*expire_at), &mut events).unwrap();
            let failed: Vec<u64> = events
                .iter()
                .filter_map(|e| match e {
                    SessionEvent::Completed {
                        tag,
                        response: Response::TimedOut,
                        ..
                    } => Some(*tag),
                    _ => None,
                })
                .collect();
            assert_eq!(&failed, want, "{name}");
        }
    }

    #[test]
    fn a_large_show_lb_vips_reply_is_accepted() {
        let now = Instant::now();
        let (mut s, ids) = ready_session(now);
        s.send(1, &Request::Cli("show lb vips verbose".into()), now)
            .unwrap();
        let sent = CliInband::parse(&frames(s.output())[0]).unwrap();
        // Over the 1 MiB wire default, like 1,000 VIPs × 64 ASes (3.8 MB).
        let text = "    198.18.0.1 used:64 weight:100\n".repeat(120_000);
        let mut bytes = Vec::new();
        CliInbandReply {
            context: sent.context,
            retval: 0,
            reply: text.clone(),
        }
        .emit_frame(ids.cli_inband_reply, &mut bytes);
        assert!(bytes.len() > 3 << 20);
        let mut events = Vec::new();
        for chunk in bytes.chunks(4096) {
            s.on_bytes(chunk, now, &mut events).unwrap();
        }
        assert_eq!(
            events,
            vec![SessionEvent::Completed {
                tag: 1,
                message: "cli_inband",
                response: Response::Cli { retval: 0, text }
            }]
        );
    }

    #[test]
    fn missing_messages_fail_the_handshake() {
        let now = Instant::now();
        let mut s = Session::new(now, Duration::from_secs(1));
        let sent = SockclntCreate::parse(&s.output()[16..]).unwrap();
        let table: Vec<MessageTableEntry> = reply_table()
            .into_iter()
            .filter(|e| !e.name.starts_with("lb_as_set_weight_2d89bdbd"))
            .collect();
        let mut bytes = Vec::new();
        SockclntCreateReply {
            client_index: 0,
            context: sent.context,
            response: 0,
            index: 1,
            message_table: table,
        }
        .emit_frame(SOCKCLNT_CREATE_REPLY_ID, &mut bytes);
        let err = s.on_bytes(&bytes, now, &mut Vec::new()).unwrap_err();
        assert!(
            err.to_string().contains("lb_as_set_weight_2d89bdbd"),
            "{err}"
        );
        assert!(matches!(
            s.send(1, &Request::Ping, now),
            Err(SessionError::NotReady)
        ));
    }

    #[test]
    fn handshake_timeout_is_fatal() {
        let now = Instant::now();
        let mut s = Session::new(now, Duration::from_secs(1));
        assert!(s
            .expire(now + Duration::from_secs(2), &mut Vec::new())
            .is_err());
    }
}
