//! Walking [`ROOT`] over the words of a line, and turning a complete path
//! into a typed [`Command`].

use super::{
    Command, LogLevel, Node, ParseError, Request, SlotKind, Token, Verb, WatchFilter, JSON_KEYWORD,
    ROOT,
};

/// Checks one raw line from a client: strips a trailing `\n` and `\r`,
/// requires UTF-8 and rejects control characters other than tab (a stray
/// escape sequence or NUL is a broken client, not a command).
pub fn sanitize(bytes: &[u8]) -> Result<&str, ParseError> {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    let line = std::str::from_utf8(bytes).map_err(|e| ParseError::InvalidUtf8 {
        byte_offset: e.valid_up_to(),
    })?;
    match line
        .char_indices()
        .find(|&(_, c)| c.is_control() && c != '\t')
    {
        Some((byte_offset, _)) => Err(ParseError::ControlCharacter { byte_offset }),
        None => Ok(line),
    }
}

/// Parses one (sanitized) line. Whitespace runs separate words. `json` as
/// the first or the last word selects JSON output; when a show command's
/// last slot must be literally `json`, write `json` first as well.
pub fn parse(line: &str) -> Result<Request, ParseError> {
    let mut words: Vec<&str> = line.split_whitespace().collect();
    let mut json = false;
    let mut first_position = 1;
    if words.first() == Some(&JSON_KEYWORD) {
        json = true;
        words.remove(0);
        first_position = 2;
    } else if words.len() > 1 && words.last() == Some(&JSON_KEYWORD) {
        json = true;
        words.pop();
    }
    if words.is_empty() {
        return Err(if json {
            ParseError::Incomplete {
                after: JSON_KEYWORD.to_string(),
                expected: vec!["show".to_string(), "watch".to_string()],
            }
        } else {
            ParseError::Empty
        });
    }
    let mut walker = Walker::default();
    for (i, word) in words.iter().enumerate() {
        walker.step(first_position + i, word)?;
    }
    let verb = walker.finish()?;
    let command = build(verb, &walker.path)?;
    if json && !command.accepts_json() {
        return Err(ParseError::JsonNotSupported {
            command: walker.keywords(),
        });
    }
    Ok(Request { json, command })
}

/// One matched word.
pub(super) struct Step<'a> {
    pub node: &'static Node,
    pub word: &'a str,
}

/// Position in the tree after some words, including the option group the
/// walk is in (for free-order options like those of `watch events`).
#[derive(Default)]
pub(super) struct Walker<'a> {
    pub path: Vec<Step<'a>>,
    group: Option<&'static [Node]>,
    used: Vec<&'static Node>,
}

impl<'a> Walker<'a> {
    fn current(&self) -> Option<&'static Node> {
        self.path.last().map(|step| step.node)
    }

    fn is_used(&self, node: &Node) -> bool {
        self.used.iter().any(|used| std::ptr::eq(*used, node))
    }

    /// Nodes that may match the next word.
    pub fn candidates(&self) -> Vec<&'static Node> {
        let Some(node) = self.current() else {
            return ROOT.iter().collect();
        };
        let mut out: Vec<&'static Node> = Vec::new();
        if !node.options {
            out.extend(node.next.iter());
        }
        // Another option may follow only once the current one is complete
        // (`log` yes, `log level` no: it still needs its value).
        if let (Some(group), Some(_)) = (self.group, node.end) {
            out.extend(group.iter().filter(|option| !self.is_used(option)));
        }
        out
    }

    /// Matches `word` (at 1-based `position`) and advances.
    pub fn step(&mut self, position: usize, word: &'a str) -> Result<(), ParseError> {
        let candidates = self.candidates();
        if candidates.is_empty() {
            return Err(ParseError::Trailing {
                position,
                word: word.to_string(),
                after: self.words(),
            });
        }
        let node = self.match_word(&candidates, position, word)?;
        self.path.push(Step { node, word });
        if node.options {
            self.group = Some(node.next);
            self.used.clear();
        } else if let Some(group) = self.group {
            if group.iter().any(|option| std::ptr::eq(option, node)) {
                self.used.push(node);
            }
        }
        Ok(())
    }

    /// Exact keyword first; then a slot if one is possible here (slots take
    /// any word, so prefixes are not expanded where a value may stand); then
    /// a unique keyword prefix.
    fn match_word(
        &self,
        candidates: &[&'static Node],
        position: usize,
        word: &str,
    ) -> Result<&'static Node, ParseError> {
        if let Some(node) = candidates
            .iter()
            .find(|n| matches!(n.token, Token::Keyword(k) if k == word))
        {
            return Ok(node);
        }
        if let Some(node) = candidates
            .iter()
            .find(|n| matches!(n.token, Token::Slot(_)))
        {
            if let Token::Slot(kind) = node.token {
                check_slot(kind, word)?;
            }
            return Ok(node);
        }
        let prefixed: Vec<&'static Node> = candidates
            .iter()
            .copied()
            .filter(|n| matches!(n.token, Token::Keyword(k) if k.starts_with(word)))
            .collect();
        match prefixed.as_slice() {
            [only] => Ok(only),
            [] => {
                let repeated = self.group.is_some()
                    && self.used.iter().any(|n| n.token.text().starts_with(word));
                if repeated {
                    Err(ParseError::DuplicateOption {
                        position,
                        word: word.to_string(),
                    })
                } else {
                    Err(ParseError::UnknownWord {
                        position,
                        word: word.to_string(),
                        expected: texts(candidates),
                    })
                }
            }
            many => Err(ParseError::Ambiguous {
                position,
                word: word.to_string(),
                candidates: texts(many),
            }),
        }
    }

    /// The verb of the complete command, or why the line stops too early.
    pub fn finish(&self) -> Result<Verb, ParseError> {
        if let Some(verb) = self.current().and_then(|node| node.end) {
            return Ok(verb);
        }
        let candidates = self.candidates();
        match candidates.as_slice() {
            [only] => match only.token {
                Token::Slot(kind) => Err(ParseError::MissingArgument {
                    after: self.words(),
                    expected: kind.describe(),
                }),
                Token::Keyword(_) => Err(ParseError::Incomplete {
                    after: self.words(),
                    expected: texts(&candidates),
                }),
            },
            _ => Err(ParseError::Incomplete {
                after: self.words(),
                expected: texts(&candidates),
            }),
        }
    }

    /// The line so far with keywords spelled out in full.
    pub fn words(&self) -> String {
        let words: Vec<&str> = self
            .path
            .iter()
            .map(|step| match step.node.token {
                Token::Keyword(k) => k,
                Token::Slot(_) => step.word,
            })
            .collect();
        words.join(" ")
    }

    /// Only the leading keywords (the command's name, without its arguments).
    fn keywords(&self) -> String {
        let words: Vec<&str> = self
            .path
            .iter()
            .map_while(|step| match step.node.token {
                Token::Keyword(k) => Some(k),
                Token::Slot(_) => None,
            })
            .collect();
        words.join(" ")
    }
}

fn texts(nodes: &[&'static Node]) -> Vec<String> {
    nodes.iter().map(|n| n.token.text().to_string()).collect()
}

fn check_slot(kind: SlotKind, word: &str) -> Result<(), ParseError> {
    match kind {
        SlotKind::Weight => parse_weight(word).map(drop),
        SlotKind::Count => parse_count(word).map(drop),
        SlotKind::LogLevel => parse_level(word).map(drop),
        SlotKind::Backend | SlotKind::Frontend | SlotKind::Pool | SlotKind::HealthCheck => Ok(()),
    }
}

fn parse_number(what: &'static str, word: &str) -> Result<u64, ParseError> {
    word.parse::<u64>().map_err(|_| ParseError::NotANumber {
        what,
        value: word.to_string(),
    })
}

fn parse_weight(word: &str) -> Result<u8, ParseError> {
    let value = parse_number("weight", word)?;
    u8::try_from(value)
        .ok()
        .filter(|w| *w <= 100)
        .ok_or(ParseError::OutOfRange {
            what: "weight",
            value,
            range: "0..=100",
        })
}

fn parse_count(word: &str) -> Result<u64, ParseError> {
    match parse_number("num", word)? {
        0 => Err(ParseError::OutOfRange {
            what: "num",
            value: 0,
            range: "1..",
        }),
        n => Ok(n),
    }
}

/// Exact name or unique prefix, like keywords.
fn parse_level(word: &str) -> Result<LogLevel, ParseError> {
    if let Some(level) = LogLevel::ALL.iter().find(|l| l.as_str() == word) {
        return Ok(*level);
    }
    let mut prefixed = LogLevel::ALL
        .iter()
        .filter(|l| l.as_str().starts_with(word));
    match (prefixed.next(), prefixed.next()) {
        (Some(level), None) => Ok(*level),
        _ => Err(ParseError::UnknownLogLevel {
            value: word.to_string(),
        }),
    }
}

fn build(verb: Verb, path: &[Step<'_>]) -> Result<Command, ParseError> {
    let slot = |kind: SlotKind| {
        path.iter()
            .find(|step| step.node.token == Token::Slot(kind))
            .map(|step| step.word)
    };
    let name = |kind: SlotKind| slot(kind).map(str::to_string);
    let required = |kind: SlotKind| {
        name(kind).ok_or(ParseError::MissingArgument {
            after: String::new(),
            expected: kind.describe(),
        })
    };
    let has = |keyword: &str| {
        path.iter()
            .any(|step| matches!(step.node.token, Token::Keyword(k) if k == keyword))
    };
    Ok(match verb {
        Verb::Help => Command::Help,
        Verb::ShowVersion => Command::ShowVersion,
        Verb::ShowFrontends => Command::ShowFrontends {
            name: name(SlotKind::Frontend),
        },
        Verb::ShowBackends => Command::ShowBackends {
            name: name(SlotKind::Backend),
        },
        Verb::ShowHealthChecks => Command::ShowHealthChecks {
            name: name(SlotKind::HealthCheck),
        },
        Verb::ShowVppInfo => Command::ShowVppInfo,
        Verb::ShowVppLbState => Command::ShowVppLbState,
        Verb::ShowVppLbCounters => Command::ShowVppLbCounters {
            frontend: name(SlotKind::Frontend),
        },
        Verb::SetBackend(action) => Command::SetBackend {
            name: required(SlotKind::Backend)?,
            action,
        },
        Verb::SetWeight => Command::SetWeight {
            frontend: required(SlotKind::Frontend)?,
            pool: required(SlotKind::Pool)?,
            backend: required(SlotKind::Backend)?,
            weight: parse_weight(slot(SlotKind::Weight).unwrap_or(""))?,
            flush: has("flush"),
        },
        Verb::SyncVppLbState => Command::SyncVppLbState {
            frontend: name(SlotKind::Frontend),
        },
        Verb::ConfigCheck => Command::ConfigCheck,
        Verb::ConfigReload => Command::ConfigReload,
        Verb::LogReopen => Command::LogReopen,
        Verb::Watch => {
            let log = if has("log") {
                Some(match slot(SlotKind::LogLevel) {
                    Some(word) => parse_level(word)?,
                    None => LogLevel::Info,
                })
            } else {
                None
            };
            let num = slot(SlotKind::Count).map(parse_count).transpose()?;
            let (mut backend, mut frontend) = (has("backend"), has("frontend"));
            if !backend && !frontend && log.is_none() {
                backend = true;
                frontend = true;
            }
            Command::Watch(WatchFilter {
                num,
                backend,
                frontend,
                log,
            })
        }
        Verb::Prompt => Command::Prompt,
        Verb::Quit => Command::Quit,
    })
}
