//! vpe messages: `show_version`, used after the handshake to log which VPP
//! we are talking to.

use super::types::{Reader, Writer};
use super::{bare_request, Message, WireError};

bare_request!(
    /// `show_version`.
    ShowVersion,
    "show_version"
);

const PROGRAM_LEN: usize = 32;
const VERSION_LEN: usize = 32;
const BUILD_DATE_LEN: usize = 32;
const BUILD_DIRECTORY_LEN: usize = 256;

/// `show_version_reply`: four fixed, NUL-padded strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowVersionReply {
    pub context: u32,
    pub retval: i32,
    pub program: String,
    pub version: String,
    pub build_date: String,
    pub build_directory: String,
}

impl Message for ShowVersionReply {
    const NAME: &'static str = "show_version_reply";

    fn parse(body: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::after_msg_id(Self::NAME, body)?;
        let msg = ShowVersionReply {
            context: r.u32("context")?,
            retval: r.i32("retval")?,
            program: r.fixed_string("program", PROGRAM_LEN)?,
            version: r.fixed_string("version", VERSION_LEN)?,
            build_date: r.fixed_string("build_date", BUILD_DATE_LEN)?,
            build_directory: r.fixed_string("build_directory", BUILD_DIRECTORY_LEN)?,
        };
        r.finish()?;
        Ok(msg)
    }

    fn buffer_len(&self) -> usize {
        10 + PROGRAM_LEN + VERSION_LEN + BUILD_DATE_LEN + BUILD_DIRECTORY_LEN
    }

    fn emit(&self, msg_id: u16, buf: &mut Vec<u8>) {
        let mut w = Writer::start(buf, msg_id, self.buffer_len());
        w.u32(self.context);
        w.i32(self.retval);
        w.fixed_string(&self.program, PROGRAM_LEN);
        w.fixed_string(&self.version, VERSION_LEN);
        w.fixed_string(&self.build_date, BUILD_DATE_LEN);
        w.fixed_string(&self.build_directory, BUILD_DIRECTORY_LEN);
    }
}
