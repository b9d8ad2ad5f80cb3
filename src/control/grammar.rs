//! The control-socket command language: the command tree as data, and the
//! typed [`Request`] a line parses into.
//!
//! One table ([`ROOT`]) drives parsing (unique-prefix keyword matching, exact
//! match wins), `help`, maglevc's TAB completion and `?` continuations, so
//! they cannot drift apart. Slots accept any word: whether a backend or
//! frontend of that name exists is the daemon's business, not the grammar's.
//! Only numbers and log levels are checked here.
//!
//! Pure: no I/O. The daemon reads a line, calls [`sanitize`] then [`parse`],
//! executes the [`Command`] and hands views to `control::render`.

mod help;
mod parse;
#[cfg(test)]
mod tests;

use std::fmt;

pub use help::{completions, continuations, help_text, Continuation};
pub use parse::{parse, sanitize};

/// One parsed request line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `json` was given (leading or trailing): reply with one JSON document.
    pub json: bool,
    pub command: Command,
}

/// What the client asked for, with typed arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    ShowVersion,
    ShowFrontends {
        name: Option<String>,
    },
    ShowBackends {
        name: Option<String>,
    },
    ShowHealthChecks {
        name: Option<String>,
    },
    ShowVppInfo,
    ShowVppLbState,
    ShowVppLbCounters {
        frontend: Option<String>,
    },
    SetBackend {
        name: String,
        action: BackendAction,
    },
    SetWeight {
        frontend: String,
        pool: String,
        backend: String,
        weight: u8,
        flush: bool,
    },
    SyncVppLbState {
        frontend: Option<String>,
    },
    ConfigCheck,
    ConfigReload,
    LogReopen,
    Watch(WatchFilter),
    Prompt,
    Quit,
}

/// How the daemon answers a command (docs/control.md, "Replies").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind {
    /// Payload lines (or one JSON document), then the empty line.
    Payload,
    /// `OK`, then the empty line.
    Ok,
    /// JSON lines until `num` is reached or the client leaves, then the empty line.
    Stream,
    /// Nothing is written (`prompt` toggles the mode; `quit` closes).
    Silent,
}

impl Command {
    pub fn reply_kind(&self) -> ReplyKind {
        match self {
            Command::Help
            | Command::ShowVersion
            | Command::ShowFrontends { .. }
            | Command::ShowBackends { .. }
            | Command::ShowHealthChecks { .. }
            | Command::ShowVppInfo
            | Command::ShowVppLbState
            | Command::ShowVppLbCounters { .. } => ReplyKind::Payload,
            Command::SetBackend { .. }
            | Command::SetWeight { .. }
            | Command::SyncVppLbState { .. }
            | Command::ConfigCheck
            | Command::ConfigReload
            | Command::LogReopen => ReplyKind::Ok,
            Command::Watch(_) => ReplyKind::Stream,
            Command::Prompt | Command::Quit => ReplyKind::Silent,
        }
    }

    /// Whether the `json` modifier means something for this command.
    pub fn accepts_json(&self) -> bool {
        matches!(self.reply_kind(), ReplyKind::Stream)
            || (matches!(self.reply_kind(), ReplyKind::Payload) && *self != Command::Help)
    }
}

/// Operator action of `set backend NAME …` (spec/health.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendAction {
    Pause,
    Resume,
    Enable,
    Disable,
}

impl BackendAction {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendAction::Pause => "pause",
            BackendAction::Resume => "resume",
            BackendAction::Enable => "enable",
            BackendAction::Disable => "disable",
        }
    }
}

/// Minimum level of log records a watcher receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub const ALL: [LogLevel; 5] = [
        LogLevel::Error,
        LogLevel::Warn,
        LogLevel::Info,
        LogLevel::Debug,
        LogLevel::Trace,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }

    /// Whether a record at `level` passes this minimum.
    pub fn admits(self, level: log::Level) -> bool {
        level <= log::Level::from(self)
    }
}

impl From<LogLevel> for log::Level {
    fn from(level: LogLevel) -> log::Level {
        match level {
            LogLevel::Error => log::Level::Error,
            LogLevel::Warn => log::Level::Warn,
            LogLevel::Info => log::Level::Info,
            LogLevel::Debug => log::Level::Debug,
            LogLevel::Trace => log::Level::Trace,
        }
    }
}

/// Which events a `watch events` client receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchFilter {
    /// Stop after this many events (snapshot events count). `None`: unbounded.
    pub num: Option<u64>,
    pub backend: bool,
    pub frontend: bool,
    /// Log records at or above this level; `log` without `level` means `info`.
    pub log: Option<LogLevel>,
}

/// Why a line is not a valid command. `Display` is the text after `ERR `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Blank line: not a command; the server ignores it.
    Empty,
    InvalidUtf8 {
        byte_offset: usize,
    },
    ControlCharacter {
        byte_offset: usize,
    },
    /// `position` counts words from 1.
    UnknownWord {
        position: usize,
        word: String,
        expected: Vec<String>,
    },
    Ambiguous {
        position: usize,
        word: String,
        candidates: Vec<String>,
    },
    /// The command stops where a slot value is required.
    MissingArgument {
        after: String,
        expected: &'static str,
    },
    /// The command stops where one of several keywords is required.
    Incomplete {
        after: String,
        expected: Vec<String>,
    },
    NotANumber {
        what: &'static str,
        value: String,
    },
    OutOfRange {
        what: &'static str,
        value: u64,
        range: &'static str,
    },
    UnknownLogLevel {
        value: String,
    },
    DuplicateOption {
        position: usize,
        word: String,
    },
    /// Words after a complete command that takes no more arguments.
    Trailing {
        position: usize,
        word: String,
        after: String,
    },
    JsonNotSupported {
        command: String,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Empty => f.write_str("empty command"),
            ParseError::InvalidUtf8 { byte_offset } => {
                write!(f, "invalid UTF-8 at byte {byte_offset}")
            }
            ParseError::ControlCharacter { byte_offset } => {
                write!(f, "control character at byte {byte_offset}")
            }
            ParseError::UnknownWord {
                position,
                word,
                expected,
            } => write!(
                f,
                "unknown word '{word}' at position {position}, expected one of: {}",
                expected.join(" ")
            ),
            ParseError::Ambiguous {
                position,
                word,
                candidates,
            } => write!(
                f,
                "ambiguous word '{word}' at position {position}: could be {}",
                candidates.join(" ")
            ),
            ParseError::MissingArgument { after, expected } => {
                write!(f, "expected {expected} after '{after}'")
            }
            ParseError::Incomplete { after, expected } => write!(
                f,
                "incomplete command '{after}', expected one of: {}",
                expected.join(" ")
            ),
            ParseError::NotANumber { what, value } => write!(f, "{what} '{value}' is not a number"),
            ParseError::OutOfRange { what, value, range } => {
                write!(f, "{what} {value} out of range {range}")
            }
            ParseError::UnknownLogLevel { value } => write!(
                f,
                "unknown log level '{value}', expected one of: error warn info debug trace"
            ),
            ParseError::DuplicateOption { position, word } => {
                write!(f, "option '{word}' at position {position} given twice")
            }
            ParseError::Trailing {
                position,
                word,
                after,
            } => {
                write!(
                    f,
                    "unexpected '{word}' at position {position} after '{after}'"
                )
            }
            ParseError::JsonNotSupported { command } => {
                write!(
                    f,
                    "'{command}' has no JSON output (json applies to show and watch)"
                )
            }
        }
    }
}

impl std::error::Error for ParseError {}

/// Kind of value a slot takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotKind {
    Backend,
    Frontend,
    Pool,
    HealthCheck,
    /// 0..=100.
    Weight,
    /// ≥ 1.
    Count,
    LogLevel,
}

impl SlotKind {
    /// How help and usage lines show the slot.
    pub fn placeholder(self) -> &'static str {
        match self {
            SlotKind::Backend => "<backend>",
            SlotKind::Frontend => "<frontend>",
            SlotKind::Pool => "<pool>",
            SlotKind::HealthCheck => "<healthcheck>",
            SlotKind::Weight => "<0-100>",
            SlotKind::Count => "<n>",
            SlotKind::LogLevel => "<level>",
        }
    }

    /// How error messages name the expected value.
    pub fn describe(self) -> &'static str {
        match self {
            SlotKind::Backend => "backend name",
            SlotKind::Frontend => "frontend name",
            SlotKind::Pool => "pool name",
            SlotKind::HealthCheck => "healthcheck name",
            SlotKind::Weight => "weight 0-100",
            SlotKind::Count => "a number >= 1",
            SlotKind::LogLevel => "log level (error|warn|info|debug|trace)",
        }
    }
}

/// What a node matches: a fixed keyword or a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    Keyword(&'static str),
    Slot(SlotKind),
}

impl Token {
    /// The keyword, or the slot placeholder.
    pub fn text(self) -> &'static str {
        match self {
            Token::Keyword(word) => word,
            Token::Slot(kind) => kind.placeholder(),
        }
    }
}

/// Which command a complete path denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Help,
    ShowVersion,
    ShowFrontends,
    ShowBackends,
    ShowHealthChecks,
    ShowVppInfo,
    ShowVppLbState,
    ShowVppLbCounters,
    SetBackend(BackendAction),
    SetWeight,
    SyncVppLbState,
    ConfigCheck,
    ConfigReload,
    LogReopen,
    Watch,
    Prompt,
    Quit,
}

/// One node of the command tree.
#[derive(Debug)]
pub struct Node {
    pub token: Token,
    pub help: &'static str,
    /// `Some`: a line may end here and means this command.
    pub end: Option<Verb>,
    /// `true`: `next` are options, accepted in any order, each at most once,
    /// all optional; after an option that can end, any unused option may follow.
    pub options: bool,
    pub next: &'static [Node],
}

const fn kw(
    word: &'static str,
    help: &'static str,
    end: Option<Verb>,
    next: &'static [Node],
) -> Node {
    Node {
        token: Token::Keyword(word),
        help,
        end,
        options: false,
        next,
    }
}

const fn slot(
    kind: SlotKind,
    help: &'static str,
    end: Option<Verb>,
    next: &'static [Node],
) -> Node {
    Node {
        token: Token::Slot(kind),
        help,
        end,
        options: false,
        next,
    }
}

const fn options(
    word: &'static str,
    help: &'static str,
    end: Option<Verb>,
    next: &'static [Node],
) -> Node {
    Node {
        token: Token::Keyword(word),
        help,
        end,
        options: true,
        next,
    }
}

/// The modifier that selects JSON replies (first or last word); handled
/// outside the tree because it may wrap any show command.
pub const JSON_KEYWORD: &str = "json";

const W: Option<Verb> = Some(Verb::Watch);
const SET_WEIGHT: Option<Verb> = Some(Verb::SetWeight);

/// The whole command language.
#[rustfmt::skip]
pub static ROOT: &[Node] = &[
    kw("help", "list all commands", Some(Verb::Help), &[]),
    kw("?", "list all commands", Some(Verb::Help), &[]),
    kw("show", "display state", None, &[
        kw("version", "daemon version, commit and build date", Some(Verb::ShowVersion), &[]),
        kw("frontends", "list frontends", Some(Verb::ShowFrontends), &[
            slot(SlotKind::Frontend, "one frontend with its pools and weights", Some(Verb::ShowFrontends), &[]),
        ]),
        kw("backends", "list backends", Some(Verb::ShowBackends), &[
            slot(SlotKind::Backend, "one backend with its transitions", Some(Verb::ShowBackends), &[]),
        ]),
        kw("healthchecks", "list health checks", Some(Verb::ShowHealthChecks), &[
            slot(SlotKind::HealthCheck, "one health check's parameters", Some(Verb::ShowHealthChecks), &[]),
        ]),
        kw("vpp", "VPP dataplane", None, &[
            kw("info", "VPP version, pid, uptime and connection", Some(Verb::ShowVppInfo), &[]),
            kw("lb", "VPP lb plugin", None, &[
                kw("state", "lb settings and every VIP with its ASes", Some(Verb::ShowVppLbState), &[]),
                kw("counters", "per-VIP packet counters", Some(Verb::ShowVppLbCounters), &[
                    slot(SlotKind::Frontend, "counters of one frontend's VIP", Some(Verb::ShowVppLbCounters), &[]),
                ]),
            ]),
        ]),
    ]),
    kw("set", "change state", None, &[
        kw("backend", "operator action on a backend", None, &[
            slot(SlotKind::Backend, "backend", None, &[
                kw("pause", "stop probing, drain (weight 0, flows kept)", Some(Verb::SetBackend(BackendAction::Pause)), &[]),
                kw("resume", "probe again, via unknown", Some(Verb::SetBackend(BackendAction::Resume)), &[]),
                kw("enable", "re-enable, via unknown", Some(Verb::SetBackend(BackendAction::Enable)), &[]),
                kw("disable", "stop probing, weight 0 and flush", Some(Verb::SetBackend(BackendAction::Disable)), &[]),
            ]),
        ]),
        kw("frontend", "change a configured weight in memory", None, &[
            slot(SlotKind::Frontend, "frontend", None, &[
                kw("pool", "pool of the frontend", None, &[
                    slot(SlotKind::Pool, "pool", None, &[
                        kw("backend", "member of the pool", None, &[
                            slot(SlotKind::Backend, "backend", None, &[
                                kw("weight", "new configured weight", None, &[
                                    slot(SlotKind::Weight, "set the weight; existing flows drain", SET_WEIGHT, &[
                                        kw("flush", "set the weight and flush existing flows", SET_WEIGHT, &[]),
                                    ]),
                                ]),
                            ]),
                        ]),
                    ]),
                ]),
            ]),
        ]),
    ]),
    kw("sync", "synchronise", None, &[
        kw("vpp", "VPP dataplane", None, &[
            kw("lb", "VPP lb plugin", None, &[
                kw("state", "full sync of every VIP now", Some(Verb::SyncVppLbState), &[
                    slot(SlotKind::Frontend, "sync one frontend's VIP now", Some(Verb::SyncVppLbState), &[]),
                ]),
            ]),
        ]),
    ]),
    kw("config", "configuration file", None, &[
        kw("check", "validate the on-disk config", Some(Verb::ConfigCheck), &[]),
        kw("reload", "check, then apply the on-disk config (like SIGHUP)", Some(Verb::ConfigReload), &[]),
    ]),
    kw("log", "log file", None, &[
        kw("reopen", "reopen the log file (after rotation)", Some(Verb::LogReopen), &[]),
    ]),
    kw("watch", "stream events", None, &[
        options("events", "stream events as JSON lines (default: backend and frontend)", W, &[
            kw("num", "stop after n events", None, &[slot(SlotKind::Count, "number of events", W, &[])]),
            kw("backend", "backend transitions", W, &[]),
            kw("frontend", "frontend transitions", W, &[]),
            kw("log", "log records (default level info)", W, &[
                kw("level", "minimum log level", None, &[slot(SlotKind::LogLevel, "minimum log level", W, &[])]),
            ]),
        ]),
    ]),
    kw("prompt", "toggle interactive mode (keep the connection, print a prompt)", Some(Verb::Prompt), &[]),
    kw("quit", "close the connection", Some(Verb::Quit), &[]),
    kw("exit", "close the connection", Some(Verb::Quit), &[]),
];
