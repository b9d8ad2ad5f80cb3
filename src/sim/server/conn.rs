//! One client connection: frame reassembly on the way in, an ordered reply
//! queue on the way out.
//!
//! Replies wait in the queue until their release time (a delay fault), and
//! only the front may leave: a held reply holds everything behind it, which
//! keeps VPP's strict per-connection order. Released bytes are written in
//! chunks of at most 4 KiB, as VPP does, and survive partial writes.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::time::Instant;

use mio::net::UnixStream;

use super::handler::Reply;
use crate::vpp::wire::frame::{Frame, FrameReader, HEADER_LEN};
use crate::vpp::wire::WireError;

/// VPP's write and read chunk size.
const CHUNK: usize = 4096;

enum Queued {
    Frame { release_at: Instant, bytes: Vec<u8> },
    Close { release_at: Instant },
}

impl Queued {
    fn release_at(&self) -> Instant {
        match self {
            Queued::Frame { release_at, .. } | Queued::Close { release_at } => *release_at,
        }
    }
}

/// What a read produced.
pub struct Received {
    pub frames: Vec<Result<Frame, WireError>>,
    /// The peer closed its end (or the socket failed).
    pub eof: bool,
}

pub struct Conn {
    /// Server-assigned id, unique over the simulator's life.
    pub id: u64,
    pub stream: UnixStream,
    /// The registered client index, once `sockclnt_create` was handled.
    pub client_index: Option<u32>,
    /// A close is queued: later requests are not processed.
    pub closing: bool,
    reader: FrameReader,
    queue: VecDeque<Queued>,
    out: Vec<u8>,
    out_pos: usize,
    /// Set once a queued close has been reached or the socket failed.
    dead: bool,
}

impl Conn {
    pub fn new(id: u64, stream: UnixStream) -> Conn {
        Conn {
            id,
            stream,
            client_index: None,
            closing: false,
            reader: FrameReader::new(),
            queue: VecDeque::new(),
            out: Vec::new(),
            out_pos: 0,
            dead: false,
        }
    }

    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// Reads everything available and returns the completed frames.
    pub fn receive(&mut self) -> Received {
        let mut buf = [0u8; CHUNK];
        let mut eof = false;
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => self.reader.push(buf.get(..n).unwrap_or(&[])),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    eof = true;
                    break;
                }
            }
        }
        let mut frames = Vec::new();
        while let Some(frame) = self.reader.next_frame() {
            let failed = frame.is_err();
            frames.push(frame);
            if failed {
                break;
            }
        }
        Received { frames, eof }
    }

    /// Queues reply frames to leave at `release_at` (or after whatever is
    /// queued before them, if later).
    pub fn enqueue(&mut self, replies: &[Reply], release_at: Instant) {
        for reply in replies {
            let mut bytes = Vec::with_capacity(HEADER_LEN + reply.body.len());
            bytes.extend_from_slice(&reply.q);
            let len = u32::try_from(reply.body.len()).unwrap_or(u32::MAX);
            bytes.extend_from_slice(&len.to_be_bytes());
            bytes.extend_from_slice(&[0; 4]);
            bytes.extend_from_slice(&reply.body);
            self.queue.push_back(Queued::Frame { release_at, bytes });
        }
    }

    /// Queues a close behind everything already queued.
    pub fn enqueue_close(&mut self, release_at: Instant) {
        self.closing = true;
        self.queue.push_back(Queued::Close { release_at });
    }

    /// When the front of the queue is due, if it is held.
    pub fn next_release(&self) -> Option<Instant> {
        self.queue.front().map(Queued::release_at)
    }

    /// Moves due frames to the output buffer and writes what the socket
    /// takes. Marks the connection dead at a due close once everything
    /// before it is written, or on a socket error.
    pub fn pump(&mut self, now: Instant) {
        while let Some(Queued::Frame { release_at, .. }) = self.queue.front() {
            if *release_at > now {
                break;
            }
            if let Some(Queued::Frame { bytes, .. }) = self.queue.pop_front() {
                self.out.extend_from_slice(&bytes);
            }
        }
        if !self.flush() {
            return;
        }
        if let Some(Queued::Close { release_at }) = self.queue.front() {
            if *release_at <= now {
                self.dead = true;
            }
        }
    }

    /// Writes buffered bytes; `true` when the buffer is empty afterwards.
    fn flush(&mut self) -> bool {
        while self.out_pos < self.out.len() {
            let end = self.out.len().min(self.out_pos + CHUNK);
            let chunk = self.out.get(self.out_pos..end).unwrap_or(&[]);
            match self.stream.write(chunk) {
                Ok(0) => {
                    self.dead = true;
                    return false;
                }
                Ok(n) => self.out_pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.dead = true;
                    return false;
                }
            }
        }
        self.out.clear();
        self.out_pos = 0;
        true
    }
}
