//! Raw binary-API client for the benchmark "raw client limit of the
//! simulator": handshake, then N VIPs × M ASes (`lb_add_del_vip_v2` +
//! `lb_add_del_as_v2`), either pipelined (a writer thread sends everything
//! while the main thread reads every reply) or sequentially (send, wait for
//! the reply, repeat). Prints messages/s and wall time.
//!
//! ```text
//! cargo run --release --example vppsim_raw_client -- \
//!     [--socket PATH] [--vips 1000] [--ases 64] [--weight 100] \
//!     [--mode pipelined|sequential|both] [--port 80]
//! ```
//! Without `--socket` an in-process simulator is started. Each mode uses
//! its own VIP port (`--port`, `--port`+1 for the second mode of `both`),
//! so both runs start from VIPs the server has not seen.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use vpp_maglev::sim::server::{SimHandle, SimOptions, Simulator};
use vpp_maglev::vpp::wire::frame::FrameReader;
use vpp_maglev::vpp::wire::lb::{LbAddDelAsV2, LbAddDelVipV2, LbEncapType};
use vpp_maglev::vpp::wire::memclnt::{SockclntCreate, SockclntCreateReply, SOCKCLNT_CREATE_ID};
use vpp_maglev::vpp::wire::table::{names, resolve};
use vpp_maglev::vpp::wire::{Message, MessageTable, MsgIds, Prefix, RetvalReply};

struct Args {
    socket: Option<PathBuf>,
    vips: u32,
    ases: u32,
    weight: u8,
    modes: Vec<&'static str>,
    port: u16,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        socket: None,
        vips: 1000,
        ases: 64,
        weight: 100,
        modes: vec!["pipelined"],
        port: 80,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--socket" => args.socket = Some(PathBuf::from(value()?)),
            "--vips" => args.vips = value()?.parse().map_err(|e| format!("--vips: {e}"))?,
            "--ases" => args.ases = value()?.parse().map_err(|e| format!("--ases: {e}"))?,
            "--weight" => args.weight = value()?.parse().map_err(|e| format!("--weight: {e}"))?,
            "--port" => args.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--mode" => {
                args.modes = match value()?.as_str() {
                    "pipelined" => vec!["pipelined"],
                    "sequential" => vec!["sequential"],
                    "both" => vec!["pipelined", "sequential"],
                    other => return Err(format!("unknown mode {other:?}")),
                }
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if args.vips > 65_536 || args.ases > 65_536 {
        return Err("at most 65536 VIPs and 65536 ASes per VIP".to_owned());
    }
    Ok(args)
}

struct Session {
    stream: UnixStream,
    reader: FrameReader,
    index: u32,
    ids: MsgIds,
}

impl Session {
    fn open(path: &std::path::Path) -> Result<Session, String> {
        let mut stream = UnixStream::connect(path).map_err(|e| format!("connect: {e}"))?;
        let mut out = Vec::new();
        SockclntCreate {
            context: 1,
            name: "vppsim_raw_client".to_owned(),
        }
        .emit_frame(SOCKCLNT_CREATE_ID, &mut out);
        stream.write_all(&out).map_err(|e| e.to_string())?;
        let mut reader = FrameReader::new();
        let body = read_body(&mut stream, &mut reader)?;
        let reply = SockclntCreateReply::parse(&body).map_err(|e| e.to_string())?;
        let ids = resolve(&MessageTable::from_reply(&reply)).map_err(|e| e.to_string())?;
        Ok(Session {
            stream,
            reader,
            index: reply.index,
            ids,
        })
    }

    fn next_body(&mut self) -> Result<Vec<u8>, String> {
        read_body(&mut self.stream, &mut self.reader)
    }
}

fn read_body(stream: &mut UnixStream, reader: &mut FrameReader) -> Result<Vec<u8>, String> {
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        if let Some(frame) = reader.next_frame() {
            return frame.map(|f| f.body).map_err(|e| e.to_string());
        }
        let n = stream.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("EOF".to_owned());
        }
        reader.push(&chunk[..n]);
    }
}

/// The request frames: each VIP, then its ASes.
fn requests(args: &Args, port: u16, ids: &MsgIds, index: u32) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    let mut context = 0x1000u32;
    for v in 0..args.vips {
        let vip = Ipv4Addr::from(0x0a00_0000 | v);
        let pfx = Prefix::new(IpAddr::V4(vip), 32);
        context += 1;
        let mut out = Vec::new();
        LbAddDelVipV2::gre(index, context, pfx, 6, port, LbEncapType::Gre4, false)
            .emit_frame(ids.lb_add_del_vip_v2, &mut out);
        frames.push(out);
        for a in 0..args.ases {
            context += 1;
            let mut out = Vec::new();
            LbAddDelAsV2 {
                client_index: index,
                context,
                pfx,
                protocol: 6,
                port,
                as_address: IpAddr::V4(Ipv4Addr::from(0xac10_0000 | a)),
                weight: args.weight,
                is_del: false,
                is_flush: false,
            }
            .emit_frame(ids.lb_add_del_as_v2, &mut out);
            frames.push(out);
        }
    }
    frames
}

struct RunResult {
    messages: usize,
    errors: usize,
    wall: Duration,
}

fn run_mode(session: &mut Session, frames: Vec<Vec<u8>>, mode: &str) -> Result<RunResult, String> {
    let messages = frames.len();
    let mut errors = 0;
    let started = Instant::now();
    let mut check = |body: Vec<u8>| -> Result<(), String> {
        let reply = RetvalReply::parse_as(names::LB_ADD_DEL_AS_V2_REPLY, &body)
            .map_err(|e| e.to_string())?;
        if reply.retval != 0 {
            errors += 1;
        }
        Ok(())
    };
    if mode == "pipelined" {
        let mut writer = session.stream.try_clone().map_err(|e| e.to_string())?;
        let sender = std::thread::spawn(move || -> std::io::Result<()> {
            let mut batch = Vec::with_capacity(64 * 1024);
            for frame in frames {
                batch.extend_from_slice(&frame);
                if batch.len() >= 60 * 1024 {
                    writer.write_all(&batch)?;
                    batch.clear();
                }
            }
            writer.write_all(&batch)
        });
        for _ in 0..messages {
            check(session.next_body()?)?;
        }
        sender
            .join()
            .map_err(|_| "writer panicked".to_owned())?
            .map_err(|e| e.to_string())?;
    } else {
        for frame in frames {
            session
                .stream
                .write_all(&frame)
                .map_err(|e| e.to_string())?;
            check(session.next_body()?)?;
        }
    }
    Ok(RunResult {
        messages,
        errors,
        wall: started.elapsed(),
    })
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("vppsim_raw_client: {e}");
            std::process::exit(2);
        }
    };
    let mut _local: Option<SimHandle> = None;
    let socket = match &args.socket {
        Some(path) => path.clone(),
        None => match Simulator::start(SimOptions::temp()) {
            Ok(sim) => {
                let path = sim.socket_path().to_owned();
                _local = Some(sim);
                path
            }
            Err(e) => {
                eprintln!("vppsim_raw_client: start simulator: {e}");
                std::process::exit(1);
            }
        },
    };
    for (i, mode) in args.modes.iter().enumerate() {
        let port = args.port.wrapping_add(i as u16);
        let outcome = Session::open(&socket).and_then(|mut session| {
            let frames = requests(&args, port, &session.ids, session.index);
            run_mode(&mut session, frames, mode)
        });
        match outcome {
            Ok(r) => println!(
                "mode={mode} vips={} ases={} weight={} messages={} errors={} wall_ms={:.1} msgs_per_s={:.0}",
                args.vips,
                args.ases,
                args.weight,
                r.messages,
                r.errors,
                r.wall.as_secs_f64() * 1e3,
                r.messages as f64 / r.wall.as_secs_f64()
            ),
            Err(e) => {
                eprintln!("vppsim_raw_client: {mode}: {e}");
                std::process::exit(1);
            }
        }
    }
}
