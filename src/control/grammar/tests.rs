use super::*;

fn s(text: &str) -> String {
    text.to_string()
}

fn plain(command: Command) -> Result<Request, ParseError> {
    Ok(Request {
        json: false,
        command,
    })
}

fn json(command: Command) -> Result<Request, ParseError> {
    Ok(Request {
        json: true,
        command,
    })
}

fn watch(num: Option<u64>, backend: bool, frontend: bool, log: Option<LogLevel>) -> Command {
    Command::Watch(WatchFilter {
        num,
        backend,
        frontend,
        log,
    })
}

fn set_weight(weight: u8, flush: bool) -> Command {
    Command::SetWeight {
        frontend: s("web-v4"),
        pool: s("primary"),
        backend: s("web-ams"),
        weight,
        flush,
    }
}

#[test]
fn parse_accepts() {
    use Command::*;
    let cases: Vec<(&str, Result<Request, ParseError>)> = vec![
        ("help", plain(Help)),
        ("?", plain(Help)),
        ("h", plain(Help)),
        ("show version", plain(ShowVersion)),
        ("sh ver", plain(ShowVersion)),
        ("show frontends", plain(ShowFrontends { name: None })),
        (
            "show frontends web-v4",
            plain(ShowFrontends {
                name: Some(s("web-v4")),
            }),
        ),
        (
            "sh fr web-v4",
            plain(ShowFrontends {
                name: Some(s("web-v4")),
            }),
        ),
        ("sh ba", plain(ShowBackends { name: None })),
        (
            "show backends web-ams",
            plain(ShowBackends {
                name: Some(s("web-ams")),
            }),
        ),
        // Slots take any word, including keywords of other commands.
        (
            "show backends show",
            plain(ShowBackends {
                name: Some(s("show")),
            }),
        ),
        ("show h", plain(ShowHealthChecks { name: None })),
        (
            "show healthchecks http-80",
            plain(ShowHealthChecks {
                name: Some(s("http-80")),
            }),
        ),
        ("show vpp info", plain(ShowVppInfo)),
        ("sh vp i", plain(ShowVppInfo)),
        ("show vpp lb state", plain(ShowVppLbState)),
        (
            "show vpp lb counters",
            plain(ShowVppLbCounters { frontend: None }),
        ),
        (
            "sh vpp lb c web-v4",
            plain(ShowVppLbCounters {
                frontend: Some(s("web-v4")),
            }),
        ),
        (
            "set backend web-ams pause",
            plain(SetBackend {
                name: s("web-ams"),
                action: BackendAction::Pause,
            }),
        ),
        (
            "se b web-ams res",
            plain(SetBackend {
                name: s("web-ams"),
                action: BackendAction::Resume,
            }),
        ),
        (
            "set backend web-ams enable",
            plain(SetBackend {
                name: s("web-ams"),
                action: BackendAction::Enable,
            }),
        ),
        (
            "set backend web-ams d",
            plain(SetBackend {
                name: s("web-ams"),
                action: BackendAction::Disable,
            }),
        ),
        (
            "set frontend web-v4 pool primary backend web-ams weight 0",
            plain(set_weight(0, false)),
        ),
        (
            "set frontend web-v4 pool primary backend web-ams weight 100 flush",
            plain(set_weight(100, true)),
        ),
        (
            "se f web-v4 p primary b web-ams w 42 f",
            plain(set_weight(42, true)),
        ),
        (
            "sync vpp lb state",
            plain(SyncVppLbState { frontend: None }),
        ),
        (
            "sy v l s web-v4",
            plain(SyncVppLbState {
                frontend: Some(s("web-v4")),
            }),
        ),
        ("config check", plain(ConfigCheck)),
        ("c r", plain(ConfigReload)),
        ("log reopen", plain(LogReopen)),
        ("prompt", plain(Prompt)),
        ("quit", plain(Quit)),
        ("exit", plain(Quit)),
        ("q", plain(Quit)),
        // Whitespace is collapsed; tabs separate words too.
        (
            "  show \t  backends   web-ams  ",
            plain(ShowBackends {
                name: Some(s("web-ams")),
            }),
        ),
        // json modifier, leading or trailing.
        ("json show backends", json(ShowBackends { name: None })),
        ("show backends json", json(ShowBackends { name: None })),
        (
            "show backends web-ams json",
            json(ShowBackends {
                name: Some(s("web-ams")),
            }),
        ),
        (
            "json show backends json",
            json(ShowBackends {
                name: Some(s("json")),
            }),
        ),
        (
            "json sh vpp lb counters",
            json(ShowVppLbCounters { frontend: None }),
        ),
        ("json watch events", json(watch(None, true, true, None))),
        // watch: defaults, every option order, prefixes.
        ("watch events", plain(watch(None, true, true, None))),
        (
            "watch events backend",
            plain(watch(None, true, false, None)),
        ),
        (
            "watch events frontend",
            plain(watch(None, false, true, None)),
        ),
        (
            "watch events log",
            plain(watch(None, false, false, Some(LogLevel::Info))),
        ),
        (
            "watch events log level debug",
            plain(watch(None, false, false, Some(LogLevel::Debug))),
        ),
        (
            "watch events num 5",
            plain(watch(Some(5), true, true, None)),
        ),
        (
            "watch events num 3 backend frontend log level warn",
            plain(watch(Some(3), true, true, Some(LogLevel::Warn))),
        ),
        (
            "watch events log level trace frontend num 7 backend",
            plain(watch(Some(7), true, true, Some(LogLevel::Trace))),
        ),
        (
            "watch events log backend",
            plain(watch(None, true, false, Some(LogLevel::Info))),
        ),
        (
            "w e l le d n 2",
            plain(watch(Some(2), false, false, Some(LogLevel::Debug))),
        ),
        (
            "watch events frontend num 1",
            plain(watch(Some(1), false, true, None)),
        ),
    ];
    for (line, want) in cases {
        assert_eq!(parse(line), want, "line {line:?}");
    }
}

#[test]
fn parse_rejects() {
    let names = |list: &[&str]| list.iter().map(|w| s(w)).collect::<Vec<_>>();
    let cases: Vec<(&str, ParseError)> = vec![
        ("", ParseError::Empty),
        ("   \t ", ParseError::Empty),
        (
            "s",
            ParseError::Ambiguous {
                position: 1,
                word: s("s"),
                candidates: names(&["show", "set", "sync"]),
            },
        ),
        (
            "sh v i",
            ParseError::Ambiguous {
                position: 2,
                word: s("v"),
                candidates: names(&["version", "vpp"]),
            },
        ),
        (
            "show ba x y",
            ParseError::Trailing {
                position: 4,
                word: s("y"),
                after: s("show backends x"),
            },
        ),
        (
            "frobnicate",
            ParseError::UnknownWord {
                position: 1,
                word: s("frobnicate"),
                expected: names(&[
                    "help", "?", "show", "set", "sync", "config", "log", "watch", "prompt", "quit",
                    "exit",
                ]),
            },
        ),
        (
            "show bogus",
            ParseError::UnknownWord {
                position: 2,
                word: s("bogus"),
                expected: names(&["version", "frontends", "backends", "healthchecks", "vpp"]),
            },
        ),
        (
            "show",
            ParseError::Incomplete {
                after: s("show"),
                expected: names(&["version", "frontends", "backends", "healthchecks", "vpp"]),
            },
        ),
        (
            "show vpp lb",
            ParseError::Incomplete {
                after: s("show vpp lb"),
                expected: names(&["state", "counters"]),
            },
        ),
        (
            "set backend",
            ParseError::MissingArgument {
                after: s("set backend"),
                expected: "backend name",
            },
        ),
        (
            "set backend web-ams",
            ParseError::Incomplete {
                after: s("set backend web-ams"),
                expected: names(&["pause", "resume", "enable", "disable"]),
            },
        ),
        (
            "set backend web-ams explode",
            ParseError::UnknownWord {
                position: 4,
                word: s("explode"),
                expected: names(&["pause", "resume", "enable", "disable"]),
            },
        ),
        (
            "set f web-v4 pool",
            ParseError::MissingArgument {
                after: s("set frontend web-v4 pool"),
                expected: "pool name",
            },
        ),
        (
            "set frontend web-v4 pool primary backend web-ams weight",
            ParseError::MissingArgument {
                after: s("set frontend web-v4 pool primary backend web-ams weight"),
                expected: "weight 0-100",
            },
        ),
        (
            "set frontend web-v4 pool primary backend web-ams weight 140",
            ParseError::OutOfRange {
                what: "weight",
                value: 140,
                range: "0..=100",
            },
        ),
        (
            "set frontend web-v4 pool primary backend web-ams weight 300",
            ParseError::OutOfRange {
                what: "weight",
                value: 300,
                range: "0..=100",
            },
        ),
        (
            "set frontend web-v4 pool primary backend web-ams weight -1",
            ParseError::NotANumber {
                what: "weight",
                value: s("-1"),
            },
        ),
        (
            "set frontend web-v4 pool primary backend web-ams weight heavy",
            ParseError::NotANumber {
                what: "weight",
                value: s("heavy"),
            },
        ),
        (
            "set frontend web-v4 pool primary backend web-ams weight 5 flush now",
            ParseError::Trailing {
                position: 11,
                word: s("now"),
                after: s("set frontend web-v4 pool primary backend web-ams weight 5 flush"),
            },
        ),
        (
            "watch events num 0",
            ParseError::OutOfRange {
                what: "num",
                value: 0,
                range: "1..",
            },
        ),
        (
            "watch events num many",
            ParseError::NotANumber {
                what: "num",
                value: s("many"),
            },
        ),
        (
            "watch events num",
            ParseError::MissingArgument {
                after: s("watch events num"),
                expected: "a number >= 1",
            },
        ),
        (
            "watch events log level",
            ParseError::MissingArgument {
                after: s("watch events log level"),
                expected: "log level (error|warn|info|debug|trace)",
            },
        ),
        (
            "watch events log level loud",
            ParseError::UnknownLogLevel { value: s("loud") },
        ),
        (
            "watch events backend backend",
            ParseError::DuplicateOption {
                position: 4,
                word: s("backend"),
            },
        ),
        (
            "watch events log num 1 log",
            ParseError::DuplicateOption {
                position: 6,
                word: s("log"),
            },
        ),
        (
            "watch",
            ParseError::Incomplete {
                after: s("watch"),
                expected: names(&["events"]),
            },
        ),
        (
            "show version now",
            ParseError::Trailing {
                position: 3,
                word: s("now"),
                after: s("show version"),
            },
        ),
        (
            "json",
            ParseError::Incomplete {
                after: s("json"),
                expected: names(&["show", "watch"]),
            },
        ),
        (
            "json set backend web-ams pause",
            ParseError::JsonNotSupported {
                command: s("set backend"),
            },
        ),
        (
            "config reload json",
            ParseError::JsonNotSupported {
                command: s("config reload"),
            },
        ),
        (
            "help json",
            ParseError::JsonNotSupported { command: s("help") },
        ),
        (
            "json show bogus",
            ParseError::UnknownWord {
                position: 3,
                word: s("bogus"),
                expected: names(&["version", "frontends", "backends", "healthchecks", "vpp"]),
            },
        ),
        // Prefix matching is case-sensitive like names are.
        (
            "SHOW version",
            ParseError::UnknownWord {
                position: 1,
                word: s("SHOW"),
                expected: names(&[
                    "help", "?", "show", "set", "sync", "config", "log", "watch", "prompt", "quit",
                    "exit",
                ]),
            },
        ),
    ];
    for (line, want) in cases {
        assert_eq!(parse(line), Err(want), "line {line:?}");
    }
}

#[test]
fn error_messages_are_targeted() {
    let cases: &[(&str, &str)] = &[
        ("s", "ambiguous word 's' at position 1: could be show set sync"),
        ("set backend", "expected backend name after 'set backend'"),
        (
            "set frontend f pool p backend b weight 140",
            "weight 140 out of range 0..=100",
        ),
        ("show version x", "unexpected 'x' at position 3 after 'show version'"),
        (
            "sh bogus",
            "unknown word 'bogus' at position 2, expected one of: version frontends backends healthchecks vpp",
        ),
        (
            "config",
            "incomplete command 'config', expected one of: check reload",
        ),
        ("watch events num x", "num 'x' is not a number"),
        (
            "json config check",
            "'config check' has no JSON output (json applies to show and watch)",
        ),
    ];
    for (line, want) in cases {
        let err = parse(line).unwrap_err();
        assert_eq!(err.to_string(), *want, "line {line:?}");
    }
}

#[test]
fn sanitize_lines() {
    assert_eq!(sanitize(b"show backends\r\n"), Ok("show backends"));
    assert_eq!(sanitize(b"show backends\n"), Ok("show backends"));
    assert_eq!(sanitize(b"show backends\r"), Ok("show backends"));
    assert_eq!(sanitize(b"show\tbackends"), Ok("show\tbackends"));
    assert_eq!(sanitize(b""), Ok(""));
    assert_eq!(sanitize("zürich".as_bytes()), Ok("zürich"));
    assert_eq!(
        sanitize(b"show \xff backends"),
        Err(ParseError::InvalidUtf8 { byte_offset: 5 })
    );
    assert_eq!(
        sanitize(b"show\x1b[A"),
        Err(ParseError::ControlCharacter { byte_offset: 4 })
    );
    assert_eq!(
        sanitize(b"show\0"),
        Err(ParseError::ControlCharacter { byte_offset: 4 })
    );
    // Only one trailing CR is framing; an inner CR is a control character.
    assert_eq!(
        sanitize(b"a\r\r\n"),
        Err(ParseError::ControlCharacter { byte_offset: 1 })
    );
}

#[test]
fn reply_kinds_and_json() {
    let cases: &[(&str, ReplyKind)] = &[
        ("help", ReplyKind::Payload),
        ("show backends", ReplyKind::Payload),
        ("set backend a pause", ReplyKind::Ok),
        ("config check", ReplyKind::Ok),
        ("watch events", ReplyKind::Stream),
        ("prompt", ReplyKind::Silent),
        ("quit", ReplyKind::Silent),
    ];
    for (line, kind) in cases {
        assert_eq!(parse(line).unwrap().command.reply_kind(), *kind, "{line}");
    }
}

#[test]
fn log_level_admits() {
    assert!(LogLevel::Info.admits(log::Level::Warn));
    assert!(LogLevel::Info.admits(log::Level::Info));
    assert!(!LogLevel::Info.admits(log::Level::Debug));
    assert!(LogLevel::Trace.admits(log::Level::Trace));
    assert!(!LogLevel::Error.admits(log::Level::Warn));
}
