//! `show lb vips` and `show lb vips verbose`, byte for byte as lb's
//! `format_lb_vip` / `format_lb_vip_detailed` print them through
//! `vlib_cli_output` (which is what `cli_inband` returns).

use std::fmt::Write;

use super::{Counter, LbState, VipEntry, VipType};
use crate::sim::ip46::format_prefix;

impl LbState {
    /// `show lb vips verbose`: one block per VIP in pool order, removed VIPs
    /// included until collected, each block followed by an empty line.
    pub fn show_vips_verbose(&self) -> String {
        let mut out = String::new();
        for (index, vip) in self.vips.iter().filter(|(index, _)| *index != 0) {
            self.write_vip_detailed(&mut out, index, vip);
            out.push('\n');
        }
        out
    }

    /// `show lb vips`: one line per VIP, without the index.
    pub fn show_vips(&self) -> String {
        let mut out = String::new();
        for (_, vip) in self.vips.iter().filter(|(index, _)| *index != 0) {
            let _ = write!(
                out,
                "{} {} new_size:{} #as:{}{}",
                vip.vip_type.name(),
                format_prefix(&vip.prefix, vip.plen),
                vip.table_len,
                vip.as_indexes.len(),
                if vip.used { "" } else { " removed" }
            );
            if vip.port != 0 {
                let _ = write!(out, "  protocol:{} port:{} ", vip.protocol, vip.port);
            }
            if vip.vip_type == VipType::Ip4L3dsr {
                let _ = write!(out, "  dscp:{}", vip.dscp_or_srv_type);
            } else if vip.vip_type.is_nat() {
                let _ = write!(out, " {}", nat_line(vip));
            }
            out.push('\n');
        }
        out
    }

    fn write_vip_detailed(&self, out: &mut String, index: usize, vip: &VipEntry) {
        let _ = writeln!(
            out,
            " {} [{}] {}{}{}",
            vip.vip_type.name(),
            index,
            format_prefix(&vip.prefix, vip.plen),
            if vip.src_ip_sticky {
                " src_ip_sticky"
            } else {
                ""
            },
            if vip.used { "" } else { " removed" }
        );
        let _ = writeln!(out, "  new_size:{}", vip.table_len);
        if vip.port != 0 {
            let _ = writeln!(out, "  protocol:{} port:{}", vip.protocol, vip.port);
        }
        if vip.vip_type == VipType::Ip4L3dsr {
            let _ = writeln!(out, "  dscp:{}", vip.dscp_or_srv_type);
        } else if vip.vip_type.is_nat() {
            // lb forgets the newline here, so "counters:" follows directly.
            let _ = write!(out, "  {}", nat_line(vip));
        }
        out.push_str("  counters:\n");
        for counter in Counter::ALL {
            let _ = writeln!(
                out,
                "    {}: {}",
                counter.name(),
                vip.counters[counter as usize]
            );
        }
        let _ = writeln!(out, "  #as:{}", vip.as_indexes.len());
        for (_, as_index) in vip.as_indexes.iter() {
            let Some(entry) = self.ass.get(*as_index) else {
                continue;
            };
            let _ = writeln!(
                out,
                "    {} weight:{} buckets:{} flows:{} dpo:{} {}",
                entry.address,
                entry.weight,
                self.bucket_count(vip, *as_index),
                self.flows(*as_index),
                entry.dpo,
                if entry.used { "used" } else { " removed" }
            );
        }
    }
}

/// The NAT line; lb prints `ntohs` of the host-order port (so it comes out
/// byte-swapped) and of the network-order target port (correct).
fn nat_line(vip: &VipEntry) -> String {
    format!(
        "type:{} port:{} target_port:{}",
        if vip.dscp_or_srv_type == 0 {
            "clusterip"
        } else {
            "nodeport"
        },
        vip.port.swap_bytes(),
        vip.target_port
    )
}
