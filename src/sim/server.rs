//! `vppsim`'s server: the lb model behind a Unix stream socket speaking
//! VPP's binary API, byte for byte as the captured VPP does (WIRE.md).
//!
//! Layers, outside in: the mio loop ([`event_loop`], its own thread) owns
//! the sockets, frames and routing; the [`fault`] layer decides what happens
//! to each request; the [`handler`] runs it against the lb model and emits
//! the replies with the `vpp::wire` codec. [`Simulator::start`] returns a
//! [`SimHandle`] through which tests reach the model, the fault plan and the
//! [`recorder`] of received requests. docs/vppsim.md describes the whole.

mod cli;
mod conn;
mod event_loop;
pub mod fault;
pub mod handler;
pub mod recorder;
pub mod request;
pub mod table;

use std::fs::OpenOptions;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use log::Level;
use mio::net::UnixListener;
use mio::{Interest, Poll, Waker};

pub use self::fault::{FaultAction, FaultPlan, FaultRule, Times};
pub use self::recorder::Record;

use self::event_loop::{Server, FIRST_CONN, LISTENER, WAKER};
use self::handler::Handler;
use self::recorder::Recorder;
use self::table::SimTable;
use crate::logev;
use crate::sim::lb::LbState;

/// How to run a simulator.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The API socket (VPP's `socksvr { socket-name }`); a stale file there
    /// is removed first.
    pub socket_path: PathBuf,
    /// How many requests the recorder keeps (oldest dropped first).
    pub record_capacity: usize,
    /// Also append one text line per request to this file.
    pub record_file: Option<PathBuf>,
}

static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

impl SimOptions {
    pub fn new(socket_path: impl Into<PathBuf>) -> SimOptions {
        SimOptions {
            socket_path: socket_path.into(),
            record_capacity: 100_000,
            record_file: None,
        }
    }

    /// A fresh socket path in the temp directory (for tests).
    pub fn temp() -> SimOptions {
        let n = TEMP_SEQ.fetch_add(1, Ordering::Relaxed);
        let name = format!("vppsim-{}-{n}.sock", std::process::id());
        SimOptions::new(std::env::temp_dir().join(name))
    }
}

/// The simulated VPP process state shared by the loop and the handle.
pub(crate) struct Core {
    pub(crate) handler: Handler,
    pub(crate) plan: FaultPlan,
    /// VPP start (uptime 0).
    pub(crate) started: Instant,
    /// Seconds added to the real uptime ([`SimHandle::advance_uptime`]).
    uptime_offset: u32,
    /// A fixed uptime set by a test ([`SimHandle::pin_uptime`]).
    pinned_uptime: Option<u32>,
    generation: u32,
}

impl Core {
    fn new() -> Core {
        Core {
            handler: Handler::new(SimTable::default(), pid_for(0)),
            plan: FaultPlan::default(),
            started: Instant::now(),
            uptime_offset: 0,
            pinned_uptime: None,
            generation: 0,
        }
    }

    /// VPP uptime in whole seconds.
    pub(crate) fn uptime(&self) -> u32 {
        if let Some(pinned) = self.pinned_uptime {
            return pinned;
        }
        let real = u32::try_from(self.started.elapsed().as_secs()).unwrap_or(u32::MAX);
        real.saturating_add(self.uptime_offset)
    }

    /// A new VPP process: fresh lb state, new pid, uptime from 0. The fault
    /// plan survives (it belongs to the test, not to VPP).
    fn restart(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        let table = self.handler.table().clone();
        self.handler = Handler::new(table, pid_for(self.generation));
        self.started = Instant::now();
        self.uptime_offset = 0;
    }
}

/// `vpe_pid` of the n-th incarnation: our pid, then one more per restart.
fn pid_for(generation: u32) -> u32 {
    std::process::id().wrapping_add(generation)
}

pub(crate) struct Shared {
    core: Mutex<Core>,
    recorder: Recorder,
    connections: AtomicUsize,
}

impl Shared {
    pub(crate) fn lock_core(&self) -> MutexGuard<'_, Core> {
        self.core
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub(crate) enum Command {
    /// Look at the fault plan again (drop now).
    Wake,
    Restart(Sender<io::Result<()>>),
    Stop,
}

/// Binds the API socket, replacing a stale file.
fn bind(path: &Path) -> io::Result<UnixListener> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    UnixListener::bind(path)
}

/// Entry point.
pub struct Simulator;

impl Simulator {
    /// Binds the socket and runs the server loop on its own thread. The
    /// socket accepts connections as soon as this returns.
    pub fn start(opts: SimOptions) -> io::Result<SimHandle> {
        let poll = Poll::new()?;
        let mut listener = bind(&opts.socket_path)?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let record_file = match &opts.record_file {
            Some(path) => Some(BufWriter::new(
                OpenOptions::new().create(true).append(true).open(path)?,
            )),
            None => None,
        };
        let shared = Arc::new(Shared {
            core: Mutex::new(Core::new()),
            recorder: Recorder::new(opts.record_capacity),
            connections: AtomicUsize::new(0),
        });
        let (commands_tx, commands_rx): (Sender<Command>, Receiver<Command>) =
            crossbeam_channel::unbounded();
        let server = Server {
            poll,
            listener,
            path: opts.socket_path.clone(),
            shared: Arc::clone(&shared),
            commands: commands_rx,
            record_file,
            conns: Default::default(),
            next_token: FIRST_CONN,
            next_conn_id: 0,
        };
        logev!(
            Level::Info,
            "vppsim-listening",
            socket = opts.socket_path.display(),
            vpe_pid = pid_for(0)
        );
        let thread = std::thread::Builder::new()
            .name("vppsim".to_owned())
            .spawn(move || server.run())?;
        Ok(SimHandle {
            shared,
            commands: commands_tx,
            waker,
            thread: Some(thread),
            socket_path: opts.socket_path,
        })
    }
}

/// Control of a running simulator; stops it when dropped.
pub struct SimHandle {
    shared: Arc<Shared>,
    commands: Sender<Command>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
    socket_path: PathBuf,
}

impl SimHandle {
    pub fn socket_path(&self) -> &Path {
        &self.socket_path
    }

    /// Runs `f` on the lb model (ticked to the current uptime first), e.g.
    /// to change state behind a client's back or to inject traffic.
    pub fn with_lb<R>(&self, f: impl FnOnce(&mut LbState) -> R) -> R {
        let mut core = self.shared.lock_core();
        let uptime = core.uptime();
        core.handler.lb.tick(uptime);
        f(&mut core.handler.lb)
    }

    /// Changes the fault plan; takes effect from the next request (a
    /// `drop_now` at once).
    pub fn faults<R>(&self, f: impl FnOnce(&mut FaultPlan) -> R) -> R {
        let result = f(&mut self.shared.lock_core().plan);
        self.send(Command::Wake);
        result
    }

    /// Restarts "VPP": closes every connection, loses the lb state, unlinks
    /// and rebinds the socket, changes `vpe_pid`. Returns once the new socket
    /// accepts connections.
    pub fn restart(&self) -> io::Result<()> {
        let (done_tx, done_rx) = crossbeam_channel::bounded(1);
        self.send(Command::Restart(done_tx));
        done_rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "vppsim did not restart"))?
    }

    /// Stops the server, closes all connections and unlinks the socket.
    /// Idempotent; also done on drop.
    pub fn stop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.send(Command::Stop);
            let _ = thread.join();
        }
    }

    /// `vpe_pid` of the current incarnation (changes on restart).
    pub fn vpe_pid(&self) -> u32 {
        self.shared.lock_core().handler.vpe_pid
    }

    /// VPP uptime in whole seconds, as the model sees it.
    pub fn uptime(&self) -> u32 {
        self.shared.lock_core().uptime()
    }

    /// Moves uptime forward (lb's GC and `in_use_since` follow uptime).
    pub fn advance_uptime(&self, secs: u32) {
        let mut core = self.shared.lock_core();
        core.uptime_offset = core.uptime_offset.saturating_add(secs);
    }

    /// Freezes uptime at `secs` (`None`: the real clock again), for tests
    /// that need `in_use_since` and GC to be deterministic.
    pub fn pin_uptime(&self, secs: Option<u32>) {
        self.shared.lock_core().pinned_uptime = secs;
    }

    /// Open API connections.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// Every request received (bounded log), oldest first.
    pub fn records(&self) -> Vec<Record> {
        self.shared.recorder.records()
    }

    pub fn clear_records(&self) {
        self.shared.recorder.clear();
    }

    /// The first recorded request satisfying `pred`, waiting up to `timeout`
    /// for it (records already in the log count).
    pub fn wait_for(&self, pred: impl FnMut(&Record) -> bool, timeout: Duration) -> Option<Record> {
        self.shared.recorder.wait_for(pred, timeout)
    }

    fn send(&self, command: Command) {
        if self.commands.send(command).is_ok() {
            let _ = self.waker.wake();
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.stop();
    }
}
