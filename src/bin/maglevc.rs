//! maglevc: a small client for maglevd's control socket.
//!
//! `maglevc [--socket PATH] COMMAND...` sends one command and prints the
//! reply: exit 0 on success, 1 on an `ERR` reply, 2 when the daemon cannot be
//! reached. Without a command it reads commands from standard input, one per
//! line, and prints each reply (a `watch` streams until Enter or EOF).

use std::io::{self, BufRead, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::ExitCode;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

const DEFAULT_SOCKET: &str = "/run/vpp-maglev/maglevd.sock";

const USAGE: &str = "usage: maglevc [--socket PATH] [COMMAND...]
  --socket PATH   control socket [MAGLEV_CONTROL_SOCKET, /run/vpp-maglev/maglevd.sock]
  --version       print the version
With no COMMAND, read commands from standard input. 'help' lists the commands.";

enum Outcome {
    Ok,
    ErrorReply,
    Unreachable(String),
}

fn main() -> ExitCode {
    let mut socket = std::env::var("MAGLEV_CONTROL_SOCKET")
        .ok()
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET));
    let mut words = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--socket" | "-s" => match args.next() {
                Some(p) => socket = PathBuf::from(p),
                None => {
                    eprintln!("maglevc: --socket needs a path");
                    return ExitCode::from(2);
                }
            },
            s if s.starts_with("--socket=") => socket = PathBuf::from(&s[9..]),
            "--version" | "-V" if words.is_empty() => {
                println!("maglevc {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            "--help" | "-h" if words.is_empty() => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => words.push(a),
        }
    }
    if !words.is_empty() {
        return match run_one(&socket, &words.join(" "), false) {
            Outcome::Ok => ExitCode::SUCCESS,
            Outcome::ErrorReply => ExitCode::from(1),
            Outcome::Unreachable(e) => {
                eprintln!("maglevc: cannot reach maglevd at {}: {e}", socket.display());
                ExitCode::from(2)
            }
        };
    }
    interactive(&socket)
}

fn interactive(socket: &PathBuf) -> ExitCode {
    let tty = nix::unistd::isatty(io::stdin().as_raw_fd()).unwrap_or(false);
    if tty {
        println!(
            "maglevc {} connected to {} ('help' for commands, 'quit' to leave)",
            env!("CARGO_PKG_VERSION"),
            socket.display()
        );
    }
    let stdin = io::stdin();
    let mut last = ExitCode::SUCCESS;
    loop {
        if tty {
            print!("maglev> ");
            let _ = io::stdout().flush();
        }
        let mut line = String::new();
        match stdin.lock().read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let cmd = line.trim();
        if cmd.is_empty() {
            continue;
        }
        if cmd == "quit" || cmd == "exit" {
            break;
        }
        // Only a watch is cut short by stdin: for any other command, a
        // readable stdin (the next piped command, or EOF) must not abort
        // the reply.
        last = match run_one(socket, cmd, is_watch(cmd)) {
            Outcome::Ok => ExitCode::SUCCESS,
            Outcome::ErrorReply => ExitCode::from(1),
            Outcome::Unreachable(e) => {
                eprintln!("maglevc: cannot reach maglevd at {}: {e}", socket.display());
                ExitCode::from(2)
            }
        };
    }
    last
}

/// Whether `cmd` streams (`watch events …`, in any abbreviation).
fn is_watch(cmd: &str) -> bool {
    matches!(
        vpp_maglev::control::grammar::parse(cmd),
        Ok(vpp_maglev::control::grammar::Request {
            command: vpp_maglev::control::grammar::Command::Watch(_),
            ..
        })
    )
}

/// Send one command on a fresh connection and copy the reply to stdout.
/// In the shell, a `watch` is stopped by Enter (or EOF) on stdin.
fn run_one(socket: &PathBuf, cmd: &str, stop_on_stdin: bool) -> Outcome {
    let mut stream = match UnixStream::connect(socket) {
        Ok(s) => s,
        Err(e) => return Outcome::Unreachable(e.to_string()),
    };
    if let Err(e) = stream.write_all(format!("{cmd}\n").as_bytes()) {
        return Outcome::Unreachable(e.to_string());
    }
    let mut out = io::stdout();
    let mut error = false;
    let mut at_line_start = true;
    let mut buf = [0u8; 16 * 1024];
    let stdin = io::stdin();
    loop {
        if stop_on_stdin {
            let mut fds = [
                PollFd::new(stream.as_fd(), PollFlags::POLLIN),
                PollFd::new(stdin.as_fd(), PollFlags::POLLIN),
            ];
            if poll(&mut fds, PollTimeout::NONE).is_err() {
                break;
            }
            let stdin_ready = fds[1].revents().is_some_and(|r| !r.is_empty());
            let sock_ready = fds[0].revents().is_some_and(|r| !r.is_empty());
            if stdin_ready && !sock_ready {
                let mut l = String::new();
                let _ = stdin.lock().read_line(&mut l);
                break;
            }
        }
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let chunk = &buf[..n];
                // An error reply is a line starting with "ERR ".
                for (i, &b) in chunk.iter().enumerate() {
                    if at_line_start && chunk[i..].starts_with(b"ERR") {
                        error = true;
                    }
                    at_line_start = b == b'\n';
                }
                if out.write_all(chunk).is_err() {
                    break;
                }
                let _ = out.flush();
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    if error {
        Outcome::ErrorReply
    } else {
        Outcome::Ok
    }
}
