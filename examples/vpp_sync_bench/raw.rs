//! The raw client: the least a VPP API client can do to program the same
//! 1,000 VIPs × 64 ASes — handshake, then pre-encoded `lb_add_del_vip_v2` /
//! `lb_add_del_as_v2` frames, either all pipelined (a writer thread streams
//! them while this thread counts replies) or one at a time (write, wait for
//! the reply). It gives the simulator's own limit to compare maglevd with.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use vpp_maglev::vpp::wire::lb::{LbAddDelAsV2, LbAddDelVipV2, LbEncapType};
use vpp_maglev::vpp::wire::memclnt::{
    SockclntCreate, SockclntCreateReply, SOCKCLNT_CREATE_ID, SOCKCLNT_CREATE_REPLY_ID,
};
use vpp_maglev::vpp::wire::{FrameReader, Message, MessageTable, MsgIds, Prefix, RetvalReply};

use crate::util::{as_address, vip_address, Context, R};

/// What one raw run measured (client side).
pub struct RawRun {
    pub calls: usize,
    /// Just before the first lb frame was written.
    pub first_write: Instant,
    /// When the last reply had been read.
    pub last_reply: Instant,
    pub errors: usize,
}

struct Conn {
    stream: UnixStream,
    reader: FrameReader,
    client_index: u32,
    ids: MsgIds,
}

impl Conn {
    fn open(path: &Path) -> R<Conn> {
        let mut stream = UnixStream::connect(path).ctx("connect to vppsim")?;
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .ctx("set timeout")?;
        let mut out = Vec::new();
        SockclntCreate {
            context: 1,
            name: "raw-bench".to_owned(),
        }
        .emit_frame(SOCKCLNT_CREATE_ID, &mut out);
        stream.write_all(&out).ctx("write sockclnt_create")?;
        let mut reader = FrameReader::new();
        let body = next_body(&mut stream, &mut reader)?;
        if body.get(..2) != Some(&SOCKCLNT_CREATE_REPLY_ID.to_be_bytes()[..]) {
            return Err("first reply is not sockclnt_create_reply".into());
        }
        let reply = SockclntCreateReply::parse(&body).ctx("parse sockclnt_create_reply")?;
        let ids = MsgIds::resolve(&MessageTable::from_reply(&reply)).ctx("message table")?;
        Ok(Conn {
            stream,
            reader,
            client_index: reply.index,
            ids,
        })
    }

    /// Every call of the plan, one frame each, in maglevd's order (per VIP:
    /// the VIP, then its ASes by address).
    fn encode_plan(&self, vips: usize, ases: usize, weight: u8) -> Vec<Vec<u8>> {
        let mut frames = Vec::with_capacity(vips * (ases + 1));
        let mut context = 0x100u32;
        for j in 0..vips {
            let pfx = Prefix::new(vip_address(j), 32);
            let mut f = Vec::new();
            context += 1;
            LbAddDelVipV2::gre(
                self.client_index,
                context,
                pfx,
                6,
                80,
                LbEncapType::Gre4,
                false,
            )
            .emit_frame(self.ids.lb_add_del_vip_v2, &mut f);
            frames.push(f);
            for i in 0..ases {
                let mut f = Vec::new();
                context += 1;
                LbAddDelAsV2 {
                    client_index: self.client_index,
                    context,
                    pfx,
                    protocol: 6,
                    port: 80,
                    as_address: as_address(i),
                    weight,
                    is_del: false,
                    is_flush: false,
                }
                .emit_frame(self.ids.lb_add_del_as_v2, &mut f);
                frames.push(f);
            }
        }
        frames
    }
}

/// The next frame's body.
fn next_body(stream: &mut UnixStream, reader: &mut FrameReader) -> R<Vec<u8>> {
    let mut buf = [0u8; 64 * 1024];
    loop {
        if let Some(frame) = reader.next_frame() {
            return frame.map(|f| f.body).ctx("frame from vppsim");
        }
        let n = stream.read(&mut buf).ctx("read from vppsim")?;
        if n == 0 {
            return Err("vppsim closed the connection".into());
        }
        reader.push(&buf[..n]);
    }
}

fn retval(body: &[u8]) -> i32 {
    RetvalReply::parse_as("lb reply", body).map_or(i32::MIN, |r| r.retval)
}

/// Programs the plan pipelined: one writer thread, replies counted here.
pub fn run_pipelined(path: &Path, vips: usize, ases: usize, weight: u8) -> R<RawRun> {
    let mut conn = Conn::open(path)?;
    let frames = conn.encode_plan(vips, ases, weight);
    let calls = frames.len();
    let bytes: Vec<u8> = frames.concat();
    let mut writer = conn.stream.try_clone().ctx("clone socket")?;
    let first_write = Instant::now();
    let writing = std::thread::spawn(move || writer.write_all(&bytes));
    let mut errors = 0;
    for _ in 0..calls {
        let body = next_body(&mut conn.stream, &mut conn.reader)?;
        if retval(&body) != 0 {
            errors += 1;
        }
    }
    let last_reply = Instant::now();
    match writing.join() {
        Ok(r) => r.ctx("write plan")?,
        Err(_) => return Err("writer thread panicked".into()),
    }
    Ok(RawRun {
        calls,
        first_write,
        last_reply,
        errors,
    })
}

/// Programs the plan one call at a time (write, wait for its reply).
pub fn run_lockstep(path: &Path, vips: usize, ases: usize, weight: u8) -> R<RawRun> {
    let mut conn = Conn::open(path)?;
    let frames = conn.encode_plan(vips, ases, weight);
    let calls = frames.len();
    let first_write = Instant::now();
    let mut errors = 0;
    for f in &frames {
        conn.stream.write_all(f).ctx("write call")?;
        let body = next_body(&mut conn.stream, &mut conn.reader)?;
        if retval(&body) != 0 {
            errors += 1;
        }
    }
    Ok(RawRun {
        calls,
        first_write,
        last_reply: Instant::now(),
        errors,
    })
}
