//! The control socket's connection handling: accept, read lines, write
//! replies, stream `watch` events, enforce limits. It knows the protocol's
//! framing (one command per line, one-shot vs `prompt` mode) but not the
//! commands: complete lines go out as [`ControlLine`]s and the daemon answers
//! through [`ControlServer::reply`].
//!
//! Nothing here may block the loop: every client has a bounded input buffer,
//! a line-length limit, an idle timeout and a bounded output queue. A client
//! that does not read its `watch` stream is dropped once its queue is full
//! rather than waited for.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mio::net::{UnixListener, UnixStream};
use mio::{Interest, Registry, Token};

/// Longest command line accepted.
pub const MAX_LINE: usize = 4096;
/// Pending output of a watcher before it is dropped as too slow.
pub const MAX_WATCH_BACKLOG: usize = 256 * 1024;
/// Pending output of any client (a `show` of 10k backends fits easily).
pub const MAX_REPLY_BACKLOG: usize = 32 * 1024 * 1024;
/// Most bytes read from one client per readiness event, so that a client
/// streaming without pause (a 1 MiB line) cannot hold the loop.
pub const READ_BUDGET: usize = 16 * 1024;
/// A one-shot client must send its command within this time.
pub const ONESHOT_IDLE: Duration = Duration::from_secs(10);
/// An interactive (`prompt`) client may idle this long between commands.
pub const INTERACTIVE_IDLE: Duration = Duration::from_secs(600);

/// A complete command line from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlLine {
    pub client: u64,
    pub line: Vec<u8>,
}

/// What to do with the connection after a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// Keep reading (interactive) or close (one-shot), as the mode says.
    Default,
    /// Switch to interactive mode.
    EnterPrompt,
    /// Close once the reply is written.
    Close,
    /// Keep the connection open to stream events.
    Watch,
}

struct Client {
    stream: UnixStream,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    interactive: bool,
    watching: bool,
    /// A one-shot command has been handed out; ignore further input.
    command_taken: bool,
    close_when_flushed: bool,
    read_closed: bool,
    deadline: Instant,
    /// Bytes of input dropped because a line was too long.
    discarding: bool,
    /// A leading `prompt` already switched the client to interactive mode
    /// while reading (its reply must not toggle again).
    prompt_pending: bool,
}

impl Client {
    fn pending(&self) -> usize {
        self.out.len() - self.out_pos
    }
}

/// Errors creating the control socket.
#[derive(Debug)]
pub enum ControlSocketError {
    InUse(PathBuf),
    Bind { path: PathBuf, source: io::Error },
    Chmod { path: PathBuf, source: io::Error },
    Register(io::Error),
}

impl std::fmt::Display for ControlSocketError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ControlSocketError::InUse(p) => write!(
                f,
                "control socket {} is in use by a running daemon",
                p.display()
            ),
            ControlSocketError::Bind { path, source } => {
                write!(f, "bind control socket {}: {source}", path.display())
            }
            ControlSocketError::Chmod { path, source } => {
                write!(f, "chmod control socket {}: {source}", path.display())
            }
            ControlSocketError::Register(e) => write!(f, "register control socket: {e}"),
        }
    }
}

impl std::error::Error for ControlSocketError {}

/// Statistics for `show` and metrics.
#[derive(Debug, Default, Clone, Copy)]
pub struct ControlStats {
    pub accepted: u64,
    pub rejected: u64,
    pub dropped_slow: u64,
    pub timed_out: u64,
}

pub struct ControlServer {
    listener: UnixListener,
    path: PathBuf,
    listener_token: Token,
    token_base: usize,
    max_clients: usize,
    next_id: u64,
    clients: HashMap<u64, Client>,
    pub stats: ControlStats,
}

impl ControlServer {
    /// Bind `path` (removing a stale socket file, refusing a live one).
    pub fn bind(
        path: &Path,
        mode: u32,
        registry: &Registry,
        listener_token: Token,
        token_base: usize,
        max_clients: usize,
    ) -> Result<Self, ControlSocketError> {
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if meta.file_type().is_socket() {
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    return Err(ControlSocketError::InUse(path.to_path_buf()));
                }
                let _ = std::fs::remove_file(path);
            }
        }
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() && !dir.exists() {
                let _ = std::fs::create_dir_all(dir);
            }
        }
        let mut listener = UnixListener::bind(path).map_err(|source| ControlSocketError::Bind {
            path: path.to_path_buf(),
            source,
        })?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(
            |source| ControlSocketError::Chmod {
                path: path.to_path_buf(),
                source,
            },
        )?;
        registry
            .register(&mut listener, listener_token, Interest::READABLE)
            .map_err(ControlSocketError::Register)?;
        Ok(ControlServer {
            listener,
            path: path.to_path_buf(),
            listener_token,
            token_base,
            max_clients,
            next_id: 0,
            clients: HashMap::new(),
            stats: ControlStats::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_listener(&self, token: Token) -> bool {
        token == self.listener_token
    }

    /// The client a token belongs to, if it is one of ours.
    pub fn client_of(&self, token: Token) -> Option<u64> {
        let t = token.0.checked_sub(self.token_base)? as u64;
        self.clients.contains_key(&t).then_some(t)
    }

    pub fn owns(&self, token: Token) -> bool {
        token.0 >= self.token_base
    }

    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    /// Accept every pending connection.
    pub fn accept(&mut self, registry: &Registry, now: Instant) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    if self.clients.len() >= self.max_clients {
                        self.stats.rejected += 1;
                        // Best effort: a fresh socket buffer takes this.
                        let _ = stream.write(b"ERR too many clients\n\n");
                        continue;
                    }
                    self.next_id += 1;
                    let id = self.next_id;
                    let token = Token(self.token_base + id as usize);
                    if registry
                        .register(&mut stream, token, Interest::READABLE)
                        .is_err()
                    {
                        continue;
                    }
                    self.stats.accepted += 1;
                    self.clients.insert(
                        id,
                        Client {
                            stream,
                            inbuf: Vec::new(),
                            out: Vec::new(),
                            out_pos: 0,
                            interactive: false,
                            watching: false,
                            command_taken: false,
                            close_when_flushed: false,
                            read_closed: false,
                            deadline: now + ONESHOT_IDLE,
                            discarding: false,
                            prompt_pending: false,
                        },
                    );
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // EMFILE and friends: stop accepting for this round; the
                // listener stays readable and we retry on the next event.
                Err(_) => break,
            }
        }
    }

    /// Handle readiness of a client socket; complete lines are appended to `lines`.
    pub fn on_ready(
        &mut self,
        registry: &Registry,
        client: u64,
        event: &mio::event::Event,
        now: Instant,
        lines: &mut Vec<ControlLine>,
    ) {
        let (readable, writable) = (event.is_readable(), event.is_writable());
        let mut drop_it = false;
        if let Some(c) = self.clients.get_mut(&client) {
            // The peer is gone for good: a watcher would otherwise linger
            // until the next event fails to write.
            if event.is_write_closed() || event.is_error() {
                drop_it = true;
            }
            if readable && !c.read_closed {
                drop_it |= read_client(c, client, now, lines);
            }
            if writable || c.pending() > 0 {
                drop_it |= flush_client(c);
            }
        }
        if drop_it {
            self.drop_client(registry, client);
        } else {
            self.update_interest(registry, client);
        }
    }

    /// Queue a reply for `client` (the text must already carry its final
    /// empty line) and apply `after`.
    pub fn reply(
        &mut self,
        registry: &Registry,
        client: u64,
        text: &str,
        after: After,
        now: Instant,
    ) {
        let Some(c) = self.clients.get_mut(&client) else {
            return;
        };
        c.out.extend_from_slice(text.as_bytes());
        match after {
            After::Default => {
                if !c.interactive {
                    c.close_when_flushed = true;
                }
            }
            After::EnterPrompt => {
                // `prompt` toggles; a leading one was applied while reading.
                if c.prompt_pending {
                    c.prompt_pending = false;
                } else {
                    c.interactive = !c.interactive;
                }
                c.command_taken = false;
            }
            After::Close => c.close_when_flushed = true,
            After::Watch => c.watching = true,
        }
        if c.interactive && !c.close_when_flushed && !c.watching {
            c.out.extend_from_slice(b"> ");
            c.deadline = now + INTERACTIVE_IDLE;
        }
        let too_big = c.pending() > MAX_REPLY_BACKLOG;
        let failed = flush_client(c);
        if too_big || failed {
            self.drop_client(registry, client);
        } else {
            self.update_interest(registry, client);
        }
    }

    /// Stream one line (with its `\n`) to a watcher; drop it if it fell too
    /// far behind.
    /// Returns false when the client is gone.
    pub fn push_watch(&mut self, registry: &Registry, client: u64, line: &str) -> bool {
        let Some(c) = self.clients.get_mut(&client) else {
            return false;
        };
        if c.pending() + line.len() > MAX_WATCH_BACKLOG {
            self.stats.dropped_slow += 1;
            // The queue is full, so this may not reach the client; it is
            // still the honest last word.
            c.out.extend_from_slice(b"ERR overflow\n\n");
            let _ = flush_client(c);
            self.drop_client(registry, client);
            return false;
        }
        c.out.extend_from_slice(line.as_bytes());
        if flush_client(c) {
            self.drop_client(registry, client);
            return false;
        }
        self.update_interest(registry, client);
        true
    }

    /// End a watch (num reached): write the terminator, then behave as after
    /// any reply.
    pub fn end_watch(&mut self, registry: &Registry, client: u64, now: Instant) {
        if let Some(c) = self.clients.get_mut(&client) {
            c.watching = false;
        }
        self.reply(registry, client, "\n", After::Default, now);
    }

    pub fn is_watching(&self, client: u64) -> bool {
        self.clients.get(&client).is_some_and(|c| c.watching)
    }

    /// Close clients whose idle deadline passed. Watchers never time out.
    pub fn expire_idle(&mut self, registry: &Registry, now: Instant) {
        let expired: Vec<u64> = self
            .clients
            .iter()
            .filter(|(_, c)| !c.watching && c.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            self.stats.timed_out += 1;
            if let Some(c) = self.clients.get_mut(&id) {
                c.out.extend_from_slice(b"ERR idle timeout\n\n");
                let _ = flush_client(c);
            }
            self.drop_client(registry, id);
        }
    }

    /// Earliest idle deadline, for the loop's poll timeout.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.clients
            .values()
            .filter(|c| !c.watching)
            .map(|c| c.deadline)
            .min()
    }

    pub fn watchers(&self) -> impl Iterator<Item = u64> + '_ {
        self.clients
            .iter()
            .filter(|(_, c)| c.watching)
            .map(|(id, _)| *id)
    }

    fn update_interest(&mut self, registry: &Registry, client: u64) {
        let Some(c) = self.clients.get_mut(&client) else {
            return;
        };
        if c.pending() == 0 && c.close_when_flushed {
            self.drop_client(registry, client);
            return;
        }
        let token = Token(self.token_base + client as usize);
        let interest = if c.pending() > 0 {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        if registry.reregister(&mut c.stream, token, interest).is_err() {
            self.drop_client(registry, client);
        }
    }

    pub fn drop_client(&mut self, registry: &Registry, client: u64) {
        if let Some(mut c) = self.clients.remove(&client) {
            let _ = registry.deregister(&mut c.stream);
        }
    }

    /// Close everything (shutdown): best-effort flush, no waiting.
    pub fn shutdown(&mut self, registry: &Registry) {
        let ids: Vec<u64> = self.clients.keys().copied().collect();
        for id in ids {
            if let Some(c) = self.clients.get_mut(&id) {
                let _ = flush_client(c);
            }
            self.drop_client(registry, id);
        }
        let _ = registry.deregister(&mut self.listener);
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Read what is available. Returns true when the client must be dropped.
// Not inlined: its read buffer stays in this frame instead of adding to
// the event loop's, whose stack every daemon keeps resident.
#[inline(never)]
fn read_client(c: &mut Client, id: u64, now: Instant, lines: &mut Vec<ControlLine>) -> bool {
    let mut buf = [0u8; 4096];
    let mut budget = READ_BUDGET;
    loop {
        if budget == 0 {
            // More may be waiting: the re-registration that follows every
            // event re-arms the edge-triggered readiness, so the rest is
            // read on a later turn, after the other clients.
            return false;
        }
        match c.stream.read(&mut buf) {
            Ok(0) => {
                c.read_closed = true;
                // A half-closed one-shot client still waits for its reply;
                // one that sent nothing usable is done.
                if !c.command_taken && !c.watching && c.pending() == 0 {
                    // Treat an unterminated last line as a command (so
                    // `printf 'show backends' | nc -U` works).
                    if !c.inbuf.is_empty() && !c.discarding {
                        c.command_taken = true;
                        lines.push(ControlLine {
                            client: id,
                            line: std::mem::take(&mut c.inbuf),
                        });
                        return false;
                    }
                    return true;
                }
                return false;
            }
            Ok(n) => {
                budget = budget.saturating_sub(n);
                let Some(chunk) = buf.get(..n) else {
                    return true;
                };
                if c.command_taken && !c.interactive {
                    // One-shot: anything after the command is ignored.
                    continue;
                }
                if c.discarding && !chunk.contains(&b'\n') {
                    // Still inside an over-long line: nothing to keep.
                    continue;
                }
                for &b in chunk {
                    if b == b'\n' {
                        if c.discarding {
                            c.discarding = false;
                            c.inbuf.clear();
                            c.out.extend_from_slice(b"ERR line too long\n\n");
                            if !c.interactive {
                                c.close_when_flushed = true;
                                c.command_taken = true;
                                return false;
                            }
                            continue;
                        }
                        let line = std::mem::take(&mut c.inbuf);
                        // A blank line is not a command: a one-shot client
                        // still gets to send its command after it.
                        if !c.interactive && is_blank(&line) {
                            continue;
                        }
                        // Enter interactive mode now rather than when the
                        // reply goes out, so commands pipelined behind
                        // `prompt` (`printf 'prompt\nshow …\nquit\n'`) are
                        // read instead of dropped as one-shot leftovers.
                        if !c.interactive && !c.command_taken && is_prompt(&line) {
                            c.interactive = true;
                            c.prompt_pending = true;
                            c.deadline = now + INTERACTIVE_IDLE;
                            lines.push(ControlLine { client: id, line });
                            continue;
                        }
                        if c.interactive || !c.command_taken {
                            if !c.interactive {
                                c.command_taken = true;
                            }
                            c.deadline = now + INTERACTIVE_IDLE;
                            lines.push(ControlLine { client: id, line });
                        }
                        if c.command_taken && !c.interactive {
                            break;
                        }
                    } else if !c.discarding {
                        if c.inbuf.len() >= MAX_LINE {
                            c.discarding = true;
                            c.inbuf.clear();
                        } else {
                            c.inbuf.push(b);
                        }
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return true,
        }
    }
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r'))
}

/// Whether a line is the `prompt` command (in any accepted spelling).
fn is_prompt(line: &[u8]) -> bool {
    std::str::from_utf8(line)
        .ok()
        .and_then(|t| crate::control::grammar::parse(t.trim()).ok())
        .is_some_and(|r| matches!(r.command, crate::control::grammar::Command::Prompt))
}

/// Write what the socket takes. Returns true when the client must be dropped.
fn flush_client(c: &mut Client) -> bool {
    while c.out_pos < c.out.len() {
        let Some(rest) = c.out.get(c.out_pos..) else {
            break;
        };
        match c.stream.write(rest) {
            Ok(0) => return true,
            Ok(n) => c.out_pos += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return true,
        }
    }
    if c.out_pos == c.out.len() {
        c.out.clear();
        c.out_pos = 0;
    } else if c.out_pos > 64 * 1024 {
        c.out.drain(..c.out_pos);
        c.out_pos = 0;
    }
    false
}
