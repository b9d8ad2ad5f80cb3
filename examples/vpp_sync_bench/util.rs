//! Small helpers of the dataplane benchmark: errors as text, /proc CPU
//! readings, percentiles, the daemon's RFC 3339 log timestamps, and the
//! address plan shared by the raw client and the generated config.

use std::fmt::Display;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Errors of a benchmark step, already worded for the operator.
pub type R<T> = Result<T, String>;

/// Adds what was being done to an error.
pub trait Context<T> {
    fn ctx(self, what: &str) -> R<T>;
}

impl<T, E: Display> Context<T> for Result<T, E> {
    fn ctx(self, what: &str) -> R<T> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

/// AS `i` (0-based): 198.18.x.y (RFC 2544 benchmarking range, data only).
pub fn as_address(i: usize) -> IpAddr {
    let n = i + 1;
    IpAddr::V4(Ipv4Addr::new(198, 18, (n / 250) as u8, (n % 250) as u8 + 1))
}

/// VIP `j` (0-based): 198.19.x.y.
pub fn vip_address(j: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 19, (j / 250) as u8, (j % 250) as u8 + 1))
}

/// Probe-load backend `i`: its own loopback address, 127.20.0.1, … (as the
/// core probe benchmark does; nginx listens on all of them).
pub fn load_address(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        127,
        (20 + i / (254 * 256)) as u8,
        ((i / 254) % 256) as u8,
        (i % 254 + 1) as u8,
    ))
}

/// CPU time of a process: (utime+stime from /proc/PID/stat in clock ticks
/// converted to seconds, sum of the threads' schedstat run time in ns).
#[derive(Debug, Clone, Copy)]
pub struct Cpu {
    pub stat_secs: f64,
    pub sched_ns: u64,
}

impl Cpu {
    pub fn of(pid: u32) -> R<Cpu> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ctx("read /proc stat")?;
        // The command name may contain spaces: fields resume after the last ')'.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let tick = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        // SAFETY-free: sysconf through nix.
        let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
            .ok()
            .flatten()
            .unwrap_or(100) as f64;
        let stat_secs = (tick(11) + tick(12)) as f64 / hz;
        let mut sched_ns = 0;
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ctx("list /proc tasks")?;
        for task in tasks.flatten() {
            if let Ok(s) = std::fs::read_to_string(task.path().join("schedstat")) {
                sched_ns += s
                    .split_whitespace()
                    .next()
                    .and_then(|f| f.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
        Ok(Cpu {
            stat_secs,
            sched_ns,
        })
    }

    /// (stat seconds, schedstat seconds) spent since `earlier`.
    pub fn since(&self, earlier: &Cpu) -> (f64, f64) {
        (
            self.stat_secs - earlier.stat_secs,
            self.sched_ns.saturating_sub(earlier.sched_ns) as f64 / 1e9,
        )
    }
}

/// Percentile (nearest rank) of sorted values.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// Maps `Instant`s to wall-clock milliseconds (to compare recorder
/// arrivals with the daemon's log timestamps).
pub struct ClockAnchor {
    instant: Instant,
    unix_ns: u128,
}

impl ClockAnchor {
    pub fn now() -> ClockAnchor {
        let instant = Instant::now();
        let unix_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        ClockAnchor { instant, unix_ns }
    }

    /// Unix time of `at` in milliseconds (fractional).
    pub fn unix_ms(&self, at: Instant) -> f64 {
        let ns = if at >= self.instant {
            self.unix_ns + at.duration_since(self.instant).as_nanos()
        } else {
            self.unix_ns - self.instant.duration_since(at).as_nanos()
        };
        ns as f64 / 1e6
    }
}

/// Unix milliseconds of a `ts=2026-11-22T03:17:15.123Z` log field.
pub fn parse_log_ts(line: &str) -> Option<u64> {
    let ts = line.strip_prefix("ts=")?.split(' ').next()?;
    let num = |s: &str| s.parse::<i64>().ok();
    let (date, time) = ts.trim_end_matches('Z').split_once('T')?;
    let mut d = date.split('-');
    let (y, m, day) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    let mut t = time.split(':');
    let (h, min) = (num(t.next()?)?, num(t.next()?)?);
    let (s, frac) = t
        .next()?
        .split_once('.')
        .unwrap_or((t.next().unwrap_or("0"), "0"));
    let (s, millis) = (num(s)?, num(&format!("{frac:0<3}")[..3])?);
    // Days from civil (H. Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(((days * 24 + h) * 60 + min) * 60 * 1000 + s * 1000 + millis).ok()
}

/// The value of `key=` in a logfmt line.
pub fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!(" {key}=");
    let start = line.find(&pat)? + pat.len();
    line.get(start..)?.split(' ').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_timestamps_parse() {
        assert_eq!(
            parse_log_ts("ts=1970-01-01T00:00:01.250Z level=info"),
            Some(1250)
        );
        assert_eq!(
            parse_log_ts("ts=2000-03-01T00:00:00.000Z x"),
            Some(951_868_800_000)
        );
    }
}
