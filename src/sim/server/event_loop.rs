//! The simulator's mio loop (its own thread): accepts API clients, turns
//! complete frames into requests for the fault layer and the handler, routes
//! the replies by `client_index`, releases held replies on time, and carries
//! out the handle's commands (restart, stop, drop).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use log::Level;
use mio::net::UnixListener;
use mio::{Events, Interest, Poll, Token};

use super::conn::Conn;
use super::fault;
use super::handler::{Addressee, RequestCtx};
use super::recorder::Record;
use super::request::Request;
use super::{bind, Command, Shared};
use crate::logev;
use crate::vpp::wire::frame::body_msg_id;
use crate::vpp::wire::table::message_name;

pub(super) const LISTENER: Token = Token(0);
pub(super) const WAKER: Token = Token(1);
pub(super) const FIRST_CONN: usize = 2;

/// Socket clients get `0x80000000 | slot`; slot 0 is the listener's own
/// registration in VPP, so the first client is 0x80000001.
const CLIENT_INDEX_BASE: u32 = 0x8000_0000;

pub(super) struct Server {
    pub poll: Poll,
    pub listener: UnixListener,
    pub path: PathBuf,
    pub shared: Arc<Shared>,
    pub commands: Receiver<Command>,
    pub record_file: Option<BufWriter<File>>,
    pub conns: HashMap<Token, Conn>,
    pub next_token: usize,
    pub next_conn_id: u64,
}

impl Server {
    pub fn run(mut self) {
        let mut events = Events::with_capacity(256);
        loop {
            let timeout = self.next_timeout();
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    logev!(Level::Error, "vppsim-poll-failed", error = e);
                    break;
                }
            }
            let mut stop = false;
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept(),
                    WAKER => stop |= self.run_commands(),
                    token => {
                        if event.is_readable() || event.is_read_closed() {
                            self.read(token);
                        }
                    }
                }
            }
            if stop {
                break;
            }
            if self.shared.lock_core().plan.take_drop_now() {
                logev!(
                    Level::Info,
                    "vppsim-drop-connections",
                    count = self.conns.len()
                );
                self.close_all();
            }
            self.pump_all();
            if let Some(file) = &mut self.record_file {
                let _ = file.flush();
            }
        }
        self.close_all();
        let _ = std::fs::remove_file(&self.path);
        logev!(Level::Info, "vppsim-stopped", socket = self.path.display());
    }

    /// Time until the earliest held reply is due.
    fn next_timeout(&self) -> Option<Duration> {
        let now = Instant::now();
        self.conns
            .values()
            .filter_map(Conn::next_release)
            .min()
            .map(|at| at.saturating_duration_since(now))
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    let token = Token(self.next_token);
                    self.next_token += 1;
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    if let Err(e) = self.poll.registry().register(&mut stream, token, interest) {
                        logev!(Level::Warn, "vppsim-register-failed", error = e);
                        continue;
                    }
                    self.next_conn_id += 1;
                    logev!(Level::Debug, "vppsim-connect", conn = self.next_conn_id);
                    self.conns
                        .insert(token, Conn::new(self.next_conn_id, stream));
                    self.publish_conn_count();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    logev!(Level::Warn, "vppsim-accept-failed", error = e);
                    return;
                }
            }
        }
    }

    /// Returns true when the loop must stop.
    fn run_commands(&mut self) -> bool {
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Command::Wake => {}
                Command::Stop => return true,
                Command::Restart(done) => {
                    let result = self.restart();
                    let _ = done.send(result);
                }
            }
        }
        false
    }

    /// Like a VPP restart: every connection goes, the lb state is lost, the
    /// socket is unlinked and bound again, and the pid changes.
    fn restart(&mut self) -> io::Result<()> {
        self.close_all();
        let _ = self.poll.registry().deregister(&mut self.listener);
        let _ = std::fs::remove_file(&self.path);
        {
            let mut core = self.shared.lock_core();
            core.restart();
            logev!(
                Level::Info,
                "vppsim-restart",
                vpe_pid = core.handler.vpe_pid
            );
        }
        self.listener = bind(&self.path)?;
        self.poll
            .registry()
            .register(&mut self.listener, LISTENER, Interest::READABLE)
    }

    fn close_all(&mut self) {
        for (_, mut conn) in self.conns.drain() {
            let _ = self.poll.registry().deregister(&mut conn.stream);
        }
        self.publish_conn_count();
    }

    fn publish_conn_count(&self) {
        self.shared
            .connections
            .store(self.conns.len(), Ordering::Relaxed);
    }

    fn pump_all(&mut self) {
        let now = Instant::now();
        let mut dead = Vec::new();
        for (token, conn) in &mut self.conns {
            conn.pump(now);
            if conn.is_dead() {
                dead.push(*token);
            }
        }
        for token in dead {
            self.remove(token);
        }
    }

    fn remove(&mut self, token: Token) {
        if let Some(mut conn) = self.conns.remove(&token) {
            let _ = self.poll.registry().deregister(&mut conn.stream);
            logev!(Level::Debug, "vppsim-disconnect", conn = conn.id);
        }
        self.publish_conn_count();
    }

    fn read(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let received = conn.receive();
        let at = Instant::now();
        for frame in received.frames {
            if self.conns.get(&token).map_or(true, |c| c.closing) {
                break;
            }
            match frame {
                Ok(frame) => self.process(token, &frame.body, at),
                Err(e) => {
                    logev!(Level::Warn, "vppsim-bad-frame", error = e);
                    self.remove(token);
                    return;
                }
            }
        }
        if received.eof {
            self.remove(token);
        }
    }

    /// One request: record it, run it through the fault layer and the
    /// handler, queue the replies where VPP would send them.
    fn process(&mut self, token: Token, body: &[u8], at: Instant) {
        let Some(conn_id) = self.conns.get(&token).map(|c| c.id) else {
            return;
        };
        let Ok(msg_id) = body_msg_id(body) else {
            logev!(
                Level::Warn,
                "vppsim-short-frame",
                conn = conn_id,
                len = body.len()
            );
            return;
        };
        let shared = Arc::clone(&self.shared);
        let mut core = shared.lock_core();
        let name_crc = core.handler.table().name_crc(msg_id).map(str::to_owned);
        let request = match &name_crc {
            Some(key) => Request::decode(message_name(key), body),
            None => Request::Unknown { msg_id },
        };
        let name = name_crc
            .as_deref()
            .map_or("unknown", message_name)
            .to_owned();
        let summary = request.summary();
        logev!(
            Level::Debug,
            "vppsim-request",
            conn = conn_id,
            msg = name,
            fields = summary
        );
        if let Some(file) = &mut self.record_file {
            let _ = writeln!(
                file,
                "t={:.6} conn={conn_id} msg={name} id={msg_id} {summary}",
                at.saturating_duration_since(core.started).as_secs_f64()
            );
        }
        match &request {
            Request::Unknown { msg_id } => {
                logev!(
                    Level::Info,
                    "vppsim-no-handler",
                    conn = conn_id,
                    msg_id = msg_id
                );
            }
            Request::Unsupported { name } => {
                logev!(
                    Level::Info,
                    "vppsim-unsupported",
                    conn = conn_id,
                    msg = name
                );
            }
            _ => {}
        }
        self.shared.recorder.append(Record {
            seq: 0,
            conn: conn_id,
            name,
            msg_id,
            body: body.to_vec(),
            summary,
            at,
        });

        if matches!(request, Request::SockclntCreate { .. }) {
            self.register(token);
        }
        let sender_index = self
            .conns
            .get(&token)
            .and_then(|c| c.client_index)
            .unwrap_or(0);
        let live: Vec<u32> = self.conns.values().filter_map(|c| c.client_index).collect();
        let is_live = |index: u32| live.contains(&index);
        let ctx = RequestCtx {
            sender_index,
            is_live: &is_live,
        };
        let uptime = core.uptime();
        core.handler.lb.tick(uptime);
        let core = &mut *core;
        let outcome = fault::apply(
            &mut core.plan,
            &mut core.handler,
            name_crc.as_deref(),
            &request,
            &ctx,
        );
        drop(ctx);

        let release_at = at + outcome.delay.unwrap_or_default();
        let target = match outcome.response.addressee {
            Addressee::Sender => Some(token),
            Addressee::ClientIndex(index) => self
                .conns
                .iter()
                .find(|(_, c)| c.client_index == Some(index))
                .map(|(t, _)| *t),
        };
        match target.and_then(|t| self.conns.get_mut(&t)) {
            Some(conn) => {
                conn.enqueue(&outcome.response.replies, release_at);
                if outcome.response.close_after {
                    conn.enqueue_close(release_at);
                }
            }
            None if !outcome.response.replies.is_empty() => {
                logev!(
                    Level::Debug,
                    "vppsim-reply-dropped",
                    conn = conn_id,
                    client_index = format!("{:#x}", request.client_index().unwrap_or(0)),
                );
            }
            None => {}
        }
        if outcome.close_sender {
            if let Some(conn) = self.conns.get_mut(&token) {
                conn.enqueue_close(release_at);
            }
        }
    }

    /// Gives the connection the lowest free client index (VPP reuses freed
    /// registration slots).
    fn register(&mut self, token: Token) {
        if self
            .conns
            .get(&token)
            .is_some_and(|c| c.client_index.is_some())
        {
            return;
        }
        let used: Vec<u32> = self.conns.values().filter_map(|c| c.client_index).collect();
        let index = (1..)
            .map(|slot| CLIENT_INDEX_BASE | slot)
            .find(|index| !used.contains(index))
            .unwrap_or(CLIENT_INDEX_BASE | 1);
        if let Some(conn) = self.conns.get_mut(&token) {
            conn.client_index = Some(index);
        }
    }
}
