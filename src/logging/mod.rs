//! Logging: logfmt lines with stable event names, written off the loop.
//!
//! Every record becomes one line `ts=… level=info event=name key=value …`
//! (docs/logging.md lists the event names). Records are filtered with
//! env_logger's filter syntax (`--log-level` or `RUST_LOG`), formatted on the
//! loop thread, and handed to a writer thread through a bounded channel, so a
//! slow disk or a stuck stderr never stalls the loop: when the channel is
//! full the line is dropped and counted. Watchers of the control socket may
//! ask for records below the daemon's own level; those are captured into a
//! queue the loop drains ([`take_captured`]).
//!
//! The loop thread batches its lines ([`defer_on_this_thread`]) and hands a
//! pass's worth over at the end of the pass ([`flush_deferred`]): waking the
//! writer costs a futex call per hand-over, and it must not sit between a
//! probe result and the VPP message that reacts to it.

pub mod logfmt;
mod writer;

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use log::{Level, LevelFilter, Log, Metadata, Record};

pub use logfmt::{parse_fields, push_field, Rfc3339Ms};
pub use writer::{LogSink, WriterHandle};

/// Target used by [`logev!`]: its records are already logfmt.
pub const EVENT_TARGET: &str = "maglev";

/// Log one event: `logev!(Level::Info, "backend-transition", backend = name, to = "up")`.
/// Field values are formatted with `Display` only when the record is enabled.
#[macro_export]
macro_rules! logev {
    ($lvl:expr, $event:expr $(, $key:ident = $val:expr)* $(,)?) => {{
        let lvl: ::log::Level = $lvl;
        if lvl <= ::log::max_level() {
            #[allow(unused_mut)]
            let mut line = ::std::string::String::with_capacity(96);
            line.push_str("event=");
            line.push_str($event);
            $( $crate::logging::push_field(&mut line, stringify!($key), &$val); )*
            ::log::log!(target: $crate::logging::EVENT_TARGET, lvl, "{}", line);
        }
    }};
}

/// A record captured for `watch events … log`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedRecord {
    pub at_unix_ms: u64,
    pub level: Level,
    /// The logfmt body after `level=` (starts with `event=`).
    pub body: String,
}

thread_local! {
    static CAPTURED: RefCell<Vec<CapturedRecord>> = const { RefCell::new(Vec::new()) };
    /// Lines of the current loop pass, when this thread defers.
    static DEFERRED: RefCell<Option<Deferred>> = const { RefCell::new(None) };
}

/// A batch of finished lines waiting for the end of the loop pass.
#[derive(Default)]
struct Deferred {
    text: String,
    lines: u64,
}

/// A batch is handed over early once it holds this much (the writer's
/// queue holds at most `writer::QUEUE_MESSAGES` of them: a bounded 4 MiB
/// when the disk stalls).
const DEFER_MAX_BYTES: usize = 4 * 1024;

/// From now on, lines logged on this thread wait for [`flush_deferred`]
/// (the daemon's loop calls it at the end of every pass).
pub fn defer_on_this_thread() {
    DEFERRED.with(|d| {
        d.borrow_mut().get_or_insert_with(Default::default);
    });
}

/// Hand this thread's deferred lines to the writer.
pub fn flush_deferred() {
    let batch = DEFERRED.with(|d| {
        d.borrow_mut()
            .as_mut()
            .filter(|b| b.lines > 0)
            .map(std::mem::take)
    });
    if let (Some(batch), Some(logger)) = (batch, LOGGER.get()) {
        logger.sink.send_batch(batch.text, batch.lines);
    }
}

/// Records captured for watchers since the last call (loop thread only).
pub fn take_captured() -> Vec<CapturedRecord> {
    CAPTURED.with(|c| std::mem::take(&mut *c.borrow_mut()))
}

struct Logger {
    filter: env_logger::Logger,
    sink: WriterHandle,
    /// Most verbose level any watcher wants, as `LevelFilter as usize`.
    capture_level: AtomicUsize,
    lines: AtomicU64,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

pub(crate) fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.filter.enabled(metadata) || metadata.level() as usize <= self.capture_level()
    }

    fn log(&self, record: &Record<'_>) {
        let to_output = self.filter.matches(record);
        let to_watchers = record.level() as usize <= self.capture_level();
        if !to_output && !to_watchers {
            return;
        }
        let at = now_unix_ms();
        let mut body = String::with_capacity(128);
        if record.target() == EVENT_TARGET {
            use std::fmt::Write;
            let _ = write!(body, "{}", record.args());
        } else {
            body.push_str("event=lib");
            push_field(&mut body, "target", &record.target());
            push_field(&mut body, "msg", record.args());
        }
        if to_output {
            let mut line = String::with_capacity(body.len() + 48);
            line.push_str("ts=");
            use std::fmt::Write;
            let _ = write!(line, "{}", Rfc3339Ms(at));
            line.push_str(" level=");
            line.push_str(level_name(record.level()));
            line.push(' ');
            line.push_str(&body);
            line.push('\n');
            self.lines.fetch_add(1, Ordering::Relaxed);
            let full = DEFERRED.with(|d| match d.borrow_mut().as_mut() {
                Some(batch) => {
                    batch.text.push_str(&line);
                    batch.lines += 1;
                    Some(batch.text.len() >= DEFER_MAX_BYTES)
                }
                None => None,
            });
            match full {
                None => self.sink.send_line(line),
                Some(true) => flush_deferred(),
                Some(false) => {}
            }
        }
        if to_watchers {
            CAPTURED.with(|c| {
                let mut c = c.borrow_mut();
                // Bounded: the loop drains every iteration; a burst beyond
                // this is not worth unbounded memory.
                if c.len() < 10_000 {
                    c.push(CapturedRecord {
                        at_unix_ms: at,
                        level: record.level(),
                        body,
                    });
                }
            });
        }
    }

    fn flush(&self) {}
}

impl Logger {
    fn capture_level(&self) -> usize {
        self.capture_level.load(Ordering::Relaxed)
    }
}

/// Lower-case level names as they appear in `level=`.
pub fn level_name(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warn => "warn",
        Level::Info => "info",
        Level::Debug => "debug",
        Level::Trace => "trace",
    }
}

/// How the daemon wants its logs.
pub struct LogOptions {
    /// env_logger filter spec (`info`, `debug,vpp_maglev::probe=trace`).
    pub filter: String,
    /// `None`: standard error.
    pub file: Option<PathBuf>,
}

/// Errors setting up logging.
#[derive(Debug)]
pub enum LogSetupError {
    OpenFile {
        path: PathBuf,
        source: std::io::Error,
    },
    AlreadyInstalled,
    Thread(std::io::Error),
}

impl std::fmt::Display for LogSetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogSetupError::OpenFile { path, source } => {
                write!(f, "open log file {}: {source}", path.display())
            }
            LogSetupError::AlreadyInstalled => f.write_str("a logger is already installed"),
            LogSetupError::Thread(e) => write!(f, "start log writer thread: {e}"),
        }
    }
}

impl std::error::Error for LogSetupError {}

/// Install the global logger and start its writer thread.
pub fn init(options: &LogOptions) -> Result<(), LogSetupError> {
    let filter = env_logger::Builder::new()
        .parse_filters(&options.filter)
        .build();
    let sink = match &options.file {
        Some(path) => LogSink::File(path.clone()),
        None => LogSink::Stderr,
    };
    let handle = writer::start(sink)?;
    let logger = Logger {
        filter,
        sink: handle,
        capture_level: AtomicUsize::new(LevelFilter::Off as usize),
        lines: AtomicU64::new(0),
    };
    let max = logger.filter.filter();
    LOGGER
        .set(logger)
        .map_err(|_| LogSetupError::AlreadyInstalled)?;
    let logger = LOGGER.get().ok_or(LogSetupError::AlreadyInstalled)?;
    log::set_logger(logger).map_err(|_| LogSetupError::AlreadyInstalled)?;
    log::set_max_level(max);
    Ok(())
}

/// Let watchers see records down to `level` (`Off` when none watches logs).
pub fn set_capture_level(level: LevelFilter) {
    if let Some(l) = LOGGER.get() {
        l.capture_level.store(level as usize, Ordering::Relaxed);
        log::set_max_level(l.filter.filter().max(level));
    }
}

/// Ask the writer thread to reopen the log file (SIGUSR1, `log reopen`).
pub fn reopen() -> bool {
    LOGGER.get().map(|l| l.sink.reopen()).unwrap_or(false)
}

/// Lines written and lines dropped because the writer fell behind.
pub fn counters() -> (u64, u64) {
    LOGGER
        .get()
        .map(|l| (l.lines.load(Ordering::Relaxed), l.sink.dropped()))
        .unwrap_or((0, 0))
}

/// Drain the writer (bounded wait) before exit.
pub fn shutdown() {
    flush_deferred();
    if let Some(l) = LOGGER.get() {
        l.sink.flush_and_stop(std::time::Duration::from_secs(2));
    }
}
