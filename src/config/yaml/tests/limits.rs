//! Anchors and aliases, the limits that keep hostile input cheap (nesting
//! depth, alias expansion), exact error positions, and bytes that are not
//! YAML at all.

use super::{assert_same, both, SHIPPED};
use crate::config::raw::RawDocument;
use crate::config::yaml::{from_slice, from_str, Error};

const WITH_ALIASES: &str = r#"
maglev:
  healthchecks:
    web: &check
      type: http
      port: &port 80
      params: &params { path: /healthz, response-codes: 200-299 }
    web2:
      type: http
      port: *port
      params: *params
    copy: *check
  backends:
    a: &backend { address: &ip 198.51.100.1, healthcheck: web }
    b: *backend
    c: { address: *ip }
  frontends:
    f:
      address: 192.0.2.1
      pools:
        - &pool { name: p, backends: { a: &w { weight: 5 }, b: *w } }
        - *pool
"#;

#[test]
fn aliases_replay_the_anchored_node() {
    let document: RawDocument = from_str(WITH_ALIASES).unwrap();
    let checks = &document.maglev.healthchecks.as_ref().unwrap().0;
    assert_eq!(checks.len(), 3);
    assert_eq!(checks[1].1.port, Some(80));
    assert_eq!(
        checks[1].1.params.as_ref().unwrap().path.as_deref(),
        Some("/healthz")
    );
    assert_eq!(format!("{:?}", checks[2].1), format!("{:?}", checks[0].1));
    let backends = &document.maglev.backends.as_ref().unwrap().0;
    assert_eq!(backends[1].1.address, backends[0].1.address);
    assert_eq!(backends[2].1.address, backends[0].1.address);
    assert_same::<RawDocument>(WITH_ALIASES);
}

#[test]
fn alias_cases_match_serde_yaml() {
    for text in [
        "a: &x 1\nb: *x\n",
        "a: &x [1, &y {k: v}]\nb: *x\nc: *y\n",
        "a: &x 1\na2: &x 2\nb: *x\n",
        "a: &x {k: &y [1]}\nb: [*x, *y, *x]\n",
        "a: &x ~\nb: *x\n",
        "a: &x\nb: *x\n",
        "a: *x\n",
        "&k key: v\n*k : w\n",
        "a: &x [1]\nb: *x\nc: *z\n",
    ] {
        assert_same::<serde_yaml::Value>(text);
        assert_same::<std::collections::BTreeMap<String, Option<serde_yaml::Value>>>(text);
    }
}

#[test]
fn an_alias_inside_its_own_anchor_is_refused() {
    // serde_yaml recurses into it until its depth limit; we refuse it
    // where it stands.
    let error = from_str::<serde_yaml::Value>("a: &x [1, *x]\n").unwrap_err();
    assert_eq!(
        error.to_string(),
        "alias refers to a node that contains it at line 1 column 11"
    );
    let (_, reference) = both::<serde_yaml::Value>("a: &x [1, *x]\n");
    assert!(reference.starts_with("Err("), "{reference}");
}

#[test]
fn alias_bombs_hit_the_repetition_limit() {
    let mut text = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..10 {
        let previous = format!("*l{}", level - 1);
        let items = [previous.as_str(); 10].join(", ");
        text.push_str(&format!("l{level}: &l{level} [{items}]\n"));
    }
    let started = std::time::Instant::now();
    let error = from_str::<serde_yaml::Value>(&text).unwrap_err();
    assert_eq!(error, Error::RepetitionLimitExceeded);
    assert_eq!(error.to_string(), "repetition limit exceeded");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // Skipped values are expanded too, so unknown keys do not dodge it.
    let error = from_str::<RawDocument>(&format!("maglev: {{}}\n{text}")).unwrap_err();
    assert!(error.to_string().contains("unknown field `l0`"), "{error}");
    // A few levels are fine, as in serde_yaml.
    let small = text.lines().take(3).collect::<Vec<_>>().join("\n");
    assert_same::<serde_yaml::Value>(&small);
    assert!(from_str::<serde_yaml::Value>(&small).is_ok());
}

#[test]
fn nesting_deeper_than_the_limit_is_refused() {
    for depth in [127, 128, 129, 10_000] {
        let flow = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert_same::<serde_yaml::Value>(&flow);
        let mut block = String::new();
        for level in 0..depth.min(300) {
            block.push_str(&" ".repeat(level));
            block.push_str("k:\n");
        }
        assert_same::<serde_yaml::Value>(&block);
    }
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    assert_eq!(
        from_str::<serde_yaml::Value>(&deep)
            .unwrap_err()
            .to_string(),
        "recursion limit exceeded at line 1 column 129"
    );
    // Unterminated: the limit is hit before the missing brackets matter.
    let error = from_str::<RawDocument>(&format!("maglev: {{a: {}", "[".repeat(100_000)));
    assert!(error.is_err());
}

#[test]
fn errors_name_the_path_and_position_of_the_value() {
    let cases = [
        (
            "maglev:\n  healthchecks:\n    web:\n      type: http\n      port: eighty\n",
            "maglev.healthchecks.web.port: invalid type: string \"eighty\", expected i64 at line 5 column 13",
        ),
        (
            "maglev:\n  frontends:\n    web:\n      address: 192.0.2.1\n      pools:\n        - backends:\n            web-a: 1.5\n",
            "maglev.frontends.web.pools[0].backends.web-a: invalid type: floating point `1.5`, expected a pool entry: `{ weight: N }`, `{}`, nothing, or an integer weight at line 7 column 20",
        ),
        (
            "maglev:\n  backends:\n    a: { address: 1.2.3.4 }\n    a: { address: 1.2.3.5 }\n",
            "maglev.backends: duplicate key `a` at line 3 column 5",
        ),
        (
            "maglev:\n  vpp: { lb: { bogus: 1 } }\n",
            "maglev.vpp.lb: unknown field `bogus`, expected one of `sync-interval`, `ipv4-src-address`, `ipv6-src-address`, `sticky-buckets-per-core`, `flow-timeout`, `startup-min-delay`, `startup-max-delay` at line 2 column 16",
        ),
        (
            "maglev:\n  vpp: { lb: { sync-interval: *nope } }\n",
            "unknown anchor at line 2 column 31",
        ),
        ("maglev: {\n", "did not find expected node content at line 2 column 1, while parsing a flow node"),
        ("", "missing field `maglev`"),
        ("\n\n", "missing field `maglev` at line 3 column 1"),
        ("maglev: {}\n---\n", "deserializing from YAML containing more than one document is not supported"),
    ];
    for (text, expected) in cases {
        let message = from_str::<RawDocument>(text).unwrap_err().to_string();
        assert_eq!(message, expected, "{text:?}");
        assert_same::<RawDocument>(text);
    }
}

/// A small deterministic generator, so that failures reproduce.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn bytes_that_are_not_yaml_are_errors_not_panics() {
    for bytes in [
        &b"\xff\xfe"[..],
        b"maglev: \xc3\x28\n",
        b"maglev:\n  vpp: { api-socket: \"\x80\" }\n",
        b"\x00",
        b"maglev: {}\x00",
    ] {
        let error = from_slice::<RawDocument>(bytes).unwrap_err();
        assert!(matches!(error, Error::Syntax(_)), "{bytes:?}: {error:?}");
        let reference = serde_yaml::from_slice::<RawDocument>(bytes).unwrap_err();
        assert_eq!(error.to_string(), reference.to_string(), "{bytes:?}");
    }
    // Random bytes, and the shipped configs with random bytes flipped.
    let mut state = 0x9e37_79b9_7f4a_7c15;
    for round in 0..2_000 {
        let mut bytes: Vec<u8> = if round % 2 == 0 {
            let len = (xorshift(&mut state) % 200) as usize;
            (0..len).map(|_| xorshift(&mut state) as u8).collect()
        } else {
            let (_, text) = SHIPPED[round / 2 % SHIPPED.len()];
            text.as_bytes().to_vec()
        };
        if !bytes.is_empty() {
            for _ in 0..3 {
                let at = (xorshift(&mut state) % bytes.len() as u64) as usize;
                let noise = b"{}[]:,&*!|>'\"-?#%@\n\t \xff";
                bytes[at] = noise[(xorshift(&mut state) % noise.len() as u64) as usize];
            }
        }
        let ours = from_slice::<RawDocument>(&bytes).map(|d| format!("{d:?}"));
        let reference = serde_yaml::from_slice::<RawDocument>(&bytes).map(|d| format!("{d:?}"));
        assert_eq!(
            ours.map_err(|e| e.to_string()),
            reference.map_err(|e| e.to_string()),
            "{:?}",
            String::from_utf8_lossy(&bytes)
        );
    }
}
