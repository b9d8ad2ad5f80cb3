//! The runtime message-id table (WIRE.md §3).
//!
//! VPP assigns message ids at startup (plugin ids shift with the plugin set
//! and version), and announces them in `sockclnt_create_reply` as
//! `name_crc → id`. [`MessageTable`] holds that map both ways; [`MsgIds`]
//! is the resolved set of ids maglevd needs, and [`resolve`] reports every
//! message VPP lacks or defines with another CRC, by name.

use std::collections::HashMap;
use std::fmt;

use super::memclnt::{MessageTableEntry, SockclntCreateReply};

/// `name_crc` keys (message name + `_` + CRC in 8 lowercase hex digits) of
/// every message maglevd sends or expects; from the CRC table of WIRE.md §3,
/// cross-checked against the API JSON by the tests.
pub mod names {
    pub const SOCKCLNT_CREATE: &str = "sockclnt_create_455fb9c4";
    pub const SOCKCLNT_CREATE_REPLY: &str = "sockclnt_create_reply_35166268";
    pub const SOCKCLNT_DELETE: &str = "sockclnt_delete_8ac76db6";
    pub const SOCKCLNT_DELETE_REPLY: &str = "sockclnt_delete_reply_8f38b1ee";
    pub const CONTROL_PING: &str = "control_ping_51077d14";
    pub const CONTROL_PING_REPLY: &str = "control_ping_reply_f6b0b8ca";
    pub const SHOW_VERSION: &str = "show_version_51077d14";
    pub const SHOW_VERSION_REPLY: &str = "show_version_reply_c919bde1";
    pub const CLI_INBAND: &str = "cli_inband_f8377302";
    pub const CLI_INBAND_REPLY: &str = "cli_inband_reply_05879051";
    pub const LB_CONF: &str = "lb_conf_56cd3261";
    pub const LB_CONF_REPLY: &str = "lb_conf_reply_e8d4e804";
    pub const LB_CONF_GET: &str = "lb_conf_get_51077d14";
    pub const LB_CONF_GET_REPLY: &str = "lb_conf_get_reply_923427ac";
    pub const LB_ADD_DEL_VIP_V2: &str = "lb_add_del_vip_v2_7c520e0f";
    pub const LB_ADD_DEL_VIP_V2_REPLY: &str = "lb_add_del_vip_v2_reply_e8d4e804";
    pub const LB_ADD_DEL_AS_V2: &str = "lb_add_del_as_v2_2f1d3b0e";
    pub const LB_ADD_DEL_AS_V2_REPLY: &str = "lb_add_del_as_v2_reply_e8d4e804";
    pub const LB_AS_SET_WEIGHT: &str = "lb_as_set_weight_2d89bdbd";
    pub const LB_AS_SET_WEIGHT_REPLY: &str = "lb_as_set_weight_reply_e8d4e804";
    pub const LB_VIP_DUMP: &str = "lb_vip_dump_56110cb7";
    pub const LB_VIP_DETAILS: &str = "lb_vip_details_1329ec9b";
    pub const LB_AS_V2_DUMP: &str = "lb_as_v2_dump_1063f819";
    pub const LB_AS_V2_DETAILS: &str = "lb_as_v2_details_90064aae";
    pub const IP_ROUTE_LOOKUP: &str = "ip_route_lookup_710d6471";
    pub const IP_ROUTE_LOOKUP_REPLY: &str = "ip_route_lookup_reply_5d8febcb";
}

/// The message name part of a `name_crc` key (everything before the last
/// `_`), or the whole key if it has no CRC suffix.
pub fn message_name(name_crc: &str) -> &str {
    match name_crc.rsplit_once('_') {
        Some((name, crc)) if crc.len() == 8 && crc.bytes().all(|b| b.is_ascii_hexdigit()) => name,
        _ => name_crc,
    }
}

/// `name_crc ↔ id` as announced by one VPP process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageTable {
    by_name: HashMap<String, u16>,
    by_id: HashMap<u16, String>,
}

impl MessageTable {
    pub fn from_entries(entries: &[MessageTableEntry]) -> Self {
        let mut table = MessageTable::default();
        for entry in entries {
            table.by_name.insert(entry.name.clone(), entry.index);
            table.by_id.insert(entry.index, entry.name.clone());
        }
        table
    }

    pub fn from_reply(reply: &SockclntCreateReply) -> Self {
        Self::from_entries(&reply.message_table)
    }

    /// The id of a `name_crc` key, if VPP has exactly that definition.
    pub fn id(&self, name_crc: &str) -> Option<u16> {
        self.by_name.get(name_crc).copied()
    }

    /// The `name_crc` key of an id (for logging unexpected messages).
    pub fn name(&self, id: u16) -> Option<&str> {
        self.by_id.get(&id).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Keys VPP has for the same message name with another CRC.
    pub fn other_versions(&self, name_crc: &str) -> Vec<&str> {
        let wanted = message_name(name_crc);
        let mut found: Vec<&str> = self
            .by_name
            .keys()
            .map(String::as_str)
            .filter(|key| *key != name_crc && message_name(key) == wanted)
            .collect();
        found.sort_unstable();
        found
    }
}

/// One message maglevd needs that the table does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingMessage {
    /// Our `name_crc` key.
    pub name_crc: &'static str,
    /// VPP's keys for the same message name (a CRC mismatch), if any.
    pub vpp_has: Vec<String>,
}

/// Every needed message that could not be resolved, in [`REQUIRED_MESSAGES`]
/// order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingMessages {
    pub missing: Vec<MissingMessage>,
}

impl fmt::Display for MissingMessages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VPP lacks")?;
        for (i, m) in self.missing.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(f, "{sep}{}", m.name_crc)?;
            if !m.vpp_has.is_empty() {
                write!(f, " (VPP has {})", m.vpp_has.join(", "))?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for MissingMessages {}

/// Declares [`MsgIds`] and [`REQUIRED_MESSAGES`] from one list, so the two
/// cannot drift apart.
macro_rules! msg_ids {
    ($($field:ident => $key:path,)*) => {
        /// The ids of every message maglevd uses, resolved for one VPP.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct MsgIds {
            $(pub $field: u16,)*
        }

        /// The `name_crc` keys [`resolve`] looks up.
        pub const REQUIRED_MESSAGES: &[&str] = &[$($key,)*];

        impl MsgIds {
            pub fn resolve(table: &MessageTable) -> Result<MsgIds, MissingMessages> {
                $(let $field = table.id($key);)*
                match ($($field,)*) {
                    ($(Some($field),)*) => Ok(MsgIds { $($field,)* }),
                    _ => Err(MissingMessages {
                        missing: REQUIRED_MESSAGES
                            .iter()
                            .filter(|key| table.id(key).is_none())
                            .map(|key| MissingMessage {
                                name_crc: key,
                                vpp_has: table
                                    .other_versions(key)
                                    .into_iter()
                                    .map(str::to_owned)
                                    .collect(),
                            })
                            .collect(),
                    }),
                }
            }

            /// Our `name_crc` key for a resolved id (for dispatch and logs).
            pub fn key_of(&self, id: u16) -> Option<&'static str> {
                $(if id == self.$field { return Some($key); })*
                None
            }
        }
    };
}

msg_ids! {
    sockclnt_create => names::SOCKCLNT_CREATE,
    sockclnt_create_reply => names::SOCKCLNT_CREATE_REPLY,
    sockclnt_delete => names::SOCKCLNT_DELETE,
    sockclnt_delete_reply => names::SOCKCLNT_DELETE_REPLY,
    control_ping => names::CONTROL_PING,
    control_ping_reply => names::CONTROL_PING_REPLY,
    show_version => names::SHOW_VERSION,
    show_version_reply => names::SHOW_VERSION_REPLY,
    cli_inband => names::CLI_INBAND,
    cli_inband_reply => names::CLI_INBAND_REPLY,
    lb_conf => names::LB_CONF,
    lb_conf_reply => names::LB_CONF_REPLY,
    lb_conf_get => names::LB_CONF_GET,
    lb_conf_get_reply => names::LB_CONF_GET_REPLY,
    lb_add_del_vip_v2 => names::LB_ADD_DEL_VIP_V2,
    lb_add_del_vip_v2_reply => names::LB_ADD_DEL_VIP_V2_REPLY,
    lb_add_del_as_v2 => names::LB_ADD_DEL_AS_V2,
    lb_add_del_as_v2_reply => names::LB_ADD_DEL_AS_V2_REPLY,
    lb_as_set_weight => names::LB_AS_SET_WEIGHT,
    lb_as_set_weight_reply => names::LB_AS_SET_WEIGHT_REPLY,
    lb_vip_dump => names::LB_VIP_DUMP,
    lb_vip_details => names::LB_VIP_DETAILS,
    lb_as_v2_dump => names::LB_AS_V2_DUMP,
    lb_as_v2_details => names::LB_AS_V2_DETAILS,
    ip_route_lookup => names::IP_ROUTE_LOOKUP,
    ip_route_lookup_reply => names::IP_ROUTE_LOOKUP_REPLY,
}

/// Resolves every needed message in `table` (see [`MsgIds::resolve`]).
pub fn resolve(table: &MessageTable) -> Result<MsgIds, MissingMessages> {
    MsgIds::resolve(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(keys: &[(&str, u16)]) -> MessageTable {
        let entries: Vec<MessageTableEntry> = keys
            .iter()
            .map(|(name, index)| MessageTableEntry {
                index: *index,
                name: (*name).to_owned(),
            })
            .collect();
        MessageTable::from_entries(&entries)
    }

    fn full_table() -> Vec<(&'static str, u16)> {
        REQUIRED_MESSAGES
            .iter()
            .enumerate()
            .map(|(i, key)| (*key, 100 + i as u16))
            .collect()
    }

    #[test]
    fn resolves_all_and_maps_back() {
        let t = table(&full_table());
        let ids = resolve(&t).unwrap();
        assert_eq!(ids.sockclnt_create, 100);
        assert_eq!(ids.lb_as_set_weight, t.id(names::LB_AS_SET_WEIGHT).unwrap());
        assert_eq!(ids.key_of(ids.lb_vip_details), Some(names::LB_VIP_DETAILS));
        assert_eq!(ids.key_of(9), None);
        assert_eq!(t.name(ids.cli_inband), Some(names::CLI_INBAND));
    }

    #[test]
    fn reports_every_missing_and_mismatched_message() {
        let mut keys: Vec<(&str, u16)> = full_table()
            .into_iter()
            .filter(|(k, _)| *k != names::LB_AS_SET_WEIGHT && *k != names::IP_ROUTE_LOOKUP_REPLY)
            .collect();
        keys.push(("lb_as_set_weight_deadbeef", 7));
        // Same CRC as a needed message but another name: not a match.
        keys.push(("lb_as_set_weight_v2_2d89bdbd", 8));
        let err = resolve(&table(&keys)).unwrap_err();
        assert_eq!(
            err.missing,
            vec![
                MissingMessage {
                    name_crc: names::LB_AS_SET_WEIGHT,
                    vpp_has: vec!["lb_as_set_weight_deadbeef".to_owned()],
                },
                MissingMessage {
                    name_crc: names::IP_ROUTE_LOOKUP_REPLY,
                    vpp_has: vec![],
                },
            ]
        );
        assert_eq!(
            err.to_string(),
            "VPP lacks lb_as_set_weight_2d89bdbd (VPP has lb_as_set_weight_deadbeef), \
             ip_route_lookup_reply_5d8febcb"
        );
    }

    #[test]
    fn empty_table_lists_everything() {
        let err = resolve(&MessageTable::default()).unwrap_err();
        assert_eq!(err.missing.len(), REQUIRED_MESSAGES.len());
    }

    #[test]
    fn message_name_strips_only_a_crc_suffix() {
        let cases = [
            ("lb_as_v2_dump_1063f819", "lb_as_v2_dump"),
            ("lb_as_v2_dump", "lb_as_v2_dump"),
            ("control_ping_51077d14", "control_ping"),
            ("x_1234567", "x_1234567"),
            ("plain", "plain"),
        ];
        for (key, want) in cases {
            assert_eq!(message_name(key), want, "{key}");
        }
    }
}
