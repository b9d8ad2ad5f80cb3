//! Stage 2: each rule with a valid and an invalid case; error text exact.

use super::*;

/// (edits of BASE, exact semantic errors; empty = must be valid).
pub(super) type Case<'a> = (&'a [Edit<'a>], &'a [&'a str]);

pub(super) fn run(cases: &[Case]) {
    for (edits, expected) in cases {
        let text = edited(edits);
        assert_eq!(semantic_errors(&text), *expected, "edits {edits:?}");
    }
}

const HC: &str = "maglev.healthchecks";

#[test]
fn healthchecker_rules() {
    run(&[
        (
            &[("maglev.healthchecker.transition-history", Some("1"))],
            &[],
        ),
        (
            &[("maglev.healthchecker.transition-history", Some("0"))],
            &["healthchecker.transition-history: 0 out of range: must be at least 1"],
        ),
        (
            &[("maglev.healthchecker.transition-history", Some("-3"))],
            &["healthchecker.transition-history: -3 out of range: must be at least 1"],
        ),
        (&[("maglev.healthchecker.netns", Some("dataplane"))], &[]),
        (&[("maglev.healthchecker.netns", Some("\"\""))], &[]),
        (
            &[("maglev.healthchecker.netns", Some("../etc"))],
            &["healthchecker.netns: \"../etc\" is not a namespace name (as listed by `ip netns`)"],
        ),
    ]);
}

#[test]
fn vpp_rules() {
    let lb = |key: &'static str| -> String { format!("maglev.vpp.lb.{key}") };
    let sync = lb("sync-interval");
    let sticky = lb("sticky-buckets-per-core");
    let flow = lb("flow-timeout");
    let (min, max) = (lb("startup-min-delay"), lb("startup-max-delay"));
    let (v4, v6) = (lb("ipv4-src-address"), lb("ipv6-src-address"));
    run(&[
        (&[(&sync, Some("0"))], &[]),
        (&[(&sync, Some("0s"))], &[]),
        (&[(&sync, Some("1m"))], &[]),
        (
            &[(&sync, Some("-5s"))],
            &["vpp.lb.sync-interval: negative duration \"-5s\""],
        ),
        (&[(&sticky, Some("1024"))], &[]),
        (&[(&sticky, Some("1"))], &[]),
        (
            &[(&sticky, Some("1000"))],
            &["vpp.lb.sticky-buckets-per-core: 1000 is not a power of 2 in 1..=2147483648"],
        ),
        (
            &[(&sticky, Some("0"))],
            &["vpp.lb.sticky-buckets-per-core: 0 is not a power of 2 in 1..=2147483648"],
        ),
        (
            &[(&sticky, Some("4294967296"))],
            &["vpp.lb.sticky-buckets-per-core: 4294967296 is not a power of 2 in 1..=2147483648"],
        ),
        (&[(&flow, Some("1s"))], &[]),
        (&[(&flow, Some("2m"))], &[]),
        (&[(&flow, Some("1000ms"))], &[]),
        (
            &[(&flow, Some("0"))],
            &["vpp.lb.flow-timeout: 0s out of range 1s..=120s"],
        ),
        (
            &[(&flow, Some("121s"))],
            &["vpp.lb.flow-timeout: 2m1s out of range 1s..=120s"],
        ),
        (
            &[(&flow, Some("1500ms"))],
            &["vpp.lb.flow-timeout: 1.5s is not a whole number of seconds"],
        ),
        (
            &[(&flow, Some("-40s"))],
            &["vpp.lb.flow-timeout: negative duration \"-40s\""],
        ),
        (&[(&min, Some("0")), (&max, Some("0"))], &[]),
        (&[(&min, Some("10s")), (&max, Some("10s"))], &[]),
        (
            &[(&min, Some("10s")), (&max, Some("9s"))],
            &["vpp.lb.startup-max-delay: 9s is less than startup-min-delay 10s"],
        ),
        (
            &[(&max, Some("1s"))],
            &["vpp.lb.startup-max-delay: 1s is less than startup-min-delay 5s"],
        ),
        (
            &[(&min, Some("-1s"))],
            &["vpp.lb.startup-min-delay: negative duration \"-1s\""],
        ),
        (
            &[(&v4, Some("2001:db8::1"))],
            &["vpp.lb.ipv4-src-address: must be an IPv4 address, got 2001:db8::1"],
        ),
        (
            &[(&v6, Some("192.0.2.1"))],
            &["vpp.lb.ipv6-src-address: must be an IPv6 address, got 192.0.2.1"],
        ),
        (&[("maglev.vpp.stats-socket", Some("/tmp/stats.sock"))], &[]),
        (&[("maglev.vpp.stats-socket", Some("\"\""))], &[]),
    ]);
}

#[test]
fn vpp_source_addresses_required_per_used_family() {
    let v4 = "maglev.vpp.lb.ipv4-src-address";
    let v6 = "maglev.vpp.lb.ipv6-src-address";
    let no_v6_frontend = ("maglev.frontends.web6", None);
    run(&[
        (
            &[(v4, None)],
            &["vpp.lb.ipv4-src-address: required when VPP integration is enabled (vpp.api-socket): frontends.web uses IPv4 backend `web-a`"],
        ),
        (
            &[(v6, None)],
            &["vpp.lb.ipv6-src-address: required when VPP integration is enabled (vpp.api-socket): frontends.web6 uses IPv6 backend `web6-a`"],
        ),
        // IPv6 backends exist but no frontend uses them: not required.
        (&[(v6, None), no_v6_frontend], &[]),
        // VPP integration disabled: nothing required.
        (
            &[(v4, None), (v6, None), ("maglev.vpp.api-socket", Some("\"\""))],
            &[],
        ),
        // Given but of the wrong family: one error, not two.
        (
            &[(v4, Some("2001:db8::1"))],
            &["vpp.lb.ipv4-src-address: must be an IPv4 address, got 2001:db8::1"],
        ),
    ]);
    let config = parse_str(&edited(&[
        (v4, None),
        (v6, None),
        ("maglev.vpp.api-socket", Some("\"\"")),
    ]))
    .unwrap();
    assert_eq!(config.vpp.api_socket, None);
}

#[test]
fn control_rules() {
    run(&[
        (&[("maglev.control.socket", Some("/run/maglev.sock"))], &[]),
        (&[("maglev.control.mode", Some("\"0600\""))], &[]),
        (&[("maglev.control.mode", Some("0600"))], &[]),
        (&[("maglev.control.mode", Some("0o640"))], &[]),
        (
            &[("maglev.control.socket", Some("\"\""))],
            &["control.socket: must not be empty (omit it for the default)"],
        ),
        (
            &[("maglev.control.mode", Some("999"))],
            &["control.mode: 0o1747 is above 0o777 (write the mode as an octal string such as \"0660\")"],
        ),
        (
            &[("maglev.control.mode", Some("rw-rw----"))],
            &["control.mode: \"rw-rw----\" is not an octal file mode such as \"0660\""],
        ),
    ]);
    let mode_of = |snippet: &str| {
        let text = edited(&[("maglev.control.mode", Some(snippet))]);
        parse_str(&text).unwrap().control.mode
    };
    assert_eq!(
        mode_of("0600"),
        0o600,
        "unquoted 0600 is read as octal text"
    );
    assert_eq!(mode_of("0o640"), 0o640);
    assert_eq!(mode_of("416"), 0o640, "a plain integer is the numeric mode");
}

#[test]
fn healthcheck_port_and_timing_rules() {
    let web = |key: &str| format!("{HC}.web.{key}");
    let (port, interval, fast, down) = (
        web("port"),
        web("interval"),
        web("fast-interval"),
        web("down-interval"),
    );
    let (timeout, rise, fall) = (web("timeout"), web("rise"), web("fall"));
    run(&[
        (
            &[(&format!("{HC}.dns.port"), None)],
            &["healthchecks.dns.port: required for tcp checks"],
        ),
        (
            &[(&port, None)],
            &["healthchecks.web.port: required for http checks"],
        ),
        (
            &[(&format!("{HC}.ping.port"), Some("7"))],
            &["healthchecks.ping.port: not used by icmp checks; remove it"],
        ),
        (&[(&port, Some("65535"))], &[]),
        (
            &[(&port, Some("0"))],
            &["healthchecks.web.port: 0 out of range 1..=65535"],
        ),
        (
            &[(&port, Some("70000"))],
            &["healthchecks.web.port: 70000 out of range 1..=65535"],
        ),
        (
            &[
                (&interval, Some("250ms")),
                (&fast, Some("100ms")),
                (&down, Some("10s")),
            ],
            &[],
        ),
        (&[(&timeout, Some("5s"))], &[]),
        (
            &[(&interval, Some("0"))],
            &["healthchecks.web.interval: must be greater than 0"],
        ),
        (
            &[(&fast, Some("0s"))],
            &["healthchecks.web.fast-interval: must be greater than 0"],
        ),
        (
            &[(&down, Some("-1s"))],
            &["healthchecks.web.down-interval: negative duration \"-1s\""],
        ),
        (
            &[(&timeout, Some("0ms"))],
            &["healthchecks.web.timeout: must be greater than 0"],
        ),
        (&[(&rise, Some("1")), (&fall, Some("1"))], &[]),
        (
            &[(&rise, Some("0"))],
            &["healthchecks.web.rise: 0 out of range 1..=65535"],
        ),
        (
            &[(&fall, Some("-2"))],
            &["healthchecks.web.fall: -2 out of range 1..=65535"],
        ),
        (&[(&rise, Some("65535")), (&fall, Some("65535"))], &[]),
        (
            &[(&fall, Some("65536"))],
            &["healthchecks.web.fall: 65536 out of range 1..=65535"],
        ),
        (
            &[
                (&format!("{HC}.ping.probe-ipv4-src"), Some("192.0.2.9")),
                (&format!("{HC}.ping.probe-ipv6-src"), Some("2001:db8::9")),
            ],
            &[],
        ),
        (
            &[(&web("probe-ipv4-src"), Some("2001:db8::9"))],
            &["healthchecks.web.probe-ipv4-src: must be an IPv4 address, got 2001:db8::9"],
        ),
        (
            &[(&web("probe-ipv6-src"), Some("192.0.2.9"))],
            &["healthchecks.web.probe-ipv6-src: must be an IPv6 address, got 192.0.2.9"],
        ),
    ]);
}

#[test]
fn healthcheck_params_rules() {
    let web = |key: &str| format!("{HC}.web.params.{key}");
    let tls = |key: &str| format!("{HC}.tls.params.{key}");
    run(&[
        (&[(&format!("{HC}.dns.params"), Some("{}"))], &[]),
        (
            &[(&format!("{HC}.dns.params"), Some("{ path: /x, insecure: true }"))],
            &[
                "healthchecks.dns.params.insecure: not allowed: tcp checks take no params",
                "healthchecks.dns.params.path: not allowed: tcp checks take no params",
            ],
        ),
        (
            &[(&format!("{HC}.ping.params"), Some("{ host: a }"))],
            &["healthchecks.ping.params.host: not allowed: icmp checks take no params"],
        ),
        (&[(&web("path"), Some("/healthz?full=1"))], &[]),
        (
            &[(&web("path"), Some("healthz"))],
            &["healthchecks.web.params.path: \"healthz\" must start with '/'"],
        ),
        (
            &[(&web("path"), Some("\"/a b\""))],
            &["healthchecks.web.params.path: \"/a b\" must not contain spaces or control characters"],
        ),
        (&[(&web("host"), Some("www.example.com"))], &[]),
        (
            &[(&web("host"), Some("\"\""))],
            &["healthchecks.web.params.host: \"\" must be non-empty, without spaces or control characters"],
        ),
        (&[(&web("response-codes"), Some("200"))], &[]),
        (&[(&web("response-codes"), Some("\"200,204,300-302\""))], &[]),
        (
            &[(&web("response-codes"), Some("600"))],
            &["healthchecks.web.params.response-codes: status code 600 out of range 100..=599"],
        ),
        (
            &[(&web("response-codes"), Some("399-200"))],
            &["healthchecks.web.params.response-codes: range \"399-200\" is reversed (399 > 200)"],
        ),
        (&[(&web("response-contains"), Some("OK"))], &[]),
        (
            &[(&web("response-contains"), Some("\"\""))],
            &["healthchecks.web.params.response-contains: must not be empty (omit it to accept any body)"],
        ),
        (&[(&web("response-regexp"), Some("\"^ok( [0-9]+)?$\""))], &[]),
        (&[(&tls("insecure"), Some("false"))], &[]),
        (
            &[(&web("insecure"), Some("true"))],
            &["healthchecks.web.params.insecure: only meaningful for https checks"],
        ),
    ]);
    let errors = semantic_errors(&edited(&[(&web("response-regexp"), Some("\"(unclosed\""))]));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]
            .starts_with("healthchecks.web.params.response-regexp: invalid regular expression: "),
        "{errors:?}"
    );
    let config = parse_str(&edited(&[(
        &web("response-codes"),
        Some("\"200, 301-302\""),
    )]))
    .unwrap();
    let http = config.healthchecks["web"].http.clone().unwrap();
    assert_eq!(
        http.response_codes,
        [
            StatusRange {
                low: 200,
                high: 200
            },
            StatusRange {
                low: 301,
                high: 302
            }
        ]
    );
    let config = parse_str(&edited(&[(&tls("insecure"), Some("false"))])).unwrap();
    assert!(!config.healthchecks["tls"].http.clone().unwrap().insecure);
}

#[test]
fn backend_rules() {
    run(&[
        (&[("maglev.backends.web-a.enabled", Some("false"))], &[]),
        (
            &[("maglev.backends.web-a.healthcheck", Some("nope"))],
            &["backends.web-a.healthcheck: unknown healthcheck `nope`"],
        ),
        (
            &[("maglev.backends.web-a.healthcheck", Some("\"\""))],
            &["backends.web-a.healthcheck: must not be empty (omit it for a static backend)"],
        ),
        // A backend no frontend uses is fine (it is still probed).
        (
            &[(
                "maglev.backends.spare",
                Some("{ address: 198.51.100.77, healthcheck: web }"),
            )],
            &[],
        ),
    ]);
    let config = parse_str(&edited(&[("maglev.backends.web-a.enabled", Some("false"))])).unwrap();
    assert!(!config.backends["web-a"].enabled);
}

#[test]
fn names_are_single_words() {
    let yaml = r#"
maglev:
  vpp: { api-socket: "" }
  backends:
    "web 1": { address: 192.0.2.1 }
    ok-1: { address: 192.0.2.2 }
  frontends:
    "f\tx":
      address: 192.0.2.80
      pools:
        - name: "pri mary"
          backends: { ok-1: {} }
"#;
    let err = crate::config::parse_str(yaml).unwrap_err().to_string();
    assert!(
        err.contains("backends.web 1: name \"web 1\" must be non-empty, without blanks"),
        "{err}"
    );
    assert!(err.contains("pools[0].name: name \"pri mary\""), "{err}");
    assert!(err.contains("name \"f\\tx\""), "{err}");
    assert!(!err.contains("ok-1"), "{err}");
}
