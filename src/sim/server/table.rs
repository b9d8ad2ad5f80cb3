//! The message table the simulator announces: the real `name_crc → id` map
//! of the captured VPP build (873 entries, in VPP's hash order), committed as
//! `src/sim/message_table.txt` (`id name_crc` per line, extracted once from
//! the handshake transcript), so a client resolves exactly the ids it would
//! get from that VPP.

use std::collections::HashMap;

use crate::vpp::wire::memclnt::MessageTableEntry;
use crate::vpp::wire::table::message_name;

const TABLE_TEXT: &str = include_str!("../message_table.txt");

/// `name_crc ↔ id` of the simulated build, in announcement order.
#[derive(Debug, Clone)]
pub struct SimTable {
    entries: Vec<MessageTableEntry>,
    by_id: HashMap<u16, usize>,
}

impl Default for SimTable {
    fn default() -> Self {
        SimTable::parse(TABLE_TEXT)
    }
}

impl SimTable {
    /// Parses `id name_crc` lines; malformed lines are skipped (the file is
    /// ours and checked by a test to yield 873 entries).
    pub fn parse(text: &str) -> SimTable {
        let mut entries = Vec::new();
        let mut by_id = HashMap::new();
        for line in text.lines() {
            let Some((id, name)) = line.trim().split_once(' ') else {
                continue;
            };
            let Ok(index) = id.parse::<u16>() else {
                continue;
            };
            by_id.insert(index, entries.len());
            entries.push(MessageTableEntry {
                index,
                name: name.to_owned(),
            });
        }
        SimTable { entries, by_id }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The `name_crc` key of an id.
    pub fn name_crc(&self, id: u16) -> Option<&str> {
        let at = *self.by_id.get(&id)?;
        self.entries.get(at).map(|e| e.name.as_str())
    }

    /// The id of a `name_crc` key.
    pub fn id(&self, name_crc: &str) -> Option<u16> {
        self.entries
            .iter()
            .find(|e| e.name == name_crc)
            .map(|e| e.index)
    }

    /// The table as announced, without the entries `omitted` matches (each
    /// omission is a full `name_crc` or a bare message name).
    pub fn announced(&self, omitted: &[String]) -> Vec<MessageTableEntry> {
        self.entries
            .iter()
            .filter(|e| !is_omitted(&e.name, omitted))
            .cloned()
            .collect()
    }
}

/// Whether `name_crc` is hidden by one of `omitted` (a `name_crc` key or a
/// bare message name).
pub fn is_omitted(name_crc: &str, omitted: &[String]) -> bool {
    omitted
        .iter()
        .any(|o| o == name_crc || o == message_name(name_crc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_table_is_the_captured_one() {
        let table = SimTable::default();
        assert_eq!(table.len(), 873);
        let cases = [
            ("sockclnt_create_455fb9c4", 15),
            ("sockclnt_create_reply_35166268", 16),
            ("control_ping_51077d14", 23),
            ("lb_conf_56cd3261", 89),
            ("lb_as_set_weight_2d89bdbd", 101),
            ("cli_inband_f8377302", 119),
            ("ip_route_lookup_710d6471", 402),
            ("show_version_reply_c919bde1", 849),
        ];
        for (name, id) in cases {
            assert_eq!(table.id(name), Some(id), "{name}");
            assert_eq!(table.name_crc(id), Some(name));
        }
        assert_eq!(table.name_crc(9999), None);
    }

    #[test]
    fn omission_by_key_or_name() {
        let table = SimTable::default();
        let by_key = table.announced(&["lb_as_set_weight_2d89bdbd".to_owned()]);
        let by_name = table.announced(&["lb_as_set_weight".to_owned()]);
        assert_eq!(by_key.len(), 872);
        assert_eq!(by_key, by_name);
        assert!(by_key.iter().all(|e| e.index != 101));
        // A prefix of another name must not hide it.
        assert_eq!(table.announced(&["lb_as".to_owned()]).len(), 873);
    }
}
