//! The streaming deserializer against serde_yaml 0.9 (kept as the
//! reference): same `RawDocument`, same values, same error texts, over the
//! shipped configs, every prefix of them, and many small documents; plus
//! the limits serde_yaml has (depth, alias expansion) and garbage input.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;

mod limits;

use super::from_str;
use crate::config::raw::RawDocument;

const SHIPPED: &[(&str, &str)] = &[
    ("etc/maglev.yaml", include_str!("../../../etc/maglev.yaml")),
    ("etc/demo.yaml", include_str!("../../../etc/demo.yaml")),
    (
        "spec-example.yaml",
        include_str!("../../../tests/fixtures/config/spec-example.yaml"),
    ),
    ("BASE", crate::config::tests::BASE),
];

/// Both parsers' outcome as text: the value's Debug form or the message.
fn both<T: DeserializeOwned + std::fmt::Debug>(text: &str) -> (String, String) {
    let ours = match from_str::<T>(text) {
        Ok(value) => format!("Ok({value:?})"),
        Err(error) => format!("Err({error})"),
    };
    let reference = match serde_yaml::from_str::<T>(text) {
        Ok(value) => format!("Ok({value:?})"),
        Err(error) => format!("Err({error})"),
    };
    (ours, reference)
}

fn assert_same<T: DeserializeOwned + std::fmt::Debug>(text: &str) {
    let (ours, reference) = both::<T>(text);
    assert_eq!(
        ours,
        reference,
        "{} differs from serde_yaml for:\n{text}",
        std::any::type_name::<T>()
    );
}

/// Called by `parse_str_with` in test builds: every config test of the
/// crate is also a comparison with serde_yaml.
pub(in crate::config) fn assert_same_as_serde_yaml(text: &str) {
    assert_same::<RawDocument>(text);
}

#[test]
fn shipped_configs_decode_as_serde_yaml_does() {
    for (name, text) in SHIPPED {
        let ours = from_str::<RawDocument>(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let reference: RawDocument = serde_yaml::from_str(text).unwrap();
        assert_eq!(format!("{ours:?}"), format!("{reference:?}"), "{name}");
        assert_same::<serde_yaml::Value>(text);
    }
}

#[test]
fn every_prefix_of_the_shipped_configs_fails_or_succeeds_alike() {
    for (_, text) in SHIPPED {
        let mut cut = 0;
        while cut <= text.len() {
            if text.is_char_boundary(cut) {
                assert_same::<RawDocument>(&text[..cut]);
            }
            cut += 1;
        }
    }
}

#[test]
fn config_documents_decode_as_serde_yaml_does() {
    let cases = [
        "",
        "# only a comment\n",
        "---\n",
        "---\n...\n",
        "maglev:",
        "maglev: ~",
        "maglev: null",
        "maglev: {}\n---\nmaglev: {}\n",
        "maglev: {}\n...\n",
        "maglev: {}\n--- \n{\n",
        "maglev: {}\n]\n",
        "maglev: {\n",
        "\tmaglev: {}\n",
        "- a\n- b\n",
        "other: {}\n",
        "maglev: 5\n",
        "maglev: [1]\n",
        "maglev:\n  vpp:\n    lb:\n      sync-interval: 0\n",
        "maglev:\n  vpp:\n    lb:\n      sync-interval: -5s\n      flow-timeout: 1.5\n",
        "maglev:\n  vpp:\n    lb:\n      sticky-buckets-per-core: 0x10000\n",
        "maglev:\n  vpp:\n    lb:\n      sticky-buckets-per-core: \"1024\"\n",
        "maglev:\n  vpp:\n    lb:\n      sticky-buckets-per-core: 99999999999999999999\n",
        "maglev:\n  vpp:\n    lb:\n      sticky-buckets-per-core: -0o17\n",
        "maglev:\n  vpp:\n    lb:\n      sticky-buckets-per-core: 0123\n",
        "maglev:\n  vpp:\n    lb:\n      sticky-buckets-per-core: |\n        12\n",
        "maglev:\n  vpp:\n    lb:\n      sticky-buckets-per-core: !!int |\n        12\n",
        "maglev:\n  vpp:\n    lb: [a]\n",
        "maglev:\n  control: { mode: 0660 }\n",
        "maglev:\n  control: { mode: 0o660 }\n",
        "maglev:\n  control: { mode: \"0660\" }\n",
        "maglev:\n  control: { mode: 432 }\n",
        "maglev:\n  control: { mode: 18446744073709551615 }\n",
        "maglev:\n  control: { mode: true }\n",
        "maglev:\n  control: { mode: ~ }\n",
        "maglev:\n  control: { mode: {} }\n",
        "maglev:\n  control: { socket: 5, mode: 1.0 }\n",
        "maglev:\n  control: { socket: [x] }\n",
        "maglev:\n  healthchecker: { netns: ~, transition-history: '5' }\n",
        "maglev:\n  healthchecker: { netns: 'null', transition-history: +5 }\n",
        "maglev:\n  healthchecker: { netns: ns1, transition-history: -0x10 }\n",
        "maglev:\n  healthchecker: { transition-history: .inf }\n",
        "maglev:\n  healthchecker: { transition-history: }\n",
        "maglev:\n  healthchecker:\n    transition-history: 5\n    transition-history: 6\n",
        "maglev:\n  healthchecks:\n    h: { type: tcp, params: { insecure: yes } }\n",
        "maglev:\n  healthchecks:\n    h: { type: tcp, params: { insecure: True } }\n",
        "maglev:\n  healthchecks:\n    h: { type: tcp, params: { insecure: 'true' } }\n",
        "maglev:\n  healthchecks:\n    h: { type: http, params: { response-codes: 200 } }\n",
        "maglev:\n  healthchecks:\n    h: { type: http, params: { response-codes: 200-299, path: ~ } }\n",
        "maglev:\n  healthchecks:\n    h: { type: http, params: { response-contains: \"a\\tb\" } }\n",
        "maglev:\n  healthchecks:\n    h: { type: TCP }\n",
        "maglev:\n  healthchecks:\n    h: { type: }\n",
        "maglev:\n  healthchecks:\n    h: { type: 80 }\n",
        "maglev:\n  healthchecks:\n    h: { type: {a: 1} }\n",
        "maglev:\n  healthchecks:\n    h: { type: [tcp] }\n",
        "maglev:\n  healthchecks:\n    h: { type: \"tcp\" }\n",
        "maglev:\n  healthchecks:\n    h:\n",
        "maglev:\n  healthchecks:\n    ? [a]\n    : { type: tcp }\n",
        "maglev:\n  healthchecks:\n    5: { type: tcp }\n",
        "maglev:\n  healthchecks:\n    ~: { type: tcp }\n",
        "maglev:\n  backends:\n    b: { address: ::1 }\n    c: { address: '10.0.0.1', enabled: FALSE }\n",
        "maglev:\n  backends:\n    b: { address: 10 }\n",
        "maglev:\n  backends:\n    b: { address: [1] }\n",
        "maglev:\n  backends: []\n",
        "maglev:\n  backends: \"\"\n",
        "maglev:\n  frontends:\n    f: { address: 192.0.2.1, pools: }\n",
        "maglev:\n  frontends:\n    f: { address: 192.0.2.1, pools: [] }\n",
        "maglev:\n  frontends:\n    f: { address: 192.0.2.1, pools: [ ~ ] }\n",
        "maglev:\n  frontends:\n    f: { address: 192.0.2.1, pools: [ {} , [] ] }\n",
        "maglev:\n  frontends:\n    f: { address: 192.0.2.1, pools: [ { backends: { a: ~, b: 5, c: -1, d: { weight: ~ }, e: 0x20, f: {} } } ] }\n",
        "maglev:\n  frontends:\n    f: { address: 192.0.2.1, pools: [ { backends: { a: 99999999999999999999 } } ] }\n",
        "maglev:\n  frontends:\n    f: { address: 192.0.2.1, pools: [ { backends: { a: [1] } } ] }\n",
        "maglev:\n  frontends:\n    f: { address: 192.0.2.1, pools: [ { backends: { a: true } } ] }\n",
        "maglev:\n  frontends:\n    f: { address: 192.0.2.1, pools: [ { backends: { a: 'x' } } ] }\n",
        "maglev:\n  frontends:\n    f: { address: 192.0.2.1, pools: [ { backends: { a: .nan } } ] }\n",
        "maglev:\n  frontends:\n    f: { address: 192.0.2.1, pools: [ {name: a}, {name: b, backends: {x: {weight: 1, weight: 2}}} ] }\n",
        "maglev:\n  frontends:\n    f: { address: 192.0.2.1, protocol: Tcp, src-ip-sticky: 1 }\n",
        "maglev:\n  frontends:\n    f: { address: 192.0.2.1, description: 12:30 }\n",
        "maglev:\n  frontends:\n    f: { address: 192.0.2.1, description: >\n        folded\n        text\n      }\n",
        "maglev: !!map {}\n",
        "maglev: !custom {}\n",
        "maglev:\n  healthchecker: { netns: !!str 5, transition-history: !!str 5 }\n",
        "maglev:\n  healthchecker: { netns: !!null '', transition-history: !!int 5 }\n",
        "maglev:\n  control: { mode: !!bool true }\n",
        "maglev:\n  control: { mode: !!float 5 }\n",
        "maglev:\n  control: { mode: !!null x }\n",
        "maglev:\n  healthchecker: { netns: !!null x }\n",
        "maglev:\n  frontends:\n    f: { address: 192.0.2.1, pools: [ { backends: { a: !x } } ] }\n",
        "maglev:\n  frontends:\n    f: { address: 192.0.2.1, pools: [ { backends: { a: !x {} } } ] }\n",
        "maglev:\n  healthchecks:\n    h: { type: !tcp }\n",
        "maglev:\n  healthchecks:\n    h: { type: !tcp ~ }\n",
        "maglev:\n  healthchecks:\n    h: { type: !tcp x }\n",
        "maglev:\n  healthchecks:\n    h: { type: !tcp 'x' }\n",
        "maglev:\n  healthchecks:\n    h: { type: !udp }\n",
        "maglev:\n  healthchecks:\n    h: { type: !tcp {} }\n",
        "maglev: *a\n",
        "maglev: &a {}\nother: *b\n",
        "%YAML 1.1\n---\nmaglev: {}\n",
        "\u{feff}maglev: {}\n",
        "maglev: {}\n# trailing comment\n",
        "maglev:\n  vpp: {api-socket: \"\\xff\\u00e9\"}\n",
        "maglev:\n  vpp: {api-socket: \"\\x\"}\n",
        "maglev: {vpp: {api-socket: 'it''s'}}\n",
        "maglev: {vpp: {api-socket: |-\n    a\n    b\n}}\n",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        "maglev: {",
        ": :",
        "@",
        "'unterminated",
        "maglev:\n  - a\n  b: c\n",
        "key: value\n  bad indent: x\n",
        "a: b: c\n",
        "&a &b x\n",
        "!<tag:yaml.org,2002:str> x\n",
    ];
    for text in cases {
        assert_same::<RawDocument>(text);
    }
}

#[test]
fn values_resolve_as_serde_yaml_resolves_them() {
    let scalars = [
        "",
        "~",
        "null",
        "Null",
        "NULL",
        "nULL",
        "true",
        "True",
        "TRUE",
        "tRUE",
        "false",
        "yes",
        "no",
        "on",
        "0",
        "00",
        "-0",
        "+0",
        "007",
        "-007",
        "+12",
        "++12",
        "-+12",
        "+-12",
        "12",
        "-12",
        "0x1F",
        "0X1F",
        "-0x1F",
        "+0x1F",
        "0x-1",
        "0x+1",
        "0o17",
        "-0o17",
        "0o8",
        "0b101",
        "-0b101",
        "0b2",
        "0x",
        "1_000",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "340282366920938463463374607431768211455",
        "340282366920938463463374607431768211456",
        "1.5",
        "-1.5",
        "+1.5",
        "1e3",
        "1E3",
        "1.",
        ".5",
        "-.5",
        "1e400",
        ".inf",
        ".Inf",
        ".INF",
        "-.inf",
        "+.inf",
        ".nan",
        ".NaN",
        ".NAN",
        "nan",
        "inf",
        "-.nan",
        "0.0",
        "00.5",
        "012.5",
        "'5'",
        "\"5\"",
        "'true'",
        "'~'",
        "\"\"",
        "''",
        "!!str 5",
        "!!int 5",
        "!!int x",
        "!!float 5",
        "!!float x",
        "!!bool true",
        "!!bool yes",
        "!!null ~",
        "!!null x",
        "!!binary aGk=",
        "!x 5",
        "|\n  5\n",
        ">\n  5\n",
        "!!int |\n  5\n",
        "!!bool |\n  true\n",
        "!!float |\n  1.5\n",
        "\"\\xe9\"",
        "12:30",
        "2001:db8::1",
        "192.0.2.1",
        "5s",
        "-5s",
    ];
    for scalar in scalars {
        let text = format!("{scalar}\n");
        assert_same::<Option<i64>>(&text);
        assert_same::<Option<u8>>(&text);
        assert_same::<i128>(&text);
        assert_same::<u128>(&text);
        assert_same::<Option<f64>>(&text);
        assert_same::<Option<bool>>(&text);
        assert_same::<Option<String>>(&text);
        assert_same::<String>(&text);
        assert_same::<char>(&text);
        assert_same::<()>(&text);
        assert_same::<Vec<String>>(&text);
        assert_same::<BTreeMap<String, String>>(&text);
        assert_same::<crate::config::raw::RawPoolEntry>(&text);
        assert_same::<crate::config::raw::RawMode>(&text);
        assert_same::<crate::config::raw::RawDuration>(&text);
        if !scalar.starts_with("!x") {
            assert_same::<serde_yaml::Value>(&text);
            assert_same::<serde_yaml::Value>(&format!("[{scalar}]"));
            assert_same::<serde_yaml::Value>(&format!("k: {scalar}\n"));
        }
    }
}

#[test]
fn collections_decode_as_serde_yaml_does() {
    let cases = [
        "[]",
        "{}",
        "[1, [2, [3, {a: b}]], ~]",
        "{a: 1, b: [x, y], c: {d: e}}",
        "? [a, b]\n: c\n",
        "? {a: b}\n: c\n",
        "- - - a\n",
        "a:\n  - b\n  -\n  - c: d\n",
        "a: 1\na: 2\n",
        "[1, 2, 3]",
        "[1]",
        "{a: 1}",
    ];
    for text in cases {
        assert_same::<serde_yaml::Value>(text);
        assert_same::<Vec<serde_yaml::Value>>(text);
        assert_same::<BTreeMap<String, serde_yaml::Value>>(text);
        assert_same::<(i64, i64)>(text);
        assert_same::<[String; 1]>(text);
        assert_same::<Option<Vec<Option<String>>>>(text);
    }
}
