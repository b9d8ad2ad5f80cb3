//! VPP binary API wire codec: framing, primitive encodings, the messages
//! maglevd exchanges with VPP, and the runtime message-id table.
//!
//! Pure and sans-IO: bytes in, typed `Repr`s out and back. Codecs are
//! hand-written per message (docs/vpp-wire.md explains why); each has
//! `parse(body)` (never panics, checks every length, rejects trailing bytes),
//! `buffer_len()` and `emit(msg_id, buf)`. Message ids are not constants:
//! they come from the handshake's message table (see [`table`]), so `emit`
//! takes the id as an argument and `parse` leaves dispatch to the caller.

pub mod error;
pub mod frame;
pub mod ip;
pub mod lb;
pub mod lb_dump;
pub mod memclnt;
pub mod table;
pub mod types;
pub mod vlib;
pub mod vpe;

#[cfg(test)]
mod tests;

pub use error::{vnet_error_name, WireError};
pub use frame::{encode_frame, encode_frame_with, Frame, FrameReader, HEADER_LEN};
pub use table::{MessageTable, MissingMessages, MsgIds};
pub use types::Prefix;

use types::{Reader, Writer};

/// A message with a fixed layout known to this codec.
pub trait Message: Sized {
    /// API message name (without CRC), used in error messages.
    const NAME: &'static str;

    /// Decodes a whole body (starting with the 2-byte message id, which is
    /// not checked here). Fails on short bodies and trailing bytes.
    fn parse(body: &[u8]) -> Result<Self, WireError>;

    /// Exact encoded body size, message id included.
    fn buffer_len(&self) -> usize;

    /// Appends the body (message id first) to `buf`.
    fn emit(&self, msg_id: u16, buf: &mut Vec<u8>);

    /// Appends header + body, ready to write to the socket.
    fn emit_frame(&self, msg_id: u16, out: &mut Vec<u8>) {
        encode_frame_with(out, |buf| self.emit(msg_id, buf));
    }
}

/// Any reply that is `u16 id, u32 context, i32 retval` and nothing else
/// (`lb_conf_reply`, `lb_add_del_*_reply`, `lb_as_set_weight_reply`, …; CRC
/// 0xe8d4e804). One type serves them all, so the message name for error
/// reports is passed to [`RetvalReply::parse_as`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetvalReply {
    pub context: u32,
    pub retval: i32,
}

impl RetvalReply {
    pub const LEN: usize = 10;

    pub fn parse_as(message: &'static str, body: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::after_msg_id(message, body)?;
        let reply = RetvalReply {
            context: r.u32("context")?,
            retval: r.i32("retval")?,
        };
        r.finish()?;
        Ok(reply)
    }

    pub fn buffer_len(&self) -> usize {
        Self::LEN
    }

    pub fn emit(&self, msg_id: u16, buf: &mut Vec<u8>) {
        let mut w = Writer::start(buf, msg_id, Self::LEN);
        w.u32(self.context);
        w.i32(self.retval);
    }
}

/// Declares a request that has only the common `client_index, context`
/// prefix (control_ping, show_version, lb_conf_get: CRC 0x51077d14).
macro_rules! bare_request {
    ($(#[$doc:meta])* $ty:ident, $name:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $ty {
            pub client_index: u32,
            pub context: u32,
        }

        impl $crate::vpp::wire::Message for $ty {
            const NAME: &'static str = $name;

            fn parse(body: &[u8]) -> Result<Self, $crate::vpp::wire::WireError> {
                let mut r = $crate::vpp::wire::types::Reader::after_msg_id($name, body)?;
                let msg = $ty {
                    client_index: r.u32("client_index")?,
                    context: r.u32("context")?,
                };
                r.finish()?;
                Ok(msg)
            }

            fn buffer_len(&self) -> usize {
                10
            }

            fn emit(&self, msg_id: u16, buf: &mut Vec<u8>) {
                let mut w = $crate::vpp::wire::types::Writer::start(buf, msg_id, 10);
                w.u32(self.client_index);
                w.u32(self.context);
            }
        }
    };
}
pub(crate) use bare_request;
