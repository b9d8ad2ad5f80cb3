//! memclnt messages: the socket handshake (`sockclnt_create`), leaving
//! (`sockclnt_delete`) and `control_ping`, the end-of-dump marker and
//! liveness check.
//!
//! The sockclnt pair breaks the usual prefixes (WIRE.md §2): the request has
//! no client_index, the reply has one (always 0) before its context, and the
//! status field is called `response` — 1 means success for the delete.

use super::types::{Reader, Writer};
use super::{bare_request, Message, WireError};

/// Fixed id of `sockclnt_create`: memclnt registers first, so this is the
/// only id a client may hardcode (vpp_papi does the same).
pub const SOCKCLNT_CREATE_ID: u16 = 15;
/// Fixed id of `sockclnt_create_reply`.
pub const SOCKCLNT_CREATE_REPLY_ID: u16 = 16;

const NAME_LEN: usize = 64;
const TABLE_ENTRY_LEN: usize = 2 + NAME_LEN;

/// `sockclnt_create`: id, context, `name[64]` (no client_index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SockclntCreate {
    pub context: u32,
    /// Client name as VPP shows it; at most 63 bytes are sent.
    pub name: String,
}

impl Message for SockclntCreate {
    const NAME: &'static str = "sockclnt_create";

    fn parse(body: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::after_msg_id(Self::NAME, body)?;
        let msg = SockclntCreate {
            context: r.u32("context")?,
            name: r.fixed_string("name", NAME_LEN)?,
        };
        r.finish()?;
        Ok(msg)
    }

    fn buffer_len(&self) -> usize {
        2 + 4 + NAME_LEN
    }

    fn emit(&self, msg_id: u16, buf: &mut Vec<u8>) {
        let mut w = Writer::start(buf, msg_id, self.buffer_len());
        w.u32(self.context);
        w.fixed_string(&self.name, NAME_LEN);
    }
}

/// One `{u16 index, char name[64]}` entry; `name` is `<message>_<crc hex>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageTableEntry {
    pub index: u16,
    pub name: String,
}

/// `sockclnt_create_reply`: the client index and the message table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SockclntCreateReply {
    /// Always 0 from VPP; kept for byte-exact re-encoding.
    pub client_index: u32,
    pub context: u32,
    /// 0 = ok.
    pub response: i32,
    /// The client index to put in every later request (WIRE.md §4).
    pub index: u32,
    /// In VPP's hash order; `count` on the wire is this vector's length.
    pub message_table: Vec<MessageTableEntry>,
}

impl Message for SockclntCreateReply {
    const NAME: &'static str = "sockclnt_create_reply";

    fn parse(body: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::after_msg_id(Self::NAME, body)?;
        let client_index = r.u32("client_index")?;
        let context = r.u32("context")?;
        let response = r.i32("response")?;
        let index = r.u32("index")?;
        let count = usize::from(r.u16("count")?);
        // Check the whole table fits before allocating for `count` entries.
        let table_len = count * TABLE_ENTRY_LEN;
        if table_len > r.remaining() {
            return Err(WireError::Truncated {
                message: Self::NAME,
                field: "message_table",
                offset: r.position(),
                needed: table_len,
                available: r.remaining(),
            });
        }
        let mut message_table = Vec::with_capacity(count);
        for _ in 0..count {
            message_table.push(MessageTableEntry {
                index: r.u16("message_table.index")?,
                name: r.fixed_string("message_table.name", NAME_LEN)?,
            });
        }
        r.finish()?;
        Ok(SockclntCreateReply {
            client_index,
            context,
            response,
            index,
            message_table,
        })
    }

    fn buffer_len(&self) -> usize {
        20 + self.table_len() * TABLE_ENTRY_LEN
    }

    fn emit(&self, msg_id: u16, buf: &mut Vec<u8>) {
        let count = self.table_len();
        let mut w = Writer::start(buf, msg_id, self.buffer_len());
        w.u32(self.client_index);
        w.u32(self.context);
        w.i32(self.response);
        w.u32(self.index);
        w.u16(count as u16);
        for entry in self.message_table.iter().take(count) {
            w.u16(entry.index);
            w.fixed_string(&entry.name, NAME_LEN);
        }
    }
}

impl SockclntCreateReply {
    /// Entries that fit the u16 `count`; any beyond are not encoded.
    fn table_len(&self) -> usize {
        self.message_table.len().min(usize::from(u16::MAX))
    }
}

/// `sockclnt_delete`: `index` is the client index from the create reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SockclntDelete {
    pub client_index: u32,
    pub context: u32,
    pub index: u32,
}

impl Message for SockclntDelete {
    const NAME: &'static str = "sockclnt_delete";

    fn parse(body: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::after_msg_id(Self::NAME, body)?;
        let msg = SockclntDelete {
            client_index: r.u32("client_index")?,
            context: r.u32("context")?,
            index: r.u32("index")?,
        };
        r.finish()?;
        Ok(msg)
    }

    fn buffer_len(&self) -> usize {
        14
    }

    fn emit(&self, msg_id: u16, buf: &mut Vec<u8>) {
        let mut w = Writer::start(buf, msg_id, self.buffer_len());
        w.u32(self.client_index);
        w.u32(self.context);
        w.u32(self.index);
    }
}

/// `sockclnt_delete_reply`: `response` 1 = success; VPP then closes the
/// socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SockclntDeleteReply {
    pub context: u32,
    pub response: i32,
}

impl Message for SockclntDeleteReply {
    const NAME: &'static str = "sockclnt_delete_reply";

    fn parse(body: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::after_msg_id(Self::NAME, body)?;
        let msg = SockclntDeleteReply {
            context: r.u32("context")?,
            response: r.i32("response")?,
        };
        r.finish()?;
        Ok(msg)
    }

    fn buffer_len(&self) -> usize {
        10
    }

    fn emit(&self, msg_id: u16, buf: &mut Vec<u8>) {
        let mut w = Writer::start(buf, msg_id, self.buffer_len());
        w.u32(self.context);
        w.i32(self.response);
    }
}

bare_request!(
    /// `control_ping`: ends a dump (send right after the `_dump`) and checks
    /// liveness.
    ControlPing,
    "control_ping"
);

/// `control_ping_reply`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlPingReply {
    pub context: u32,
    pub retval: i32,
    pub client_index: u32,
    /// PID of the VPP process; a change means VPP restarted.
    pub vpe_pid: u32,
}

impl Message for ControlPingReply {
    const NAME: &'static str = "control_ping_reply";

    fn parse(body: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::after_msg_id(Self::NAME, body)?;
        let msg = ControlPingReply {
            context: r.u32("context")?,
            retval: r.i32("retval")?,
            client_index: r.u32("client_index")?,
            vpe_pid: r.u32("vpe_pid")?,
        };
        r.finish()?;
        Ok(msg)
    }

    fn buffer_len(&self) -> usize {
        18
    }

    fn emit(&self, msg_id: u16, buf: &mut Vec<u8>) {
        let mut w = Writer::start(buf, msg_id, self.buffer_len());
        w.u32(self.context);
        w.i32(self.retval);
        w.u32(self.client_index);
        w.u32(self.vpe_pid);
    }
}
