//! The log writer thread: the only code allowed to block on the log's
//! destination. The loop hands it finished lines (one, or a pass's batch)
//! through a bounded channel; when the channel is full the lines are
//! dropped and counted, and the next write reports how many were lost.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};

use super::LogSetupError;

/// Messages (a line, or a loop pass's batch of at most 4 KiB) that may
/// wait for the disk before we start dropping.
pub const QUEUE_MESSAGES: usize = 1024;

/// Where lines go.
#[derive(Debug, Clone)]
pub enum LogSink {
    Stderr,
    File(PathBuf),
}

enum Msg {
    Line(String),
    Stop,
}

/// The loop's side of the writer.
pub struct WriterHandle {
    tx: Sender<Msg>,
    dropped: Arc<AtomicU64>,
    reopen: Arc<AtomicBool>,
    done: Receiver<()>,
    thread: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl WriterHandle {
    pub fn send_line(&self, line: String) {
        self.send_batch(line, 1);
    }

    /// Several finished lines in one message (one wake-up of the thread).
    pub fn send_batch(&self, text: String, lines: u64) {
        match self.tx.try_send(Msg::Line(text)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(lines, Ordering::Relaxed);
            }
        }
    }

    /// Flag a reopen; the thread acts on it before its next write.
    pub fn reopen(&self) -> bool {
        self.reopen.store(true, Ordering::Release);
        // Wake the thread even if no line follows soon.
        let _ = self.tx.try_send(Msg::Line(String::new()));
        true
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub fn flush_and_stop(&self, wait: Duration) {
        // A blocking send with a deadline: at exit it is fine to wait a
        // little for the disk, but never forever.
        let _ = self.tx.send_timeout(Msg::Stop, wait);
        if self.done.recv_timeout(wait).is_ok() {
            if let Ok(mut t) = self.thread.lock() {
                if let Some(t) = t.take() {
                    let _ = t.join();
                }
            }
        }
    }
}

fn open(path: &PathBuf) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

pub fn start(sink: LogSink) -> Result<WriterHandle, LogSetupError> {
    // Open once on the caller's thread so a bad path is a startup error.
    let mut file = match &sink {
        LogSink::File(path) => Some(open(path).map_err(|source| LogSetupError::OpenFile {
            path: path.clone(),
            source,
        })?),
        LogSink::Stderr => None,
    };
    let (tx, rx) = bounded::<Msg>(QUEUE_MESSAGES);
    let (done_tx, done_rx) = bounded::<()>(1);
    let dropped = Arc::new(AtomicU64::new(0));
    let reopen = Arc::new(AtomicBool::new(false));
    let thread_dropped = Arc::clone(&dropped);
    let thread_reopen = Arc::clone(&reopen);
    let thread = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || {
            let mut reported_drops = 0u64;
            let stderr = io::stderr();
            for msg in rx.iter() {
                let line = match msg {
                    Msg::Line(l) => l,
                    Msg::Stop => break,
                };
                if thread_reopen.swap(false, Ordering::AcqRel) {
                    if let LogSink::File(path) = &sink {
                        match open(path) {
                            Ok(f) => file = Some(f),
                            Err(e) => {
                                let _ = writeln!(
                                    stderr.lock(),
                                    "ts={} level=error event=log-reopen-failed path={} error=\"{e}\"",
                                    super::Rfc3339Ms(super::now_unix_ms()),
                                    path.display()
                                );
                            }
                        }
                    }
                }
                if line.is_empty() {
                    continue;
                }
                let drops = thread_dropped.load(Ordering::Relaxed);
                let mut out = String::new();
                if drops > reported_drops {
                    out.push_str(&format!(
                        "ts={} level=warn event=log-lines-dropped count={}\n",
                        super::Rfc3339Ms(super::now_unix_ms()),
                        drops - reported_drops
                    ));
                    reported_drops = drops;
                }
                out.push_str(&line);
                let result = match file.as_mut() {
                    Some(f) => f.write_all(out.as_bytes()),
                    None => stderr.lock().write_all(out.as_bytes()),
                };
                if result.is_err() {
                    thread_dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            let _ = done_tx.send(());
        })
        .map_err(LogSetupError::Thread)?;
    Ok(WriterHandle {
        tx,
        dropped,
        reopen,
        done: done_rx,
        thread: std::sync::Mutex::new(Some(thread)),
    })
}
