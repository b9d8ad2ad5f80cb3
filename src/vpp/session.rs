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

use super::sync::LbCall;
use super::wire::ip::{IpRouteLookup, IpRouteLookupReply};
use super::wire::lb::LbConf;
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

mod encode;
#[cfg(test)]
mod tests;

use encode::emit_call;
