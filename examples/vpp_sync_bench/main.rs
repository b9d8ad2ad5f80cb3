//! Dataplane benchmarks of maglevd against the in-process VPP simulator
//! (scripts/bench/README.md). Not a test: it prints figures.
//!
//! ```text
//! vpp_sync_bench --maglevd target/release/maglevd [--reps 3] [--vips 1000]
//!     [--ases 64] [--weight 100] [--passes 20] [--flips 1000]
//!     [--load 10000] [--only raw,sync,steady,reaction]
//!     [--sim-priority realtime|normal]
//! ```
//!
//! 1. full sync from empty, maglevd vs a raw client (pipelined and one at a
//!    time); 2. steady periodic pass over the converged VIPs (CPU, writes);
//!    3. reaction latency of a flipping backend under probe load.

mod daemon;
mod raw;
mod reaction;
mod util;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use vpp_maglev::sim::server::{SimHandle, SimOptions, Simulator};

use daemon::{config_yaml, Daemon, Plan};
use util::{field, ms, parse_log_ts, percentile, us, ClockAnchor, Context, R};

const LB_WRITES: [&str; 3] = ["lb_add_del_vip_v2", "lb_add_del_as_v2", "lb_as_set_weight"];

struct Opts {
    maglevd: PathBuf,
    reps: usize,
    vips: usize,
    ases: usize,
    weight: u8,
    passes: usize,
    flips: usize,
    load: usize,
    nginx_port: u16,
    only: Option<String>,
    work: PathBuf,
    /// Run the simulator's thread SCHED_FIFO in the reaction section.
    sim_realtime: bool,
}

fn parse_opts() -> R<Opts> {
    let mut o = Opts {
        maglevd: PathBuf::from("target/release/maglevd"),
        reps: 3,
        vips: 1000,
        ases: 64,
        weight: 100,
        passes: 20,
        flips: 1000,
        load: 10_000,
        nginx_port: 18080,
        only: None,
        work: std::env::temp_dir().join(format!("maglev-vppbench-{}", std::process::id())),
        sim_realtime: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |v: String| v.parse::<usize>().map_err(|e| format!("{v}: {e}"));
        match flag.as_str() {
            "--maglevd" => o.maglevd = PathBuf::from(value()?),
            "--reps" => o.reps = num(value()?)?,
            "--vips" => o.vips = num(value()?)?,
            "--ases" => o.ases = num(value()?)?,
            "--weight" => o.weight = u8::try_from(num(value()?)?).ctx("--weight")?,
            "--passes" => o.passes = num(value()?)?,
            "--flips" => o.flips = num(value()?)?,
            "--load" => o.load = num(value()?)?,
            "--nginx-port" => o.nginx_port = u16::try_from(num(value()?)?).ctx("--nginx-port")?,
            "--only" => o.only = Some(value()?),
            "--work" => o.work = PathBuf::from(value()?),
            "--sim-priority" => {
                o.sim_realtime = match value()?.as_str() {
                    "realtime" => true,
                    "normal" => false,
                    v => return Err(format!("--sim-priority {v}: expected realtime or normal")),
                }
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(o)
}

fn start_sim(path: &Path) -> R<SimHandle> {
    let mut opts = SimOptions::new(path);
    opts.record_capacity = 400_000;
    Simulator::start(opts).ctx("start vppsim")
}

fn main() {
    let code = match parse_opts().and_then(|o| run(&o)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("vpp_sync_bench: {e}");
            1
        }
    };
    std::process::exit(code);
}

fn wants(o: &Opts, part: &str) -> bool {
    o.only
        .as_deref()
        .map_or(true, |p| p.split(',').any(|p| p == part))
}

fn run(o: &Opts) -> R<()> {
    std::fs::create_dir_all(&o.work).ctx("work dir")?;
    let calls = o.vips * (o.ases + 1);
    println!(
        "# vpp_sync_bench: {} VIPs x {} ASes (weight {}) = {calls} lb add calls; cpus {}; loadavg {}",
        o.vips,
        o.ases,
        o.weight,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    let mut table: Vec<(String, String)> = Vec::new();
    if wants(o, "raw") {
        raw_section(o, calls, &mut table)?;
    }
    if wants(o, "sync") || wants(o, "steady") {
        sync_section(o, calls, &mut table)?;
    }
    if wants(o, "reaction") {
        reaction_section(o, &mut table)?;
    }
    println!("\n## Summary");
    let width = table
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    for (k, v) in &table {
        println!("{k:<width$}  {v}");
    }
    let _ = std::fs::remove_dir_all(&o.work);
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// The first and last lb write arrivals and how many there were.
fn write_span(sim: &SimHandle) -> Option<(Instant, Instant, usize)> {
    let recs: Vec<_> = sim
        .records()
        .into_iter()
        .filter(|r| LB_WRITES.contains(&r.name.as_str()))
        .collect();
    Some((recs.first()?.at, recs.last()?.at, recs.len()))
}

fn raw_section(o: &Opts, calls: usize, table: &mut Vec<(String, String)>) -> R<()> {
    println!("\n## Raw client (simulator limit)");
    let mut rates = Vec::new();
    for rep in 0..o.reps {
        let sock = o.work.join(format!("raw-{rep}.sock"));
        let sim = start_sim(&sock)?;
        let r = raw::run_pipelined(&sock, o.vips, o.ases, o.weight)?;
        let (first, last, n) = write_span(&sim).ok_or("raw: no lb writes recorded")?;
        let wall = r.last_reply.saturating_duration_since(first);
        let rate = r.calls as f64 / wall.as_secs_f64();
        println!(
            "raw pipelined rep {rep}: calls {} (recorded {n}, errors {}), first arrival -> last reply {}, \
             client first write -> last reply {}, arrival span {}, {rate:.0} msg/s",
            r.calls,
            r.errors,
            ms(wall),
            ms(r.last_reply.saturating_duration_since(r.first_write)),
            ms(last.saturating_duration_since(first)),
        );
        rates.push(rate);
    }
    let piped = median(rates);
    table.push((
        "raw pipelined, msg/s (median)".into(),
        format!("{piped:.0} ({:.2} s for {calls})", calls as f64 / piped),
    ));
    let sock = o.work.join("raw-lockstep.sock");
    let sim = start_sim(&sock)?;
    let r = raw::run_lockstep(&sock, o.vips, o.ases, o.weight)?;
    let (first, _, _) = write_span(&sim).ok_or("raw: no lb writes recorded")?;
    let wall = r.last_reply.saturating_duration_since(first);
    let lock = r.calls as f64 / wall.as_secs_f64();
    println!(
        "raw one-at-a-time: calls {} (errors {}), first arrival -> last reply {}, {lock:.0} msg/s, {} per call",
        r.calls,
        r.errors,
        ms(wall),
        us(wall / r.calls.max(1) as u32)
    );
    table.push((
        "raw one-at-a-time, msg/s".into(),
        format!("{lock:.0} ({:.2} s)", wall.as_secs_f64()),
    ));
    table.push((
        "raw pipelined / one-at-a-time".into(),
        format!("{:.1}x", piped / lock),
    ));
    RAW_RATE.with(|c| c.set(piped));
    Ok(())
}

thread_local! {
    static RAW_RATE: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
}

/// One maglevd full sync from empty: returns the daemon and sim (converged).
fn one_sync(o: &Opts, rep: usize, calls: usize) -> R<(Daemon, SimHandle, f64)> {
    let dir = o.work.join(format!("sync-{rep}"));
    std::fs::create_dir_all(&dir).ctx("dir")?;
    let sock = dir.join("vpp-api.sock");
    let plan = Plan {
        vips: o.vips,
        ases: o.ases,
        weight: o.weight,
        load_backends: 0,
        nginx_port: o.nginx_port,
        flip: None,
        sync_interval: "0s",
    };
    // The daemon starts first (and retries the missing socket), so the CPU
    // reading below covers the sync, not config loading.
    let d = Daemon::start(&o.maglevd, &dir, &config_yaml(&sock, &plan))?;
    let cpu0 = d.cpu()?;
    let anchor = ClockAnchor::now();
    let sim = start_sim(&sock)?;
    let line = d.wait_log(
        &["event=vpp-lbsync", "scope=all", "trigger=connect"],
        Duration::from_secs(600),
    )?;
    let cpu1 = d.cpu()?;
    let done_ms = parse_log_ts(&line).ok_or("bad log timestamp")? as f64;
    let (first, last, n) = write_span(&sim).ok_or("maglevd: no lb writes recorded")?;
    let wall_ms = done_ms - anchor.unix_ms(first);
    let rate = n as f64 / (wall_ms / 1e3);
    let (stat, sched) = cpu1.since(&cpu0);
    println!(
        "maglevd rep {rep}: writes {n}/{calls}, first write arrival -> vpp-lbsync logged {wall_ms:.0} ms (log ts in ms), \
         arrival span {}, {rate:.0} msg/s; maglevd CPU connect..done {stat:.2} s (schedstat {sched:.3} s); \
         as_added={} errors={}",
        ms(last.saturating_duration_since(first)),
        field(&line, "as_added").unwrap_or("?"),
        field(&line, "errors").unwrap_or("?"),
    );
    if n != calls || field(&line, "errors") != Some("0") {
        println!("  WARNING: incomplete or failed sync: {line}");
    }
    Ok((d, sim, rate))
}

fn sync_section(o: &Opts, calls: usize, table: &mut Vec<(String, String)>) -> R<()> {
    println!("\n## maglevd full sync from empty");
    let reps = if wants(o, "sync") { o.reps } else { 1 };
    let mut rates = Vec::new();
    let mut last = None;
    for rep in 0..reps {
        if let Some((d, _sim)) = last.take() {
            Daemon::stop(d);
        }
        let (d, sim, rate) = one_sync(o, rep, calls)?;
        rates.push(rate);
        last = Some((d, sim));
    }
    let rate = median(rates);
    table.push((
        "maglevd full sync, msg/s (median)".into(),
        format!("{rate:.0} ({:.2} s for {calls})", calls as f64 / rate),
    ));
    let raw = RAW_RATE.with(|c| c.get());
    if raw > 0.0 {
        table.push((
            "maglevd / raw pipelined (target >= 0.9)".into(),
            format!("{:.2}", rate / raw),
        ));
    }
    let Some((d, sim)) = last else {
        return Ok(());
    };
    if wants(o, "steady") {
        steady(o, &d, &sim, table)?;
    }
    d.stop();
    Ok(())
}

/// Operator-triggered full passes over the converged state (the periodic
/// sync runs the same code: read, plan, nothing to send).
fn steady(o: &Opts, d: &Daemon, sim: &SimHandle, table: &mut Vec<(String, String)>) -> R<()> {
    println!("\n## Steady full pass over {} converged VIPs", o.vips);
    sim.clear_records();
    let mut cpu_sched = Vec::new();
    let mut walls = Vec::new();
    let total0 = d.cpu()?;
    for pass in 0..o.passes {
        let c0 = d.cpu()?;
        let t0 = Instant::now();
        let reply = d.cmd("sync vpp lb state")?;
        let wall = t0.elapsed();
        let c1 = d.cpu()?;
        if !reply.contains("changes 0") {
            println!("  pass {pass}: unexpected reply {reply:?}");
        }
        cpu_sched.push(c1.since(&c0).1);
        walls.push(wall.as_secs_f64());
    }
    let total1 = d.cpu()?;
    let writes = sim
        .records()
        .iter()
        .filter(|r| LB_WRITES.contains(&r.name.as_str()))
        .count();
    let reads: Vec<String> = sim.records().iter().map(|r| r.name.clone()).collect();
    let (stat_total, _) = total1.since(&total0);
    let per_pass_stat = stat_total / o.passes.max(1) as f64;
    let sched = median(cpu_sched);
    println!(
        "passes {}: CPU per pass (schedstat median) {:.1} ms, (utime+stime total / passes) {:.1} ms, \
         wall per pass (median) {:.1} ms; requests received {} ({} per pass), lb write calls {writes}",
        o.passes,
        sched * 1e3,
        per_pass_stat * 1e3,
        median(walls) * 1e3,
        reads.len(),
        reads.len() / o.passes.max(1),
    );
    table.push((
        "steady pass: maglevd CPU (schedstat median)".into(),
        format!("{:.1} ms", sched * 1e3),
    ));
    table.push((
        "steady pass: maglevd CPU (utime+stime avg)".into(),
        format!("{:.1} ms", per_pass_stat * 1e3),
    ));
    table.push((
        "steady pass: lb write calls".into(),
        format!("{writes} over {} passes", o.passes),
    ));
    Ok(())
}

fn reaction_section(o: &Opts, table: &mut Vec<(String, String)>) -> R<()> {
    println!(
        "\n## Reaction latency ({} flips, probe load {} HTTP backends at 1 s)",
        o.flips, o.load
    );
    let dir = o.work.join("reaction");
    std::fs::create_dir_all(&dir).ctx("dir")?;
    let _nginx = if o.load > 0 {
        Some(reaction::Nginx::start(&dir, o.nginx_port)?)
    } else {
        None
    };
    let server = reaction::FlipServer::start("127.50.0.1".parse().ctx("addr")?)?;
    let sock = dir.join("vpp-api.sock");
    let sim = start_sim(&sock)?;
    // VPP's main thread, which reads the API socket, has a core of its own
    // on a router. Here the simulator shares two CPUs with nginx serving
    // the probe load and with maglevd, and at normal priority its own
    // wake-up (up to a scheduler slice, 1.5-3 ms) dominated the p99.
    let sim_priority = if o.sim_realtime {
        match reaction::make_thread_realtime("vppsim") {
            Ok(()) => "SCHED_FIFO 1 (VPP's main thread has a core of its own)",
            Err(e) => {
                println!("simulator thread stays at normal priority: {e}");
                "normal (SCHED_FIFO refused)"
            }
        }
    } else {
        "normal"
    };
    println!("simulator thread priority: {sim_priority}; maglevd: normal");
    let plan = Plan {
        vips: o.vips,
        ases: o.ases,
        weight: o.weight,
        load_backends: o.load,
        nginx_port: o.nginx_port,
        flip: Some((server.addr.ip(), server.addr.port())),
        sync_interval: "0s",
    };
    let d = Daemon::start(&o.maglevd, &dir, &config_yaml(&sock, &plan))?;
    d.wait_log(
        &["event=vpp-lbsync", "scope=all", "trigger=connect"],
        Duration::from_secs(600),
    )?;
    // Let the probe load reach its steady rate (rise 2 at 1 s).
    let settle = Instant::now() + Duration::from_secs(if o.load > 0 { 8 } else { 1 });
    while Instant::now() < settle {
        std::thread::sleep(Duration::from_millis(100));
    }
    let backends = d.cmd("show backends")?;
    let up = backends
        .lines()
        .filter(|l| l.split_whitespace().nth(2) == Some("up"))
        .count();
    println!(
        "backends up before measuring: {up} of {}",
        o.load + o.ases + 1
    );
    // Make sure the flip backend is up and programmed with its weight.
    reaction::flip_once(&sim, &server, true, o.weight).ok();
    let cpu0 = d.cpu()?;
    let t0 = Instant::now();
    let responses0 = server.responses();
    let mut down_e2e = Vec::new();
    let mut down_inner = Vec::new();
    let mut up_inner = Vec::new();
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let anchor = ClockAnchor::now();
    let mut downs = Vec::new();
    for _ in 0..o.flips {
        // De-correlate the toggle from the 10 ms probe schedule.
        rng = rng
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        std::thread::sleep(Duration::from_micros((rng >> 33) % 10_000));
        let down = reaction::flip_once(&sim, &server, false, 0)?;
        down_e2e.push(down.end_to_end);
        downs.push((
            down.result_at.map(|w| anchor.unix_ms(w)),
            anchor.unix_ms(down.arrived),
        ));
        if let Some(x) = down.from_result {
            down_inner.push(x);
        }
        let up = reaction::flip_once(&sim, &server, true, o.weight)?;
        if let Some(x) = up.from_result {
            up_inner.push(x);
        }
    }
    let elapsed = t0.elapsed();
    let (stat, _) = d.cpu()?.since(&cpu0);
    for v in [&mut down_e2e, &mut down_inner, &mut up_inner] {
        v.sort();
    }
    let fmt = |v: &[Duration]| {
        format!(
            "p50 {} p99 {} max {} (n={})",
            us(percentile(v, 50.0)),
            us(percentile(v, 99.0)),
            us(percentile(v, 100.0)),
            v.len()
        )
    };
    println!(
        "down, end-to-end (toggle -> frame):         {}",
        fmt(&down_e2e)
    );
    println!(
        "down, probe result -> frame at vppsim:      {}",
        fmt(&down_inner)
    );
    println!(
        "up,   probe result -> frame at vppsim:      {}",
        fmt(&up_inner)
    );
    println!(
        "maglevd CPU during the flips: {stat:.2} s over {:.1} s ({:.0}% of one core); flip probes answered {}",
        elapsed.as_secs_f64(),
        100.0 * stat / elapsed.as_secs_f64(),
        server.responses() - responses0
    );
    attribute_slow_flips(&d, &downs);
    table.push((
        "reaction down, probe result -> frame p50/p99".into(),
        format!(
            "{} / {} (target p99 < 1 ms)",
            us(percentile(&down_inner, 50.0)),
            us(percentile(&down_inner, 99.0))
        ),
    ));
    table.push((
        "reaction down, end-to-end p50/p99".into(),
        format!(
            "{} / {}",
            us(percentile(&down_e2e, 50.0)),
            us(percentile(&down_e2e, 99.0))
        ),
    ));
    d.stop();
    Ok(())
}

/// Splits the slow down flips (probe result -> frame over 1 ms) at the
/// daemon's `backend-transition` log timestamp (ms resolution): before it,
/// the response waited to be read and judged; after it, the frame waited to
/// be sent and read by vppsim.
fn attribute_slow_flips(d: &Daemon, downs: &[(Option<f64>, f64)]) {
    let logged: Vec<f64> = d
        .log_text()
        .lines()
        .filter(|l| l.contains("event=backend-transition backend=flip ") && l.contains(" to=down"))
        .filter_map(|l| parse_log_ts(l).map(|t| t as f64))
        .collect();
    // The last `downs.len()` transitions are the measured ones.
    let Some(logged) = logged.get(logged.len().saturating_sub(downs.len())..) else {
        return;
    };
    if logged.len() != downs.len() {
        println!(
            "attribution skipped: {} down transitions logged for {} flips",
            logged.len(),
            downs.len()
        );
        return;
    }
    let (mut before, mut after, mut slow) = (0, 0, 0);
    let (mut before_ms, mut after_ms) = (Vec::new(), Vec::new());
    for ((result, arrived), log_ms) in downs.iter().zip(logged) {
        let Some(result) = result else { continue };
        if arrived - result <= 1.0 {
            continue;
        }
        slow += 1;
        // The log time is truncated to the ms: allow 1 ms either way.
        let pre = log_ms - result;
        let post = arrived - log_ms;
        before_ms.push(pre);
        after_ms.push(post);
        if pre > post {
            before += 1;
        } else {
            after += 1;
        }
    }
    println!(
        "slow down flips (> 1 ms): {slow}; delay mostly before the transition was logged \
         (response read/judged late): {before}, mostly after (send -> vppsim read): {after}; \
         median before {:.1} ms, after {:.1} ms (log ts truncated to ms)",
        median(before_ms),
        median(after_ms)
    );
}
