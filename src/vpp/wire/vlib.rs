//! vlib messages: `cli_inband`, which runs a debug-CLI command and returns
//! its output. maglevd uses it for `show lb vips verbose`, the only source
//! of VIP indexes and `src_ip_sticky` (WIRE.md §10).

use super::types::{var_string_len, Reader, Writer};
use super::{Message, WireError};

/// `cli_inband`: the command as a variable string (u32 length + bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliInband {
    pub client_index: u32,
    pub context: u32,
    pub cmd: String,
}

impl Message for CliInband {
    const NAME: &'static str = "cli_inband";

    fn parse(body: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::after_msg_id(Self::NAME, body)?;
        let msg = CliInband {
            client_index: r.u32("client_index")?,
            context: r.u32("context")?,
            cmd: r.var_string("cmd")?,
        };
        r.finish()?;
        Ok(msg)
    }

    fn buffer_len(&self) -> usize {
        10 + var_string_len(&self.cmd)
    }

    fn emit(&self, msg_id: u16, buf: &mut Vec<u8>) {
        let mut w = Writer::start(buf, msg_id, self.buffer_len());
        w.u32(self.client_index);
        w.u32(self.context);
        w.var_string(&self.cmd);
    }
}

/// `cli_inband_reply`: the command output, without a terminator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliInbandReply {
    pub context: u32,
    pub retval: i32,
    pub reply: String,
}

impl Message for CliInbandReply {
    const NAME: &'static str = "cli_inband_reply";

    fn parse(body: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::after_msg_id(Self::NAME, body)?;
        let msg = CliInbandReply {
            context: r.u32("context")?,
            retval: r.i32("retval")?,
            reply: r.var_string("reply")?,
        };
        r.finish()?;
        Ok(msg)
    }

    fn buffer_len(&self) -> usize {
        10 + var_string_len(&self.reply)
    }

    fn emit(&self, msg_id: u16, buf: &mut Vec<u8>) {
        let mut w = Writer::start(buf, msg_id, self.buffer_len());
        w.u32(self.context);
        w.i32(self.retval);
        w.var_string(&self.reply);
    }
}
