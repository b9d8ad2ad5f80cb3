//! Tests of `load` / `parse_str`: defaults, the spec and shipped examples,
//! parse errors (`parse.rs`) and every semantic rule (`semantic.rs`).

mod frontends;
mod parse;
mod semantic;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

use serde_yaml::Value;

use super::*;

/// A valid document every semantic case starts from.
pub(super) const BASE: &str = r#"
maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.254
      ipv6-src-address: 2001:db8::fe
  healthchecks:
    web:
      type: http
      port: 80
    dns:
      type: tcp
      port: 53
    ping:
      type: icmp
    tls:
      type: https
      port: 443
  backends:
    web-a: { address: 198.51.100.1, healthcheck: web }
    web-b: { address: 198.51.100.2, healthcheck: web }
    web-c: { address: 198.51.100.3 }
    web6-a: { address: "2001:db8:1::1", healthcheck: tls }
    web6-b: { address: "2001:db8:1::2", healthcheck: ping }
  frontends:
    web:
      address: 192.0.2.80
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends:
            web-a: { weight: 100 }
            web-b: {}
        - name: fallback
          backends:
            web-c: 50
    web6:
      address: 2001:db8::443
      protocol: tcp
      port: 443
      pools:
        - name: primary
          backends:
            web6-a:
            web6-b: { weight: 0 }
"#;

/// One edit of [`BASE`]: set the value at a dotted path (`a.b[1].c`) to a
/// YAML snippet, or remove it (`None`).
pub(super) type Edit<'a> = (&'a str, Option<&'a str>);

pub(super) fn edited(edits: &[Edit]) -> String {
    let mut document: Value = serde_yaml::from_str(BASE).unwrap();
    for (path, value) in edits {
        apply(&mut document, path, *value);
    }
    serde_yaml::to_string(&document).unwrap()
}

fn apply(document: &mut Value, path: &str, value: Option<&str>) {
    let mut steps: Vec<(String, Option<usize>)> = Vec::new();
    for segment in path.split('.') {
        match segment.split_once('[') {
            Some((key, index)) => {
                let index: usize = index.trim_end_matches(']').parse().unwrap();
                steps.push((key.to_string(), Some(index)));
            }
            None => steps.push((segment.to_string(), None)),
        }
    }
    let (last, parents) = steps.split_last().unwrap();
    let mut node = document;
    for (key, index) in parents {
        let mapping = node.as_mapping_mut().unwrap();
        let key = Value::String(key.clone());
        if !mapping.contains_key(&key) {
            mapping.insert(key.clone(), Value::Mapping(Default::default()));
        }
        node = mapping.get_mut(&key).unwrap();
        if let Some(index) = index {
            node = node.as_sequence_mut().unwrap().get_mut(*index).unwrap();
        }
    }
    let (key, index) = last;
    let mapping = node.as_mapping_mut().unwrap();
    let key = Value::String(key.clone());
    match (value, index) {
        (Some(text), None) => {
            mapping.insert(key, serde_yaml::from_str(text).unwrap());
        }
        (None, None) => {
            mapping.remove(&key);
        }
        (Some(text), Some(index)) => {
            let sequence = mapping.get_mut(&key).unwrap().as_sequence_mut().unwrap();
            sequence[*index] = serde_yaml::from_str(text).unwrap();
        }
        (None, Some(index)) => {
            let sequence = mapping.get_mut(&key).unwrap().as_sequence_mut().unwrap();
            sequence.remove(*index);
        }
    }
}

pub(super) fn semantic_errors(text: &str) -> Vec<String> {
    match parse_str(text) {
        Err(ConfigError::Semantic { errors }) => errors.iter().map(|e| e.to_string()).collect(),
        Ok(_) => Vec::new(),
        Err(other) => panic!("expected semantic errors, got {other}"),
    }
}

#[test]
fn base_document_is_valid() {
    let config = parse_str(BASE).unwrap();
    let web = &config.frontends["web"];
    assert_eq!(web.protocol, Protocol::Tcp);
    let members: Vec<(&str, u8)> = web
        .pools
        .iter()
        .flat_map(|p| p.members.iter().map(|m| (m.backend.as_str(), m.weight)))
        .collect();
    assert_eq!(members, [("web-a", 100), ("web-b", 100), ("web-c", 50)]);
    let web6 = &config.frontends["web6"].pools[0].members;
    assert_eq!(web6[0].weight, 100, "empty value takes the default");
    assert_eq!(web6[1].weight, 0);
}

#[test]
fn defaults_of_an_empty_document() {
    for text in [
        "maglev: {}",
        "maglev:",
        "maglev:\n  vpp:\n  healthchecks:\n",
    ] {
        let config = parse_str(text).unwrap();
        assert_eq!(
            config.healthchecker,
            HealthcheckerConfig {
                transition_history: 5,
                netns: None
            }
        );
        assert_eq!(
            config.vpp,
            VppConfig {
                api_socket: Some(PathBuf::from("/run/vpp/api.sock")),
                stats_socket: PathBuf::from("/run/vpp/stats.sock"),
                lb: LbConfig {
                    sync_interval: Duration::from_secs(30),
                    ipv4_src_address: None,
                    ipv6_src_address: None,
                    sticky_buckets_per_core: 65536,
                    flow_timeout_secs: 40,
                    startup_min_delay: Duration::from_secs(5),
                    startup_max_delay: Duration::from_secs(30),
                },
            }
        );
        assert_eq!(
            config.control,
            ControlConfig {
                socket: None,
                mode: 0o660
            }
        );
        assert!(config.healthchecks.is_empty());
        assert!(config.backends.is_empty());
        assert!(config.frontends.is_empty());
    }
}

#[test]
fn defaults_of_checks_backends_and_frontends() {
    let text = r#"
maglev:
  vpp: { api-socket: "" }
  healthchecks:
    h: { type: http, port: 8080, interval: 3s }
    t: { type: tcp, port: 22, params: {} }
  backends:
    b: { address: 198.51.100.1, healthcheck: h }
  frontends:
    f:
      address: 192.0.2.1
      pools: [ { name: p, backends: { b: } } ]
"#;
    let config = parse_str(text).unwrap();
    assert_eq!(config.vpp.api_socket, None);
    let http = &config.healthchecks["h"];
    assert_eq!(http.interval, Duration::from_secs(3));
    assert_eq!(http.fast_interval, Duration::from_secs(3), "= interval");
    assert_eq!(http.down_interval, Duration::from_secs(3), "= interval");
    assert_eq!(http.timeout, Duration::from_secs(1));
    assert_eq!((http.rise, http.fall), (2, 3));
    assert_eq!(
        http.http,
        Some(HttpParams {
            path: "/".into(),
            host: None,
            response_codes: vec![StatusRange {
                low: 200,
                high: 399
            }],
            response_contains: None,
            response_regexp: None,
            insecure: true,
        })
    );
    let tcp = &config.healthchecks["t"];
    assert_eq!(tcp.interval, Duration::from_secs(2));
    assert_eq!(tcp.http, None);
    assert_eq!(tcp.port, Some(22));
    assert!(config.backends["b"].enabled);
    let frontend = &config.frontends["f"];
    assert_eq!(frontend.protocol, Protocol::Any);
    assert_eq!(frontend.port, 0);
    assert_eq!(frontend.description, "");
    assert!(!frontend.src_ip_sticky);
    assert!(frontend.flush_on_down);
    assert_eq!(frontend.pools[0].members[0].weight, 100);
}

#[test]
fn spec_example_parses() {
    let text = include_str!("../../../tests/fixtures/config/spec-example.yaml");
    let config = parse_str(text).unwrap();
    assert_eq!(config.healthchecker.transition_history, 10);
    assert_eq!(
        config.vpp.lb.ipv6_src_address,
        Some("2001:db8::fe".parse::<Ipv6Addr>().unwrap())
    );
    let checks = &config.healthchecks;
    assert_eq!(checks.len(), 4);
    assert_eq!(
        checks["http-healthz"].fast_interval,
        Duration::from_millis(500)
    );
    assert_eq!(checks["http-healthz"].down_interval, Duration::from_secs(5));
    let http = checks["http-healthz"].http.as_ref().unwrap();
    assert_eq!(http.path, "/.well-known/ipng/healthz");
    assert_eq!(http.host.as_deref(), Some("www.example.com"));
    assert_eq!(
        http.response_codes,
        [StatusRange {
            low: 200,
            high: 200
        }]
    );
    assert_eq!(checks["dns-tcp"].timeout, Duration::from_millis(500));
    assert_eq!(
        checks["ping"].probe_ipv4_src,
        Some(Ipv4Addr::new(192, 0, 2, 253))
    );
    assert_eq!(config.backends["static-1"].healthcheck, None);
    assert_eq!(config.frontends.len(), 4);
    let web6 = &config.frontends["web6-tls"];
    assert!(web6.src_ip_sticky);
    assert_eq!(web6.pools[0].members[1].weight, 20);
    let dns = &config.frontends["dns"];
    assert_eq!(dns.protocol, Protocol::Udp);
    assert!(!dns.flush_on_down);
    let pools: Vec<&str> = dns.pools.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(pools, ["primary", "last-resort"]);
    assert_eq!(
        config.frontends["web-v6-on-v4"].address,
        "2001:db8::80".parse::<IpAddr>().unwrap()
    );
}

#[test]
fn shipped_example_parses() {
    let config = parse_str(include_str!("../../../etc/maglev.yaml")).unwrap();
    assert!(!config.frontends.is_empty());
    assert!(config.control.socket.is_some());
}

#[test]
fn load_reads_files_and_reports_io_errors() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/spec-example.yaml");
    assert_eq!(load(&path).unwrap().frontends.len(), 4);

    let missing = PathBuf::from("/nonexistent/maglev.yaml");
    let error = load(&missing).unwrap_err();
    assert!(matches!(&error, ConfigError::Io { path, .. } if *path == missing));
    assert_eq!(error.exit_code(), 1);
}
