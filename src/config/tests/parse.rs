//! Stage 1: everything that must be a parse error (exit code 1).

use super::*;

fn parse_message(text: &str) -> String {
    match parse_str(text) {
        Err(error @ ConfigError::Parse { .. }) => {
            assert_eq!(error.exit_code(), 1);
            match error {
                ConfigError::Parse { message } => message,
                _ => unreachable!(),
            }
        }
        Err(other) => panic!("expected a parse error, got {other}"),
        Ok(_) => panic!("expected a parse error, got a valid config for:\n{text}"),
    }
}

#[test]
fn edits_that_are_parse_errors() {
    let cases: &[(&[Edit], &str)] = &[
        // Unknown keys at every level.
        (&[("maglev.bogus", Some("1"))], "maglev: unknown field `bogus`"),
        (
            &[("maglev.vpp.lb.bogus", Some("1"))],
            "maglev.vpp.lb: unknown field `bogus`",
        ),
        (
            &[("maglev.healthchecks.web.params", Some("{ url: /x }"))],
            "maglev.healthchecks.web.params: unknown field `url`",
        ),
        (
            &[("maglev.backends.web-a.weight", Some("5"))],
            "maglev.backends.web-a: unknown field `weight`",
        ),
        (
            &[(
                "maglev.frontends.web.pools[0].backends.web-a",
                Some("{ weight: 1, prio: 2 }"),
            )],
            "unknown field `prio`, expected `weight`",
        ),
        (
            &[("maglev.frontends.web.pools[0].extra", Some("1"))],
            "unknown field `extra`",
        ),
        // Wrong types and enum values.
        (
            &[("maglev.healthchecks.web.port", Some("eighty"))],
            "maglev.healthchecks.web.port: invalid type: string \"eighty\", expected i64",
        ),
        (
            &[("maglev.healthchecks.web.type", Some("udp"))],
            "unknown variant `udp`, expected one of `icmp`, `tcp`, `http`, `https`",
        ),
        (
            &[("maglev.healthchecks.web.type", None)],
            "maglev.healthchecks.web: missing field `type`",
        ),
        (
            &[("maglev.frontends.web.protocol", Some("sctp"))],
            "unknown variant `sctp`, expected one of `tcp`, `udp`, `any`",
        ),
        (
            &[("maglev.frontends.web.src-ip-sticky", Some("maybe"))],
            "maglev.frontends.web.src-ip-sticky: invalid type",
        ),
        (
            &[("maglev.frontends.web.pools", Some("{ name: x }"))],
            "maglev.frontends.web.pools: invalid type: map, expected a sequence",
        ),
        (&[("maglev.backends", Some("[a, b]"))], "expected a map keyed by name"),
        (
            &[("maglev.frontends.web.pools[0].backends.web-a", Some("1.5"))],
            "invalid type: floating point `1.5`, expected a pool entry",
        ),
        (
            &[("maglev.frontends.web.pools[0].backends.web-a", Some("\"50\""))],
            "invalid type: string \"50\", expected a pool entry",
        ),
        (
            &[("maglev.frontends.web.pools[0].backends.web-a", Some("{ weight: high }"))],
            "invalid type: string \"high\", expected i64",
        ),
        (&[("maglev.control.mode", Some("[1]"))], "expected a file mode"),
        // Durations.
        (
            &[("maglev.healthchecks.web.interval", Some("5"))],
            "maglev.healthchecks.web.interval: missing unit in duration \"5\"",
        ),
        (
            &[("maglev.healthchecks.web.timeout", Some("1 second"))],
            "maglev.healthchecks.web.timeout: unknown unit \" second\" in duration \"1 second\"",
        ),
        (
            &[("maglev.vpp.lb.flow-timeout", Some("abc"))],
            "maglev.vpp.lb.flow-timeout: invalid duration \"abc\"",
        ),
        // Addresses.
        (
            &[("maglev.frontends.web.address", Some("192.0.2.80/32"))],
            "maglev.frontends.web.address: `192.0.2.80/32` is a prefix; give a bare IP address such as `192.0.2.80`",
        ),
        (
            &[("maglev.backends.web-a.address", Some("www.example.com"))],
            "maglev.backends.web-a.address: `www.example.com` is not an IP address",
        ),
        (
            &[("maglev.vpp.lb.ipv4-src-address", Some("192.0.2.300"))],
            "`192.0.2.300` is not an IP address",
        ),
        (
            &[("maglev.backends.web-a.address", None)],
            "maglev.backends.web-a: missing field `address`",
        ),
    ];
    for (edits, expected) in cases {
        let message = parse_message(&edited(edits));
        assert!(
            message.contains(expected),
            "edits {edits:?}\n  message:  {message}\n  expected: {expected}"
        );
    }
}

#[test]
fn duplicate_keys_are_parse_errors() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "    web-b: { address: 198.51.100.2, healthcheck: web }\n",
            "    web-b: { address: 198.51.100.2, healthcheck: web }\n    web-a: { address: 198.51.100.9 }\n",
            "maglev.backends: duplicate key `web-a`",
        ),
        (
            "    dns:\n      type: tcp\n",
            "    web:\n      type: tcp\n",
            "maglev.healthchecks: duplicate key `web`",
        ),
        (
            "            web-b: {}\n",
            "            web-b: {}\n            web-a: 10\n",
            "duplicate key `web-a`",
        ),
        (
            "      protocol: tcp\n      port: 80\n",
            "      protocol: tcp\n      port: 80\n      port: 81\n",
            "maglev.frontends.web: duplicate field `port`",
        ),
        (
            "            web-a: { weight: 100 }\n",
            "            web-a: { weight: 100, weight: 5 }\n",
            "duplicate field `weight`",
        ),
        (
            "  frontends:\n",
            "  frontends:\n    web:\n      address: 192.0.2.1\n",
            "maglev.frontends: duplicate key `web`",
        ),
    ];
    for (from, to, expected) in cases {
        assert!(BASE.contains(from), "{from:?}");
        let text = BASE.replacen(from, to, 1);
        let message = parse_message(&text);
        assert!(
            message.contains(expected),
            "message:  {message}\nexpected: {expected}"
        );
    }
}

#[test]
fn parse_errors_carry_a_location() {
    let message = parse_message("maglev:\n  backends:\n    a: { address: 1.2.3.4, x: 1 }\n");
    assert!(message.contains("line 3"), "{message}");
    // Errors raised while converting a value (durations, addresses) point
    // at the value itself, not at its parent mapping.
    let text =
        "maglev:\n  healthchecks:\n    web:\n      type: http\n      port: 80\n      interval: 5\n";
    assert_eq!(
        parse_message(text),
        "maglev.healthchecks.web.interval: missing unit in duration \"5\" (use ns, us, ms, s, m or h) at line 6 column 17"
    );
}

#[test]
fn documents_that_are_not_a_config() {
    for (text, expected) in [
        ("", "missing field `maglev`"),
        ("- a\n- b\n", "invalid type: sequence"),
        ("maglev: {\n", "did not find expected"),
        (
            "\tmaglev: {}\n",
            "found character that cannot start any token",
        ),
        ("other: {}\n", "unknown field `other`"),
    ] {
        let message = parse_message(text);
        assert!(message.contains(expected), "{text:?}: {message}");
    }
}
