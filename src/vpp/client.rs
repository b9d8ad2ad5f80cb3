//! The API connection shell: a non-blocking Unix stream socket on the
//! daemon's `mio::Poll`, moving bytes between the socket and the sans-IO
//! [`Session`]. Reconnect policy lives with the caller.

use std::io::{self, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use mio::net::UnixStream;
use mio::{Interest, Registry, Token};

use super::session::{Request, Session, SessionError, SessionEvent};

/// Why a connection ended.
#[derive(Debug)]
pub enum ConnError {
    Connect(io::Error),
    Closed,
    Io(io::Error),
    Session(SessionError),
}

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnError::Connect(e) => write!(f, "connect: {e}"),
            ConnError::Closed => f.write_str("VPP closed the connection"),
            ConnError::Io(e) => write!(f, "socket: {e}"),
            ConnError::Session(e) => write!(f, "{e}"),
        }
    }
}

pub struct Connection {
    stream: UnixStream,
    token: Token,
    session: Session,
    want_write: bool,
    written: usize,
}

impl Connection {
    /// Connect and start the handshake. A Unix stream connect either
    /// completes at once or fails at once, so this never blocks.
    pub fn connect(
        path: &Path,
        registry: &Registry,
        token: Token,
        now: Instant,
        timeout: Duration,
    ) -> Result<Connection, ConnError> {
        let mut stream = UnixStream::connect(path).map_err(ConnError::Connect)?;
        registry
            .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
            .map_err(ConnError::Connect)?;
        let mut c = Connection {
            stream,
            token,
            session: Session::new(now, timeout),
            want_write: true,
            written: 0,
        };
        c.flush(registry)?;
        Ok(c)
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    pub fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    /// Queue a request and write what the socket takes.
    pub fn send(
        &mut self,
        registry: &Registry,
        tag: u64,
        req: &Request,
        now: Instant,
    ) -> Result<(), ConnError> {
        self.session
            .send(tag, req, now)
            .map_err(ConnError::Session)?;
        self.flush(registry)
    }

    /// Queue a request without writing yet (batch, then [`Connection::flush`]).
    pub fn queue(&mut self, tag: u64, req: &Request, now: Instant) -> Result<(), ConnError> {
        self.session.send(tag, req, now).map_err(ConnError::Session)
    }

    /// Handle readiness: read everything, write what is pending.
    // Not inlined: its 64 KiB read buffer belongs in this frame only, not
    // in the loop's, where it made every daemon (VPP or not) keep 64 KiB
    // more stack resident.
    #[inline(never)]
    pub fn on_ready(
        &mut self,
        registry: &Registry,
        event: &mio::event::Event,
        now: Instant,
        events: &mut Vec<SessionEvent>,
    ) -> Result<(), ConnError> {
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            let mut buf = [0u8; 64 * 1024];
            loop {
                match self.stream.read(&mut buf) {
                    Ok(0) => return Err(ConnError::Closed),
                    Ok(n) => {
                        let chunk = buf.get(..n).unwrap_or_default();
                        self.session
                            .on_bytes(chunk, now, events)
                            .map_err(ConnError::Session)?;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(ConnError::Io(e)),
                }
            }
        }
        self.flush(registry)
    }

    /// Write pending output; ask for WRITABLE only while some remains.
    pub fn flush(&mut self, registry: &Registry) -> Result<(), ConnError> {
        loop {
            let out = self.session.output();
            let Some(rest) = out.get(self.written..) else {
                break;
            };
            if rest.is_empty() {
                break;
            }
            match self.stream.write(rest) {
                Ok(0) => return Err(ConnError::Closed),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ConnError::Io(e)),
            }
        }
        let out = self.session.output();
        let pending = out.len() > self.written;
        if !pending {
            out.clear();
            self.written = 0;
        } else if self.written > 1 << 20 {
            out.drain(..self.written);
            self.written = 0;
        }
        if pending != self.want_write {
            let interest = if pending {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            registry
                .reregister(&mut self.stream, self.token, interest)
                .map_err(ConnError::Io)?;
            self.want_write = pending;
        }
        Ok(())
    }

    pub fn close(&mut self, registry: &Registry) {
        let _ = registry.deregister(&mut self.stream);
    }
}
