//! The control socket's pure half: the command language (`grammar`), the
//! plain data the daemon fills to answer (`view`) and how that data is
//! written as text or JSON (`render`). The socket I/O, sessions and command
//! execution live in the daemon; the protocol is described in docs/control.md.

pub mod grammar;
pub mod render;
pub mod view;
