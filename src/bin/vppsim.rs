//! vppsim: the VPP simulator in the foreground, for benchmarks and the demo.
//!
//! `vppsim --api-socket PATH [--stats-socket PATH] [--record FILE]
//! [--log-level L]` serves VPP's binary API (lb plugin) on PATH, and with
//! `--stats-socket` a stats segment like VPP's, until SIGTERM or SIGINT,
//! then closes every connection and unlinks the sockets. Logs are logfmt lines on stderr
//! (`event=vppsim-request msg=… fields=…` at debug).

use std::path::PathBuf;
use std::process::ExitCode;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use vpp_maglev::logging::{self, LogOptions};
use vpp_maglev::sim::server::handler::VERSION;
use vpp_maglev::sim::server::{SimOptions, Simulator};

const USAGE: &str =
    "usage: vppsim --api-socket PATH [--stats-socket PATH] [--record FILE] [--log-level LEVEL]
  --api-socket PATH   the binary-API socket to serve (like VPP's socksvr socket-name)
  --stats-socket PATH serve a stats segment there (like VPP's statseg socket-name)
  --record FILE       append one line per received request to FILE
  --log-level LEVEL   error|warn|info|debug|trace or an env_logger filter [info]
  --version           print the version";

struct Args {
    socket: PathBuf,
    stats_socket: Option<PathBuf>,
    record: Option<PathBuf>,
    log_level: String,
}

enum Parsed {
    Run(Args),
    Exit(ExitCode),
}

fn parse_args() -> Parsed {
    let mut socket = None;
    let mut stats_socket = None;
    let mut record = None;
    let mut log_level = "info".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or(name.to_owned())
        };
        let result = match flag.as_str() {
            "--api-socket" => value("--api-socket").map(|v| socket = Some(PathBuf::from(v))),
            "--stats-socket" => {
                value("--stats-socket").map(|v| stats_socket = Some(PathBuf::from(v)))
            }
            "--record" => value("--record").map(|v| record = Some(PathBuf::from(v))),
            "--log-level" => value("--log-level").map(|v| log_level = v),
            "--version" | "-V" => {
                println!(
                    "vppsim {} (vpp-maglev; simulates vpp v{VERSION}, lb API 1.2.0)",
                    env!("CARGO_PKG_VERSION")
                );
                return Parsed::Exit(ExitCode::SUCCESS);
            }
            "--help" | "-h" => {
                println!("{USAGE}");
                return Parsed::Exit(ExitCode::SUCCESS);
            }
            _ => {
                eprintln!("vppsim: unknown argument {arg:?}\n{USAGE}");
                return Parsed::Exit(ExitCode::from(2));
            }
        };
        if let Err(name) = result {
            eprintln!("vppsim: {name} needs a value\n{USAGE}");
            return Parsed::Exit(ExitCode::from(2));
        }
    }
    match socket {
        Some(socket) => Parsed::Run(Args {
            socket,
            stats_socket,
            record,
            log_level,
        }),
        None => {
            eprintln!("vppsim: --api-socket is required\n{USAGE}");
            Parsed::Exit(ExitCode::from(2))
        }
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Parsed::Run(args) => args,
        Parsed::Exit(code) => return code,
    };
    if let Err(e) = logging::init(&LogOptions {
        filter: args.log_level.clone(),
        file: None,
    }) {
        eprintln!("vppsim: logging: {e}");
        return ExitCode::from(1);
    }
    let code = run(args);
    logging::shutdown();
    code
}

fn run(args: Args) -> ExitCode {
    // Signals first, so a SIGTERM right after start is not lost.
    let mut signals = match Signals::new([SIGTERM, SIGINT]) {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("vppsim: install signal handlers: {e}");
            return ExitCode::from(1);
        }
    };
    let mut opts = SimOptions::new(&args.socket);
    opts.record_file = args.record;
    opts.stats_socket_path = args.stats_socket;
    let mut sim = match Simulator::start(opts) {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("vppsim: serve {}: {e}", args.socket.display());
            return ExitCode::from(1);
        }
    };
    if let Some(signal) = signals.forever().next() {
        vpp_maglev::logev!(log::Level::Info, "vppsim-signal", signal = signal);
    }
    sim.stop();
    ExitCode::SUCCESS
}
