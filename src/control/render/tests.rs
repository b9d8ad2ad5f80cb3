use std::time::Duration;

use super::*;
use crate::control::view::*;

fn s(text: &str) -> String {
    text.to_string()
}

fn member(backend: &str, configured: u8, effective: u8, state: &str) -> MemberView {
    MemberView {
        backend: s(backend),
        configured_weight: configured,
        effective_weight: effective,
        flush: false,
        state: s(state),
    }
}

/// The frontend of spec/control.md §6's example session.
fn web_v4() -> FrontendView {
    FrontendView {
        name: s("web-v4"),
        address: s("192.0.2.80"),
        protocol: s("tcp"),
        port: 80,
        description: String::new(),
        src_ip_sticky: false,
        flush_on_down: true,
        state: s("up"),
        pools: vec![
            PoolView {
                name: s("primary"),
                active: true,
                members: vec![
                    member("web-ams", 0, 0, "up"),
                    member("web-zrh", 100, 100, "up"),
                ],
            },
            PoolView {
                name: s("fallback"),
                active: false,
                members: vec![member("web-fra", 100, 0, "up")],
            },
        ],
    }
}

fn web_v6() -> FrontendView {
    FrontendView {
        name: s("web-v6-long"),
        address: s("2001:db8::80"),
        protocol: s("tcp"),
        port: 443,
        description: s("main\nsite"),
        src_ip_sticky: true,
        flush_on_down: false,
        state: s("degraded"),
        pools: vec![PoolView {
            name: s("primary"),
            active: true,
            members: vec![MemberView {
                flush: true,
                ..member("web-ams-v6", 50, 50, "down")
            }],
        }],
    }
}

fn web_ams() -> BackendView {
    BackendView {
        name: s("web-ams"),
        address: s("192.0.2.10"),
        state: s("up"),
        enabled: true,
        healthcheck: Some(s("http-80")),
        check_type: s("http"),
        counter: 4,
        rise: 2,
        fall: 3,
        last_code: Some(s("L7OK")),
        last_detail: Some(s("status 200")),
        frontends: vec![
            BackendUseView {
                frontend: s("web-v4"),
                pool: s("primary"),
                effective_weight: 100,
            },
            BackendUseView {
                frontend: s("web-v4-alt"),
                pool: s("fallback"),
                effective_weight: 0,
            },
        ],
        transitions: vec![
            TransitionView {
                from: s("down"),
                to: s("up"),
                code: s("L7OK"),
                at_unix_ms: 1_714_564_800_123,
                age_ms: 12_500,
            },
            TransitionView {
                from: s("unknown"),
                to: s("down"),
                code: s("L4CON"),
                at_unix_ms: 1_714_564_000_000,
                age_ms: 812_000,
            },
        ],
    }
}

fn static_backend() -> BackendView {
    BackendView {
        name: s("sorry"),
        address: s("2001:db8::99"),
        state: s("up"),
        enabled: true,
        healthcheck: None,
        check_type: s("static"),
        counter: 0,
        rise: 1,
        fall: 1,
        last_code: None,
        last_detail: None,
        frontends: vec![],
        transitions: vec![],
    }
}

fn http_80() -> HealthCheckView {
    HealthCheckView {
        name: s("http-80"),
        check_type: s("http"),
        port: Some(80),
        interval: Duration::from_secs(2),
        fast_interval: Duration::from_millis(500),
        down_interval: Duration::from_secs(90),
        timeout: Duration::from_millis(1500),
        rise: 2,
        fall: 3,
        params: vec![
            (s("path"), s("/healthz")),
            (s("response-codes"), s("200-399")),
        ],
        backends: vec![s("web-ams"), s("web-zrh")],
    }
}

fn ping() -> HealthCheckView {
    HealthCheckView {
        name: s("ping"),
        check_type: s("icmp"),
        port: None,
        interval: Duration::from_secs(1),
        fast_interval: Duration::from_secs(1),
        down_interval: Duration::from_secs(1),
        timeout: Duration::from_secs(1),
        rise: 1,
        fall: 1,
        params: vec![],
        backends: vec![],
    }
}

#[test]
fn frontend_detail_text_matches_spec_example() {
    let want = "\
address        192.0.2.80
protocol       tcp
port           80
src-ip-sticky  false
flush-on-down  true
state          up
pool primary  active
  web-ams  weight 0    effective 0    state up
  web-zrh  weight 100  effective 100  state up
pool fallback  standby
  web-fra  weight 100  effective 0    state up
";
    assert_eq!(text::frontend_detail(&web_v4()), want);
}

#[test]
fn frontend_detail_text_escapes_and_shows_description() {
    let want = "\
address        2001:db8::80
protocol       tcp
port           443
src-ip-sticky  true
flush-on-down  false
description    main\\nsite
state          degraded
pool primary  active
  web-ams-v6  weight 50   effective 50   state down
";
    assert_eq!(text::frontend_detail(&web_v6()), want);
}

#[test]
fn frontend_list_text_is_aligned() {
    let want = "\
web-v4       192.0.2.80    tcp  80   up
web-v6-long  2001:db8::80  tcp  443  degraded
";
    assert_eq!(text::frontend_list(&[web_v4(), web_v6()]), want);
    assert_eq!(text::frontend_list(&[]), "");
}

#[test]
fn frontend_json() {
    let want = concat!(
        r#"{"name":"web-v6-long","address":"2001:db8::80","protocol":"tcp","port":443,"#,
        r#""description":"main\nsite","src_ip_sticky":true,"flush_on_down":false,"state":"degraded","#,
        r#""pools":[{"name":"primary","active":true,"members":[{"backend":"web-ams-v6","weight":50,"#,
        r#""effective_weight":50,"flush":true,"state":"down"}]}]}"#,
        "\n"
    );
    assert_eq!(json::frontend_detail(&web_v6()), want);
    let list = json::frontend_list(&[web_v4(), web_v6()]);
    assert!(
        list.starts_with(r#"{"frontends":[{"name":"web-v4","#),
        "{list}"
    );
    assert!(list.ends_with("]}\n"));
    assert_eq!(list.lines().count(), 1);
    assert_eq!(json::frontend_list(&[]), "{\"frontends\":[]}\n");
}

#[test]
fn backend_list_text() {
    let want = "\
web-ams  192.0.2.10    up  http-80
sorry    2001:db8::99  up  -
";
    assert_eq!(text::backend_list(&[web_ams(), static_backend()]), want);
}

#[test]
fn backend_detail_text() {
    let want = "\
address      192.0.2.10
state        up
enabled      true
healthcheck  http-80
check-type   http
counter      4
rise         2
fall         3
last-code    L7OK
last-detail  status 200
frontends
  web-v4      pool primary   effective 100
  web-v4-alt  pool fallback  effective 0
transitions
  down     ->  up    L7OK   12s ago     2024-05-01T12:00:00.123Z
  unknown  ->  down  L4CON  13m32s ago  2024-05-01T11:46:40.000Z
";
    assert_eq!(text::backend_detail(&web_ams()), want);
    let want_static = "\
address      2001:db8::99
state        up
enabled      true
healthcheck  -
check-type   static
counter      0
rise         1
fall         1
last-code    -
last-detail  -
";
    assert_eq!(text::backend_detail(&static_backend()), want_static);
}

#[test]
fn backend_json() {
    let want = concat!(
        r#"{"name":"sorry","address":"2001:db8::99","state":"up","enabled":true,"healthcheck":null,"#,
        r#""check_type":"static","counter":0,"rise":1,"fall":1,"last_code":null,"last_detail":null,"#,
        r#""frontends":[],"transitions":[]}"#,
        "\n"
    );
    assert_eq!(json::backend_detail(&static_backend()), want);
    let detail = json::backend_detail(&web_ams());
    assert!(detail.contains(
        r#""transitions":[{"from":"down","to":"up","code":"L7OK","time":"2024-05-01T12:00:00.123Z","age_ms":12500},"#
    ), "{detail}");
    assert!(detail.contains(
        r#""frontends":[{"frontend":"web-v4","pool":"primary","effective_weight":100},"#
    ));
    assert!(json::backend_list(&[web_ams()]).starts_with(r#"{"backends":[{"name":"web-ams","#));
}

#[test]
fn healthcheck_text() {
    let want_list = "\
http-80  http  80  2s  2  3
ping     icmp  -   1s  1  1
";
    assert_eq!(text::healthcheck_list(&[http_80(), ping()]), want_list);
    let want = "\
type            http
port            80
interval        2s
fast-interval   500ms
down-interval   1m30s
timeout         1.5s
rise            2
fall            3
path            /healthz
response-codes  200-399
backends        web-ams web-zrh
";
    assert_eq!(text::healthcheck_detail(&http_80()), want);
    let want_icmp = "\
type           icmp
port           -
interval       1s
fast-interval  1s
down-interval  1s
timeout        1s
rise           1
fall           1
backends       -
";
    assert_eq!(text::healthcheck_detail(&ping()), want_icmp);
}

#[test]
fn healthcheck_json() {
    let want = concat!(
        r#"{"name":"http-80","type":"http","port":80,"interval_ms":2000,"fast_interval_ms":500,"#,
        r#""down_interval_ms":90000,"timeout_ms":1500,"rise":2,"fall":3,"#,
        r#""params":{"path":"/healthz","response-codes":"200-399"},"backends":["web-ams","web-zrh"]}"#,
        "\n"
    );
    assert_eq!(json::healthcheck_detail(&http_80()), want);
    assert!(json::healthcheck_detail(&ping()).contains(r#""port":null,"#));
    assert!(json::healthcheck_list(&[ping()]).starts_with(r#"{"healthchecks":[{"name":"ping","#));
}

#[test]
fn version_text_and_json() {
    let view = VersionView {
        version: s("0.1.0"),
        commit: s("abc1234"),
        build_date: s("2024-05-01"),
    };
    assert_eq!(
        text::version(&view),
        "version     0.1.0\ncommit      abc1234\nbuild-date  2024-05-01\n"
    );
    assert_eq!(
        json::version(&view),
        "{\"version\":\"0.1.0\",\"commit\":\"abc1234\",\"build_date\":\"2024-05-01\"}\n"
    );
}

fn vpp_info_view() -> VppInfoView {
    VppInfoView {
        version: s("24.02-release"),
        build_date: s("2024-02-28T10:00:00"),
        build_directory: s("/w/workspace"),
        pid: 4242,
        boottime_unix_ms: 1_714_478_400_000,
        boot_age_ms: 86_400_000 + 3_600_000,
        connected_unix_ms: 1_714_564_790_000,
        connected_age_ms: 10_000,
        messages: 873,
        counters: vec![(s("sync-runs-all"), 3), (s("sync-errors"), 0)],
    }
}

#[test]
fn vpp_info_text_and_json() {
    let want = "\
version        24.02-release
build-date     2024-02-28T10:00:00
build-dir      /w/workspace
vpp-pid        4242
vpp-boottime   2024-04-30T12:00:00.000Z (1d1h ago)
connected      2024-05-01T11:59:50.000Z (10s ago)
messages       873
sync-runs-all  3
sync-errors    0
";
    assert_eq!(text::vpp_info(&vpp_info_view()), want);
    let doc = json::vpp_info(&vpp_info_view());
    assert!(
        doc.contains(r#""pid":4242,"boottime":"2024-04-30T12:00:00.000Z","boot_age_ms":90000000,"#),
        "{doc}"
    );
}

fn lb_state_view() -> LbStateView {
    LbStateView {
        ipv4_src_address: Some(s("192.0.2.1")),
        ipv6_src_address: None,
        sticky_buckets_per_core: 1024,
        flow_timeout_secs: 40,
        vips: vec![
            VipView {
                address: s("192.0.2.80"),
                protocol: s("tcp"),
                port: 80,
                encap: s("gre4"),
                src_ip_sticky: false,
                frontend: Some(s("web-v4")),
                ases: vec![
                    AsView {
                        address: s("192.0.2.10"),
                        weight: 100,
                        buckets: 512,
                        desired: Some(100),
                    },
                    AsView {
                        address: s("192.0.2.110"),
                        weight: 0,
                        buckets: 0,
                        desired: Some(20),
                    },
                ],
            },
            VipView {
                address: s("2001:db8::80"),
                protocol: s("any"),
                port: 0,
                encap: s("gre6"),
                src_ip_sticky: true,
                frontend: None,
                ases: vec![],
            },
        ],
    }
}

#[test]
fn lb_state_text_and_json() {
    let want = "\
ipv4-src-address         192.0.2.1
ipv6-src-address         -
sticky-buckets-per-core  1024
flow-timeout             40s
vip 192.0.2.80    tcp  80  encap gre4  src-ip-sticky false  frontend web-v4
  192.0.2.10   weight 100  buckets 512   desired 100  ok
  192.0.2.110  weight 0    buckets 0     desired 20   drift
vip 2001:db8::80  any  0   encap gre6  src-ip-sticky true   frontend -
";
    assert_eq!(text::lb_state(&lb_state_view()), want);
    let doc = json::lb_state(&lb_state_view());
    assert!(doc.starts_with(
        r#"{"ipv4_src_address":"192.0.2.1","ipv6_src_address":null,"sticky_buckets_per_core":1024,"#
    ));
    assert!(doc.contains(r#""ases":[{"address":"192.0.2.10","weight":100,"buckets":512,"desired":100,"drift":false},"#));
    assert!(doc.contains(r#""frontend":null,"ases":[]}]}"#));
}

#[test]
fn lb_counters_text_and_json() {
    let rows = vec![
        LbCounterView {
            vip: s("192.0.2.80"),
            protocol: s("tcp"),
            port: 80,
            first: 12,
            next: 3456,
            untracked: 0,
            no_server: 7,
            fib_packets: 3475,
            fib_bytes: 1_234_567,
        },
        LbCounterView {
            vip: s("2001:db8::80"),
            protocol: s("udp"),
            port: 53,
            first: 1,
            next: 2,
            untracked: 3,
            no_server: 0,
            fib_packets: 6,
            fib_bytes: 600,
        },
    ];
    let want = "\
vip           protocol  port  first  next  untracked  no-server  fib-packets  fib-bytes
192.0.2.80    tcp         80     12  3456          0          7         3475    1234567
2001:db8::80  udp         53      1     2          3          0            6        600
";
    assert_eq!(text::lb_counters(&rows), want);
    assert_eq!(
        json::lb_counters(&rows[1..]),
        concat!(
            r#"{"counters":[{"vip":"2001:db8::80","protocol":"udp","port":53,"first":1,"next":2,"#,
            r#""untracked":3,"no_server":0,"fib_packets":6,"fib_bytes":600}]}"#,
            "\n"
        )
    );
}

#[test]
fn event_lines() {
    let cases = vec![
        (
            EventView::Backend {
                backend: s("web-ams"),
                frontend: s("web-v4"),
                from: s("up"),
                to: s("down"),
                code: s("L4TOUT"),
                at_unix_ms: 1_714_564_800_123,
            },
            r#"{"type":"backend","backend":"web-ams","frontend":"web-v4","from":"up","to":"down","code":"L4TOUT","time":"2024-05-01T12:00:00.123Z"}"#,
        ),
        (
            EventView::Frontend {
                frontend: s("web-v4"),
                from: s("up"),
                to: s("down"),
                at_unix_ms: 0,
            },
            r#"{"type":"frontend","frontend":"web-v4","from":"up","to":"down","time":"1970-01-01T00:00:00.000Z"}"#,
        ),
        (
            EventView::Log {
                level: s("info"),
                event: s("config-reload"),
                fields: vec![(s("path"), s("/etc/x \"y\"")), (s("result"), s("ok"))],
                at_unix_ms: 951_782_400_005,
            },
            r#"{"type":"log","level":"info","msg":"config-reload","attrs":{"path":"/etc/x \"y\"","result":"ok"},"time":"2000-02-29T00:00:00.005Z"}"#,
        ),
    ];
    for (event, want) in cases {
        assert_eq!(event_line(&event), format!("{want}\n"));
    }
}

#[test]
fn rfc3339_known_instants() {
    let cases: &[(u64, &str)] = &[
        (0, "1970-01-01T00:00:00.000Z"),
        (999, "1970-01-01T00:00:00.999Z"),
        (86_399_999, "1970-01-01T23:59:59.999Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (1_709_251_199_000, "2024-02-29T23:59:59.000Z"),
        (1_735_689_599_999, "2024-12-31T23:59:59.999Z"),
        (4_102_444_800_000, "2100-01-01T00:00:00.000Z"),
    ];
    for (ms, want) in cases {
        assert_eq!(rfc3339_ms(*ms), *want, "{ms}");
    }
}

#[test]
fn ages_and_durations() {
    let ages: &[(u64, &str)] = &[
        (0, "0s"),
        (59_999, "59s"),
        (60_000, "1m0s"),
        (812_000, "13m32s"),
        (3_600_000, "1h0m"),
        (86_399_000, "23h59m"),
        (90_000_000, "1d1h"),
    ];
    for (ms, want) in ages {
        assert_eq!(age(*ms), *want, "{ms}");
    }
    let durations: &[(Duration, &str)] = &[
        (Duration::ZERO, "0s"),
        (Duration::from_micros(250), "250µs"),
        (Duration::from_millis(500), "500ms"),
        (Duration::from_secs(2), "2s"),
        (Duration::from_millis(1500), "1.5s"),
        (Duration::from_millis(1250), "1.25s"),
        (Duration::from_secs(90), "1m30s"),
        (Duration::from_secs(3600), "1h0m0s"),
    ];
    for (d, want) in durations {
        assert_eq!(go_duration(*d), *want, "{d:?}");
    }
}

#[test]
fn framing() {
    assert_eq!(reply_ok(), "OK\n\n");
    assert_eq!(
        reply_err("unknown backend 'x'"),
        "ERR unknown backend 'x'\n\n"
    );
    assert_eq!(reply_err("two\nlines"), "ERR two\\nlines\n\n");
    assert_eq!(reply_payload("a\nb\n"), "a\nb\n\n");
    assert_eq!(reply_payload(""), "\n");
    // Lines that would end the reply or read as a status are indented.
    assert_eq!(
        reply_payload("OK\nERR x\n\nOKAY\n"),
        " OK\n ERR x\n \nOKAY\n\n"
    );
}

#[test]
fn clean_escapes_control_characters() {
    assert_eq!(clean("plain name"), "plain name");
    assert_eq!(clean("a\nb\tc\u{1b}"), "a\\nb\\tc\\u{1b}");
}
