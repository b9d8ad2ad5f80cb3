//! What the dataplane shows the control socket: `show vpp info`,
//! `show vpp lb state` (VPP's view with our desired weights beside it) and
//! `show vpp lb counters`.

use super::ops::{read_requests, Op, ReadPurpose, ReadResult};
use super::*;
use crate::control::view::{AsView, LbStateView, VipView, VppInfoView};

impl Dataplane {
    /// `show vpp lb counters [FRONTEND]`.
    pub fn counters_view(
        &self,
        cfg: &Config,
        frontend: Option<&str>,
    ) -> Result<Vec<crate::control::view::LbCounterView>, String> {
        if self.link != Link::Up {
            return Err(self.unavailable().to_string());
        }
        let only = match frontend {
            Some(f) => Some(
                cfg.frontends
                    .get(f)
                    .map(desired::vip_key)
                    .ok_or_else(|| format!("unknown frontend '{f}'"))?,
            ),
            None => None,
        };
        Ok(self
            .stats
            .snapshot()
            .iter()
            .filter(|(k, _)| only.map_or(true, |o| o == *k))
            .map(|(k, c)| crate::control::view::LbCounterView {
                vip: k.addr().to_string(),
                protocol: stats::protocol_label(k.protocol()).to_string(),
                port: k.port(),
                first: c.first,
                next: c.next,
                untracked: c.untracked,
                no_server: c.no_server,
                fib_packets: c.fib_packets,
                fib_bytes: c.fib_bytes,
            })
            .collect())
    }

    /// `show vpp lb state`: read VPP afresh, reply when the read completes.
    pub fn show_lb_state(
        &mut self,
        ctx: &mut Ctx<'_>,
        client: u64,
        json: bool,
    ) -> Result<(), &'static str> {
        if self.link != Link::Up {
            return Err(self.unavailable());
        }
        self.send_op(
            ctx,
            Op::Read {
                purpose: ReadPurpose::Show { client, json },
                vips: None,
                ases: None,
                cli: None,
                failed: None,
            },
            read_requests(),
        )
        .map(|_| ())
        .ok_or("VPP is not connected")
    }

    pub fn unavailable(&self) -> &'static str {
        match self.link {
            Link::Disabled => "VPP integration is disabled (vpp.api-socket is empty)",
            _ => "VPP is not connected",
        }
    }

    pub(super) fn lb_state_view(&self, ctx: &Ctx<'_>, r: &ReadResult) -> LbStateView {
        let desired = desired::all(ctx.cfg, ctx.checker);
        let names = desired::frontend_of_key(ctx.cfg);
        let conf = self.conf_pushed;
        let vips = r
            .current
            .values()
            .map(|v| {
                let d = desired.get(&v.key);
                let mut ases: Vec<AsView> = v
                    .ases
                    .iter()
                    .map(|(addr, a)| AsView {
                        address: addr.to_string(),
                        weight: a.weight,
                        buckets: r.buckets.get(&(v.key, *addr)).copied().unwrap_or(0),
                        desired: d.and_then(|d| d.ases.get(addr)).map(|x| x.weight),
                    })
                    .collect();
                if let Some(d) = d {
                    for (addr, want) in &d.ases {
                        if !v.ases.contains_key(addr) {
                            ases.push(AsView {
                                address: format!("{addr} (missing)"),
                                weight: 0,
                                buckets: 0,
                                desired: Some(want.weight),
                            });
                        }
                    }
                }
                VipView {
                    address: v.key.addr().to_string(),
                    protocol: protocol_name(v.key.protocol()),
                    port: v.key.port(),
                    encap: v.encap.to_string(),
                    src_ip_sticky: v.src_ip_sticky.unwrap_or(false),
                    frontend: names.get(&v.key).cloned(),
                    ases,
                }
            })
            .collect();
        LbStateView {
            ipv4_src_address: conf
                .map(|c| c.ip4_src_address)
                .filter(|a| !a.is_unspecified())
                .map(|a| a.to_string()),
            ipv6_src_address: conf
                .map(|c| c.ip6_src_address)
                .filter(|a| !a.is_unspecified())
                .map(|a| a.to_string()),
            sticky_buckets_per_core: conf.map(|c| c.sticky_buckets_per_core).unwrap_or(0),
            flow_timeout_secs: conf.map(|c| c.flow_timeout).unwrap_or(0),
            vips,
        }
    }

    /// `show vpp info`.
    pub fn info_view(&self, now: Instant) -> Result<VppInfoView, &'static str> {
        let i = self
            .info
            .as_ref()
            .filter(|_| self.link == Link::Up)
            .ok_or(self.unavailable())?;
        let now_ms = logging::now_unix_ms();
        // From the stats segment's `/sys/boottime`; 0 until it is mapped.
        let boot_ms = self.stats.boottime().unwrap_or(0).saturating_mul(1000);
        Ok(VppInfoView {
            version: i.version.clone(),
            build_date: i.build_date.clone(),
            build_directory: i.build_directory.clone(),
            pid: i.pid,
            boottime_unix_ms: boot_ms,
            boot_age_ms: if boot_ms == 0 {
                0
            } else {
                now_ms.saturating_sub(boot_ms)
            },
            connected_unix_ms: i.connected_unix_ms,
            connected_age_ms: now.saturating_duration_since(i.connected_at).as_millis() as u64,
            messages: i.messages,
            counters: self.counters.summary(),
        })
    }
}

fn protocol_name(p: u8) -> String {
    match p {
        6 | 17 | 255 => super::stats::protocol_label(p).to_string(),
        other => other.to_string(),
    }
}
