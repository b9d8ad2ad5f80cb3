//! Test-only model of VPP's lb plugin that answers in VPP's own shape:
//! dumps with address unions, removed ASes lingering with flags 0, deleted
//! VIPs hidden from the VIP dump but not from the AS dump, re-added VIPs as
//! new objects, src-ip-sticky only in the `show lb vips verbose` text.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::IpAddr;

use super::*;

pub const NO_SUCH_ENTRY: i32 = -6;
pub const VALUE_EXIST: i32 = -81;
pub const INVALID_ADDRESS_FAMILY: i32 = -97;

#[derive(Debug, Clone)]
struct FakeAs {
    addr: IpAddr,
    weight: u8,
    used: bool,
}

#[derive(Debug, Clone)]
struct FakeVip {
    index: u32,
    key: VipKey,
    encap: Encap,
    sticky: bool,
    removed: bool,
    ases: Vec<FakeAs>,
}

#[derive(Debug, Default)]
pub struct FakeLb {
    vips: Vec<FakeVip>,
    next_index: u32,
    /// (VIP, AS) of every call that carried `is_flush`, in order.
    pub flushes: Vec<(VipKey, IpAddr)>,
    /// Fail the n-th next call (0 = the next one) with this retval.
    pub fail_at: Option<(usize, i32)>,
    pub calls_seen: usize,
}

fn union(addr: IpAddr) -> DumpAddr {
    match addr {
        IpAddr::V4(v4) => {
            let mut un = [0u8; 16];
            un[..4].copy_from_slice(&v4.octets());
            DumpAddr::Union { af: 0, un }
        }
        IpAddr::V6(v6) => DumpAddr::Union {
            af: 1,
            un: v6.octets(),
        },
    }
}

impl FakeLb {
    pub fn new() -> FakeLb {
        FakeLb {
            next_index: 1,
            ..FakeLb::default()
        }
    }

    fn live(&mut self, key: &VipKey) -> Option<&mut FakeVip> {
        self.vips.iter_mut().find(|v| !v.removed && v.key == *key)
    }

    pub fn apply(&mut self, call: &LbCall) -> Result<(), i32> {
        let seen = self.calls_seen;
        self.calls_seen += 1;
        if let Some((at, retval)) = self.fail_at {
            if at == seen {
                self.fail_at = None;
                return Err(retval);
            }
        }
        match *call {
            LbCall::AddVip {
                key,
                encap,
                src_ip_sticky,
            } => {
                if self.live(&key).is_some() {
                    return Err(VALUE_EXIST);
                }
                let index = self.next_index;
                self.next_index += 1;
                self.vips.push(FakeVip {
                    index,
                    key,
                    encap,
                    sticky: src_ip_sticky,
                    removed: false,
                    ases: Vec::new(),
                });
            }
            LbCall::DelVip { key } => {
                let vip = self.live(&key).ok_or(NO_SUCH_ENTRY)?;
                vip.removed = true;
                vip.ases.iter_mut().for_each(|a| a.used = false);
            }
            LbCall::AddAs { key, addr, weight } => {
                let vip = self.live(&key).ok_or(NO_SUCH_ENTRY)?;
                if Encap::for_backend(addr) != vip.encap {
                    return Err(INVALID_ADDRESS_FAMILY);
                }
                match vip.ases.iter_mut().find(|a| a.addr == addr) {
                    Some(a) if a.used => return Err(VALUE_EXIST),
                    Some(a) => {
                        a.used = true;
                        a.weight = weight;
                    }
                    None => vip.ases.push(FakeAs {
                        addr,
                        weight,
                        used: true,
                    }),
                }
            }
            LbCall::DelAs { key, addr, flush } => {
                let vip = self.live(&key).ok_or(NO_SUCH_ENTRY)?;
                let a = vip
                    .ases
                    .iter_mut()
                    .find(|a| a.used && a.addr == addr)
                    .ok_or(NO_SUCH_ENTRY)?;
                a.used = false;
                if flush {
                    self.flushes.push((key, addr));
                }
            }
            LbCall::SetWeight {
                key,
                addr,
                weight,
                flush,
            } => {
                let vip = self.live(&key).ok_or(NO_SUCH_ENTRY)?;
                let a = vip
                    .ases
                    .iter_mut()
                    .find(|a| a.used && a.addr == addr)
                    .ok_or(NO_SUCH_ENTRY)?;
                a.weight = weight;
                if flush {
                    self.flushes.push((key, addr));
                }
            }
        }
        Ok(())
    }

    /// Someone else deletes an AS behind our back (it lingers with flags 0).
    pub fn remove_as_externally(&mut self, key: &VipKey, addr: IpAddr) {
        if let Some(vip) = self.live(key) {
            vip.ases
                .iter_mut()
                .filter(|a| a.addr == addr)
                .for_each(|a| a.used = false);
        }
    }

    pub fn vip_dump(&self) -> Vec<DumpVip> {
        self.vips
            .iter()
            .filter(|v| !v.removed)
            .map(|v| DumpVip {
                prefix_addr: union(v.key.addr()),
                prefix_len: v.key.prefix_len(),
                protocol: v.key.protocol(),
                port: v.key.port(),
                encap: v.encap.to_wire(),
            })
            .collect()
    }

    pub fn as_dump(&self) -> Vec<DumpAs> {
        let mut dump = Vec::new();
        for vip in &self.vips {
            for a in &vip.ases {
                dump.push(DumpAs {
                    vip_prefix_addr: union(vip.key.addr()),
                    vip_prefix_len: vip.key.prefix_len(),
                    vip_protocol: vip.key.protocol(),
                    vip_port: vip.key.port(),
                    addr: union(a.addr),
                    flags: u8::from(a.used),
                    weight: a.weight,
                    num_buckets: 0,
                });
            }
        }
        dump
    }

    /// A minimal `show lb vips verbose`.
    pub fn cli_text(&self) -> String {
        let mut text = String::new();
        for vip in &self.vips {
            let family = if vip.key.addr().is_ipv4() {
                "ip4"
            } else {
                "ip6"
            };
            let _ = write!(
                text,
                " {family}-{} [{}] {}{}{}\n  new_size:1024\n",
                vip.encap,
                vip.index,
                vip.key.prefix_string(),
                if vip.sticky { " src_ip_sticky" } else { "" },
                if vip.removed { " removed" } else { "" },
            );
            if vip.key.port() != 0 {
                let _ = writeln!(
                    text,
                    "  protocol:{} port:{}",
                    vip.key.protocol(),
                    vip.key.port()
                );
            }
            let _ = writeln!(text, "  #as:{}", vip.ases.len());
            for a in &vip.ases {
                let state = if a.used { " used" } else { "  removed" };
                let _ = writeln!(
                    text,
                    "    {} weight:{} buckets:0 flows:0 dpo:1{state}",
                    a.addr, a.weight
                );
            }
            text.push('\n');
        }
        text
    }

    /// What the daemon would read back: dumps plus CLI scrape.
    pub fn current(&self) -> BTreeMap<VipKey, CurrentVip> {
        let sticky = sticky_from_cli(&parse_show_lb_vips(&self.cli_text()));
        current_from_dumps(&self.vip_dump(), &self.as_dump(), &sticky)
    }
}
