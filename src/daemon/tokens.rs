//! How the loop's `mio::Token` space and timer keys are carved up.

use mio::Token;

pub const SIGNALS: Token = Token(0);
pub const CONTROL_LISTENER: Token = Token(1);
pub const METRICS_LISTENER: Token = Token(2);
pub const VPP_API: Token = Token(3);
pub const VPP_STATS: Token = Token(4);
/// ICMP sockets (one per family, source and namespace).
pub const ICMP_BASE: usize = 1 << 8;
pub const ICMP_END: usize = 1 << 12;
/// Metrics HTTP clients.
pub const METRICS_CLIENT_BASE: usize = 1 << 16;
/// Control-socket clients.
pub const CONTROL_CLIENT_BASE: usize = 1 << 24;
/// Probe sockets: `PROBE_BASE + id` of the socket in the checker's pool.
pub const PROBE_BASE: usize = 1 << 32;

/// Everything that can sit in the timer heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKey {
    /// Start the next probe of a backend slot.
    Probe { slot: u32, gen: u32 },
    /// Warmup poll (250 ms during the release phase).
    Warmup,
    /// Periodic full VPP sync.
    VppSync { gen: u32 },
    /// VPP liveness ping.
    VppPing { gen: u32 },
    /// A VPP request deadline check.
    VppRequestDeadline { gen: u32 },
    /// Reconnect to VPP.
    VppReconnect { gen: u32 },
    /// LB counter scrape.
    StatsScrape { gen: u32 },
}
