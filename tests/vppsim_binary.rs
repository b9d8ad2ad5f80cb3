//! The `vppsim` binary: serves the API on `--api-socket`, logs requests at
//! debug, records them with `--record`, serves a stats segment on
//! `--stats-socket`, exits 0 on SIGTERM and unlinks the sockets.

mod vppsim_client;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use vpp_maglev::vpp::stats::{connect_blocking, read_boottime, DirectoryIndex, ReadPolicy};
use vpp_maglev::vpp::wire::memclnt::{ControlPing, ControlPingReply};
use vpp_maglev::vpp::wire::table::names;
use vpp_maglev::vpp::wire::Message;
use vppsim_client::Client;

#[test]
fn serves_logs_records_and_exits_cleanly_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("vppsim-bin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("api.sock");
    let record = dir.join("requests.txt");
    let stats = dir.join("stats.sock");
    let mut child = Command::new(env!("CARGO_BIN_EXE_vppsim"))
        .arg("--api-socket")
        .arg(&socket)
        .arg("--stats-socket")
        .arg(&stats)
        .arg("--record")
        .arg(&record)
        .args(["--log-level", "debug"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut next_event = |event: &str| -> String {
        for line in stderr.by_ref() {
            let line = line.unwrap();
            if line.contains(&format!("event={event} "))
                || line.ends_with(&format!("event={event}"))
            {
                return line;
            }
        }
        panic!("vppsim exited before logging {event}");
    };
    let listening = next_event("vppsim-listening");
    assert!(
        listening.contains(&format!("vpe_pid={}", child.id())),
        "{listening}"
    );

    let mut client = Client::open(&socket);
    let id = client.id(names::CONTROL_PING);
    let index = client.index;
    client.send(
        &ControlPing {
            client_index: index,
            context: 5,
        },
        id,
    );
    let reply = ControlPingReply::parse(&client.recv().unwrap().body).unwrap();
    assert_eq!((reply.context, reply.vpe_pid), (5, child.id()));
    let segment = connect_blocking(&stats, Duration::from_secs(5)).unwrap();
    let boottime = read_boottime(&segment, &mut DirectoryIndex::new(), ReadPolicy::default());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        boottime.unwrap().abs_diff(now) < 60,
        "boottime is the start"
    );
    let logged = next_event("vppsim-request");
    assert!(logged.contains("msg=sockclnt_create"), "{logged}");
    let logged = next_event("vppsim-request");
    assert!(logged.contains("msg=control_ping"), "{logged}");

    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    next_event("vppsim-stopped");
    assert!(child.wait().unwrap().success());
    assert!(!socket.exists(), "socket unlinked");
    assert!(!stats.exists(), "stats socket unlinked");
    let recorded = std::fs::read_to_string(&record).unwrap();
    let names: Vec<&str> = recorded
        .lines()
        .map(|l| {
            l.split_whitespace()
                .find(|f| f.starts_with("msg="))
                .unwrap()
        })
        .collect();
    assert_eq!(names, ["msg=sockclnt_create", "msg=control_ping"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn version_and_usage() {
    let out = Command::new(env!("CARGO_BIN_EXE_vppsim"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("vppsim "));
    let out = Command::new(env!("CARGO_BIN_EXE_vppsim")).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "--api-socket is required");
}
