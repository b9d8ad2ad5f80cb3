//! Encoding of planned lb calls into their API messages.

use super::super::sync::{Encap, LbCall, VipKey};
use super::super::wire::lb::{LbAddDelAsV2, LbAddDelVipV2, LbAsSetWeight, LbEncapType};
use super::super::wire::{Message, MsgIds, Prefix};
use super::NEW_FLOWS_TABLE_LENGTH;

fn encap_wire(e: Encap) -> LbEncapType {
    LbEncapType::from_u32(e.to_wire()).unwrap_or(LbEncapType::Gre4)
}

pub(super) fn emit_call(call: &LbCall, ci: u32, context: u32, ids: &MsgIds, out: &mut Vec<u8>) {
    let pfx = |k: &VipKey| Prefix::new(k.addr(), k.prefix_len());
    match call {
        LbCall::AddVip {
            key,
            encap,
            src_ip_sticky,
        } => vip_message(ci, context, key, encap_wire(*encap), *src_ip_sticky, false)
            .emit_frame(ids.lb_add_del_vip_v2, out),
        // lb finds the VIP to delete by (prefix, protocol, port) only.
        LbCall::DelVip { key } => vip_message(ci, context, key, LbEncapType::Gre4, false, true)
            .emit_frame(ids.lb_add_del_vip_v2, out),
        LbCall::AddAs { key, addr, weight } => LbAddDelAsV2 {
            client_index: ci,
            context,
            pfx: pfx(key),
            protocol: key.protocol(),
            port: key.port(),
            as_address: *addr,
            weight: *weight,
            is_del: false,
            is_flush: false,
        }
        .emit_frame(ids.lb_add_del_as_v2, out),
        LbCall::DelAs { key, addr, flush } => LbAddDelAsV2 {
            client_index: ci,
            context,
            pfx: pfx(key),
            protocol: key.protocol(),
            port: key.port(),
            as_address: *addr,
            weight: 0,
            is_del: true,
            is_flush: *flush,
        }
        .emit_frame(ids.lb_add_del_as_v2, out),
        LbCall::SetWeight {
            key,
            addr,
            weight,
            flush,
        } => LbAsSetWeight {
            client_index: ci,
            context,
            pfx: pfx(key),
            protocol: key.protocol(),
            port: key.port(),
            as_address: *addr,
            weight: *weight,
            is_flush: *flush,
        }
        .emit_frame(ids.lb_as_set_weight, out),
    }
}

fn vip_message(
    ci: u32,
    context: u32,
    key: &VipKey,
    encap: LbEncapType,
    sticky: bool,
    is_del: bool,
) -> LbAddDelVipV2 {
    let mut msg = LbAddDelVipV2::gre(
        ci,
        context,
        Prefix::new(key.addr(), key.prefix_len()),
        key.protocol(),
        key.port(),
        encap,
        sticky,
    );
    msg.new_flows_table_length = NEW_FLOWS_TABLE_LENGTH;
    msg.is_del = is_del;
    msg
}
