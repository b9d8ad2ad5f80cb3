//! A minimal blocking VPP API client for the simulator tests: real Unix
//! socket, the `vpp::wire` codec, read timeouts instead of sleeps.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use vpp_maglev::vpp::wire::frame::{encode_frame, FrameReader, HEADER_LEN};
use vpp_maglev::vpp::wire::memclnt::{
    SockclntCreate, SockclntCreateReply, SOCKCLNT_CREATE_ID, SOCKCLNT_CREATE_REPLY_ID,
};
use vpp_maglev::vpp::wire::{Message, MessageTable};

/// Generous: only reached when something is broken.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// One received frame, header kept.
#[derive(Debug, Clone)]
pub struct RxFrame {
    pub q: [u8; 8],
    pub body: Vec<u8>,
}

impl RxFrame {
    pub fn msg_id(&self) -> u16 {
        u16::from_be_bytes([self.body[0], self.body[1]])
    }

    /// Context of a reply or details message (offset 2).
    pub fn context(&self) -> u32 {
        u32::from_be_bytes(self.body[2..6].try_into().unwrap())
    }

    /// Retval of a plain reply (offset 6).
    pub fn retval(&self) -> i32 {
        i32::from_be_bytes(self.body[6..10].try_into().unwrap())
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum RecvError {
    Timeout,
    Eof,
}

pub struct Client {
    pub stream: UnixStream,
    /// Raw frames, reassembled here (not with FrameReader, to keep `q`).
    buf: Vec<u8>,
    pub index: u32,
    pub table: MessageTable,
    reader_check: FrameReader,
}

impl Client {
    pub fn connect(path: &Path) -> Client {
        let stream = UnixStream::connect(path).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        Client {
            stream,
            buf: Vec::new(),
            index: 0,
            table: MessageTable::default(),
            reader_check: FrameReader::new(),
        }
    }

    /// Connects and does the handshake.
    pub fn open(path: &Path) -> Client {
        let mut client = Client::connect(path);
        client.handshake(0x1001);
        client
    }

    pub fn handshake(&mut self, context: u32) -> SockclntCreateReply {
        let create = SockclntCreate {
            context,
            name: "vppsim-test".to_owned(),
        };
        self.send(&create, SOCKCLNT_CREATE_ID);
        let frame = self.recv().unwrap();
        assert_eq!(frame.msg_id(), SOCKCLNT_CREATE_REPLY_ID);
        let reply = SockclntCreateReply::parse(&frame.body).unwrap();
        self.index = reply.index;
        self.table = MessageTable::from_reply(&reply);
        reply
    }

    pub fn id(&self, name_crc: &str) -> u16 {
        self.table
            .id(name_crc)
            .unwrap_or_else(|| panic!("{name_crc} not in the table"))
    }

    pub fn send<M: Message>(&mut self, msg: &M, id: u16) {
        let mut out = Vec::new();
        msg.emit_frame(id, &mut out);
        self.stream.write_all(&out).unwrap();
    }

    pub fn send_body(&mut self, body: &[u8]) {
        let mut out = Vec::new();
        encode_frame(body, &mut out);
        self.stream.write_all(&out).unwrap();
    }

    pub fn set_timeout(&self, timeout: Duration) {
        self.stream.set_read_timeout(Some(timeout)).unwrap();
    }

    /// The next frame, or why there is none.
    pub fn try_recv(&mut self) -> Result<RxFrame, RecvError> {
        loop {
            if self.buf.len() >= HEADER_LEN {
                let len = u32::from_be_bytes(self.buf[8..12].try_into().unwrap()) as usize;
                assert_eq!(self.buf[12..16], [0; 4], "gc_mark_timestamp");
                if self.buf.len() >= HEADER_LEN + len {
                    let frame: Vec<u8> = self.buf.drain(..HEADER_LEN + len).collect();
                    // Cross-check the reassembly with the codec's reader.
                    self.reader_check.push(&frame);
                    let checked = self.reader_check.next_frame().unwrap().unwrap();
                    assert_eq!(checked.body, frame[HEADER_LEN..]);
                    return Ok(RxFrame {
                        q: frame[..8].try_into().unwrap(),
                        body: frame[HEADER_LEN..].to_vec(),
                    });
                }
            }
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(RecvError::Eof),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::TimedOut =>
                {
                    return Err(RecvError::Timeout)
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Err(RecvError::Eof),
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    pub fn recv(&mut self) -> Result<RxFrame, RecvError> {
        self.try_recv()
    }

    /// Asserts nothing arrives within `wait` (the connection stays open).
    pub fn expect_silence(&mut self, wait: Duration) {
        self.set_timeout(wait);
        let got = self.try_recv();
        self.set_timeout(TIMEOUT);
        assert_eq!(got.err(), Some(RecvError::Timeout), "expected no frame");
    }
}
