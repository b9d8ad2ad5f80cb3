//! Tests against the real segment captured from VPP
//! (tests/fixtures/vpp-api/stats/segment.bin.gz), compared with the values
//! vpp_papi read from the same bytes (expected.json).

use std::io::Read;
use std::sync::OnceLock;

use serde_json::{json, Value};

use super::counters::{dump, entry_by_name, read_boottime, read_lb_counters, VipQuery};
use super::counters::{LB_FIRST_PACKET, LB_NEXT_PACKET, LB_NO_SERVER, LB_UNTRACKED_PACKET};
use super::{DirectoryIndex, ReadPolicy, Segment, StatValue};

const FIXTURE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/vpp-api/stats");

pub(super) fn fixture_segment() -> &'static [u8] {
    static SEGMENT: OnceLock<Vec<u8>> = OnceLock::new();
    SEGMENT.get_or_init(|| {
        let file = std::fs::File::open(format!("{FIXTURE_DIR}/segment.bin.gz")).unwrap();
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(file)
            .read_to_end(&mut bytes)
            .unwrap();
        bytes
    })
}

pub(super) fn expected() -> &'static Value {
    static EXPECTED: OnceLock<Value> = OnceLock::new();
    EXPECTED.get_or_init(|| {
        let text = std::fs::read_to_string(format!("{FIXTURE_DIR}/expected.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    })
}

fn u64_of(value: &Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("not a u64: {value}"))
}

/// A decoded value in the shape vpp_papi gives (and expected.json holds).
fn to_json(value: &StatValue) -> Value {
    let pair = |c: &super::CombinedCounter| json!({"packets": c.packets, "bytes": c.bytes});
    match value {
        StatValue::Scalar(v) | StatValue::Gauge(v) => json!(v),
        StatValue::Simple(rows) | StatValue::Histogram(rows) => json!(rows),
        StatValue::Combined(rows) => Value::Array(
            rows.iter()
                .map(|row| Value::Array(row.iter().map(pair).collect()))
                .collect(),
        ),
        StatValue::Names(names) => json!(names),
        StatValue::SymlinkSimple(values) => json!(values),
        StatValue::SymlinkCombined(values) => Value::Array(values.iter().map(pair).collect()),
    }
}

#[test]
fn header_and_directory_match_vpp_papi() {
    let mem = fixture_segment();
    let want = &expected()["segment"];
    assert_eq!(mem.len() as u64, u64_of(&want["size"]));
    let segment = Segment::open(mem).unwrap();
    let header = segment.header();
    assert_eq!(header.version, u64_of(&want["version"]));
    assert_eq!(header.base, u64_of(&want["base_int"]));
    assert_eq!(
        format!("{:#x}", header.base),
        want["base"].as_str().unwrap()
    );
    assert_eq!(header.epoch, u64_of(&want["epoch"]));
    assert_eq!(header.in_progress, u64_of(&want["in_progress"]));
    assert_eq!(
        format!("{:#x}", header.directory_vector),
        want["directory_vector"].as_str().unwrap()
    );
    assert_eq!(
        segment.directory_offset() as u64,
        u64_of(&want["directory_offset"])
    );
    assert_eq!(
        segment.directory_len() as u64,
        u64_of(&want["directory_length"])
    );
    let mut index = DirectoryIndex::new();
    index.refresh(&segment).unwrap();
    assert_eq!(index.len() as u64, u64_of(&want["directory_named_entries"]));
}

#[test]
fn lb_counters_match_per_thread_and_index() {
    let mem = fixture_segment();
    let mut index = DirectoryIndex::new();
    let want = expected()["lb_counters"].as_object().unwrap();
    assert_eq!(want.len(), 4);
    for name in [
        LB_NEXT_PACKET,
        LB_FIRST_PACKET,
        LB_UNTRACKED_PACKET,
        LB_NO_SERVER,
    ] {
        let entry = entry_by_name(mem, &mut index, ReadPolicy::default(), name)
            .unwrap()
            .unwrap_or_else(|| panic!("{name} missing"));
        let want = &want[name];
        assert_eq!(
            entry.index as u64,
            u64_of(&want["directory_index"]),
            "{name}"
        );
        assert_eq!(u64::from(entry.entry_type), u64_of(&want["type"]), "{name}");
        assert_eq!(
            to_json(&entry.value),
            want["value_per_thread_per_vip_index"],
            "{name}"
        );
    }
    assert_eq!(index.rebuilds(), 1, "one epoch, one directory scan");
}

/// Sum of column `column` over thread rows of an expected matrix.
fn expected_column_sum(matrix: &Value, column: usize) -> u64 {
    matrix
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row.as_array().unwrap().get(column).map_or(0, u64_of))
        .sum()
}

#[test]
fn read_lb_counters_sums_lb_and_fib_columns() {
    let mem = fixture_segment();
    let want = expected();
    let lb = &want["lb_counters"];
    let routes = want["net_route_to"]["vips"].as_object().unwrap();
    // Every VIP index present in the expected rows, plus one past the end
    // (short row → 0); FIB indexes from the expected route table.
    let columns = lb[LB_FIRST_PACKET]["value_per_thread_per_vip_index"][0]
        .as_array()
        .unwrap()
        .len();
    let fib_indexes: Vec<u64> = routes.values().map(|r| u64_of(&r["stats_index"])).collect();
    let queries: Vec<VipQuery> = (0..=columns)
        .map(|i| VipQuery {
            lb_index: i as u32,
            fib_index: fib_indexes.get(i).map(|&f| f as u32),
        })
        .collect();
    let mut index = DirectoryIndex::new();
    let snapshot = read_lb_counters(mem, &mut index, ReadPolicy::default(), &queries).unwrap();
    assert_eq!(snapshot.boottime, u64_of(&want["boottime"]["value"]));
    assert_eq!(snapshot.epoch, u64_of(&want["segment"]["epoch"]));
    assert!(snapshot.missing.is_empty(), "{:?}", snapshot.missing);
    assert_eq!(snapshot.vips.len(), queries.len());
    let route_list: Vec<&Value> = routes.values().collect();
    for (i, got) in snapshot.vips.iter().enumerate() {
        let sum = |name: &str| expected_column_sum(&lb[name]["value_per_thread_per_vip_index"], i);
        assert_eq!(got.first, sum(LB_FIRST_PACKET), "vip {i}");
        assert_eq!(got.next, sum(LB_NEXT_PACKET), "vip {i}");
        assert_eq!(got.untracked, sum(LB_UNTRACKED_PACKET), "vip {i}");
        assert_eq!(got.no_server, sum(LB_NO_SERVER), "vip {i}");
        let (packets, bytes) = route_list.get(i).map_or((0, 0), |route| {
            let rows = route["per_thread"].as_array().unwrap();
            (
                rows.iter().map(|r| u64_of(&r["packets"])).sum(),
                rows.iter().map(|r| u64_of(&r["bytes"])).sum(),
            )
        });
        assert_eq!(
            (got.fib_packets, got.fib_bytes),
            (packets, bytes),
            "vip {i}"
        );
    }
    // Nothing moved: a second scrape reuses the cached directory index.
    read_lb_counters(mem, &mut index, ReadPolicy::default(), &queries).unwrap();
    assert_eq!(index.rebuilds(), 1);
}

#[test]
fn net_route_to_matches_each_vip_stats_index() {
    let mem = fixture_segment();
    let want = &expected()["net_route_to"];
    let mut index = DirectoryIndex::new();
    let entry = entry_by_name(mem, &mut index, ReadPolicy::default(), "/net/route/to")
        .unwrap()
        .unwrap();
    assert_eq!(entry.index as u64, u64_of(&want["directory_index"]));
    assert_eq!(u64::from(entry.entry_type), u64_of(&want["type"]));
    let StatValue::Combined(rows) = &entry.value else {
        panic!("not combined: {:?}", entry.value);
    };
    assert_eq!(rows.len() as u64, u64_of(&want["threads"]));
    assert_eq!(rows[0].len() as u64, u64_of(&want["vector_length_thread0"]));
    let rows_json = to_json(&entry.value);
    for (prefix, vip) in want["vips"].as_object().unwrap() {
        let column = u64_of(&vip["stats_index"]) as usize;
        let got: Vec<Value> = rows_json
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row[column].clone())
            .collect();
        assert_eq!(Value::Array(got), vip["per_thread"], "{prefix}");
    }
}

#[test]
fn boottime_matches() {
    let mem = fixture_segment();
    let want = &expected()["boottime"];
    let mut index = DirectoryIndex::new();
    let boottime = read_boottime(mem, &mut index, ReadPolicy::default()).unwrap();
    assert_eq!(boottime, u64_of(&want["value"]));
    let entry = entry_by_name(
        mem,
        &mut index,
        ReadPolicy::default(),
        want["name"].as_str().unwrap(),
    )
    .unwrap()
    .unwrap();
    assert_eq!(entry.index as u64, u64_of(&want["directory_index"]));
    assert_eq!(u64::from(entry.entry_type), u64_of(&want["type"]));
}

#[test]
fn all_samples_match() {
    let mem = fixture_segment();
    let samples = expected()["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 21);
    let mut index = DirectoryIndex::new();
    let segment = Segment::open(mem).unwrap();
    for sample in samples {
        let name = sample["name"].as_str().unwrap();
        let entry = entry_by_name(mem, &mut index, ReadPolicy::default(), name)
            .unwrap()
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(
            entry.index as u64,
            u64_of(&sample["directory_index"]),
            "{name}"
        );
        assert_eq!(
            u64::from(entry.entry_type),
            u64_of(&sample["type"]),
            "{name}"
        );
        if let Some(link) = sample.get("symlink") {
            let (index1, index2) = entry.symlink.unwrap();
            assert_eq!(u64::from(index1), u64_of(&link["index1"]), "{name}");
            assert_eq!(u64::from(index2), u64_of(&link["index2"]), "{name}");
            let target = segment.entry(index1 as usize).unwrap();
            assert_eq!(target.name, link["target"].as_str().unwrap(), "{name}");
        }
        let got = to_json(&entry.value);
        if let Some(value) = sample.get("value") {
            assert_eq!(got, *value, "{name}");
        } else {
            let names = got.as_array().unwrap();
            assert_eq!(
                names.len() as u64,
                u64_of(&sample["value_length"]),
                "{name}"
            );
            let first: Vec<Value> = names.iter().take(10).cloned().collect();
            assert_eq!(Value::Array(first), sample["value_first_10"], "{name}");
        }
    }
}

#[test]
fn full_dump_decodes_every_entry() {
    let mem = fixture_segment();
    let want = &expected()["segment"];
    let all = dump(mem, ReadPolicy::default(), &|_| true).unwrap();
    assert_eq!(all.len() as u64, u64_of(&want["directory_named_entries"]));
    let interfaces = dump(mem, ReadPolicy::default(), &|name| {
        name.starts_with("/interfaces/pg0/")
    })
    .unwrap();
    assert!(interfaces
        .iter()
        .all(|e| e.name.starts_with("/interfaces/pg0/")));
    assert!(interfaces.iter().any(|e| e.name == "/interfaces/pg0/rx"));
}
