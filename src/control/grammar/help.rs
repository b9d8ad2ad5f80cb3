//! Help text, `?` continuations and TAB completions, all generated from
//! [`ROOT`] so they always match what the parser accepts.

use super::parse::Walker;
use super::{LogLevel, Node, SlotKind, Token, JSON_KEYWORD, ROOT};

/// Every command path (one line each; options indented under their
/// command), with the help strings aligned in one column.
pub fn help_text() -> String {
    let mut lines: Vec<(String, &'static str)> = Vec::new();
    for node in ROOT {
        collect(node, "", &mut lines);
    }
    lines.push((
        format!("{JSON_KEYWORD} <command>  |  <command> {JSON_KEYWORD}"),
        "reply to a show command with one JSON document",
    ));
    let width = lines
        .iter()
        .map(|(path, _)| path.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (path, help) in &lines {
        let pad = width - path.chars().count();
        out.push_str(path);
        out.extend(std::iter::repeat(' ').take(pad + 2));
        out.push_str(help);
        out.push('\n');
    }
    out
}

fn collect(node: &'static Node, prefix: &str, lines: &mut Vec<(String, &'static str)>) {
    let path = if prefix.is_empty() {
        node.token.text().to_string()
    } else {
        format!("{prefix} {}", node.token.text())
    };
    if node.options {
        let mut line = path;
        for option in node.next {
            line.push_str(&format!(" [{}]", usage(option)));
        }
        lines.push((line, node.help));
        for option in node.next {
            lines.push((format!("    {}", usage(option)), option.help));
        }
        return;
    }
    if node.end.is_some() {
        lines.push((path.clone(), node.help));
    }
    for child in node.next {
        collect(child, &path, lines);
    }
}

/// Syntax of an option and what may follow it, e.g. `log [level <level>]`.
/// Option subtrees are chains (one child per node).
fn usage(node: &Node) -> String {
    let mut out = node.token.text().to_string();
    for child in node.next {
        let inner = usage(child);
        if node.end.is_some() {
            out.push_str(&format!(" [{inner}]"));
        } else {
            out.push(' ');
            out.push_str(&inner);
        }
    }
    out
}

/// One thing that may come next (for `?` in maglevc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Continuation {
    /// The keyword, or a slot placeholder such as `<backend>`.
    pub text: &'static str,
    pub help: &'static str,
    /// Set for slots: maglevc offers the names of this kind.
    pub slot: Option<SlotKind>,
}

/// What may follow `line_prefix`. When it does not end in whitespace its
/// last word is a partial word and only keywords starting with it are kept.
/// Returns nothing when the words before are not a valid command start.
pub fn continuations(line_prefix: &str) -> Vec<Continuation> {
    let Some((walker, partial, _)) = walk_prefix(line_prefix) else {
        return Vec::new();
    };
    walker
        .candidates()
        .into_iter()
        .filter(|node| match node.token {
            Token::Keyword(k) => k.starts_with(partial),
            Token::Slot(_) => true,
        })
        .map(|node| Continuation {
            text: node.token.text(),
            help: node.help,
            slot: match node.token {
                Token::Slot(kind) => Some(kind),
                Token::Keyword(_) => None,
            },
        })
        .collect()
}

/// Words that complete the partial last word of `line_prefix` (all valid
/// next words when it ends in whitespace): keywords and log levels. Names
/// are not known here; see [`continuations`] for the slot kinds.
pub fn completions(line_prefix: &str) -> Vec<String> {
    let Some((walker, partial, first_word)) = walk_prefix(line_prefix) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    if first_word && JSON_KEYWORD.starts_with(partial) {
        out.push(JSON_KEYWORD.to_string());
    }
    for node in walker.candidates() {
        match node.token {
            Token::Keyword("?") => {}
            Token::Keyword(k) if k.starts_with(partial) => out.push(k.to_string()),
            Token::Keyword(_) => {}
            Token::Slot(SlotKind::LogLevel) => out.extend(
                LogLevel::ALL
                    .iter()
                    .map(|level| level.as_str())
                    .filter(|level| level.starts_with(partial))
                    .map(str::to_string),
            ),
            Token::Slot(_) => {}
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The walk over the complete words, the partial last word, and whether
/// that partial word is the first of the line.
fn walk_prefix(line_prefix: &str) -> Option<(Walker<'_>, &str, bool)> {
    let mut words: Vec<&str> = line_prefix.split_whitespace().collect();
    let partial = if line_prefix.is_empty() || line_prefix.ends_with(char::is_whitespace) {
        ""
    } else {
        words.pop().unwrap_or("")
    };
    let first_word = words.is_empty();
    if words.first() == Some(&JSON_KEYWORD) {
        words.remove(0);
    }
    let mut walker = Walker::default();
    for (i, word) in words.iter().enumerate() {
        walker.step(i + 1, word).ok()?;
    }
    Some((walker, partial, first_word))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every complete path of the tree, as help prints it.
    fn all_paths(nodes: &'static [Node], prefix: &str, out: &mut Vec<String>) {
        for node in nodes {
            let path = format!("{prefix}{}", node.token.text());
            if node.end.is_some() {
                out.push(path.clone());
            }
            if !node.options {
                all_paths(node.next, &format!("{path} "), out);
            }
        }
    }

    #[test]
    fn help_lists_every_command_aligned() {
        let help = help_text();
        let mut paths = Vec::new();
        all_paths(ROOT, "", &mut paths);
        assert!(paths.len() > 20, "tree walk found {paths:?}");
        for path in &paths {
            assert!(
                help.lines()
                    .any(|line| line.starts_with(&format!("{path}  "))
                        || line.starts_with(&format!("{path} ["))),
                "help lacks {path:?}:\n{help}"
            );
        }
        for required in [
            "help",
            "?",
            "show version",
            "show frontends <frontend>",
            "show backends <backend>",
            "show healthchecks <healthcheck>",
            "show vpp info",
            "show vpp lb state",
            "show vpp lb counters <frontend>",
            "set backend <backend> pause",
            "set backend <backend> disable",
            "set frontend <frontend> pool <pool> backend <backend> weight <0-100> flush",
            "sync vpp lb state <frontend>",
            "config check",
            "config reload",
            "log reopen",
            "watch events [num <n>] [backend] [frontend] [log [level <level>]]",
            "    log [level <level>]",
            "prompt",
            "quit",
            "exit",
        ] {
            assert!(
                help.lines()
                    .any(|line| line.starts_with(&format!("{required}  "))),
                "help lacks {required:?}:\n{help}"
            );
        }
        // Help strings start in one column.
        let first = help.lines().next().unwrap();
        assert!(first.starts_with("help  "));
        let column = first.len() - "list all commands".len();
        for line in help.lines() {
            assert!(line.len() > column, "short line {line:?}");
            assert_eq!(&line[column - 2..column], "  ", "misaligned {line:?}");
            assert_ne!(&line[column..column + 1], " ", "misaligned {line:?}");
        }
    }

    #[test]
    fn completions_offer_valid_next_words() {
        let cases: &[(&str, &[&str])] = &[
            (
                "",
                &[
                    "config", "exit", "help", "json", "log", "prompt", "quit", "set", "show",
                    "sync", "watch",
                ],
            ),
            ("s", &["set", "show", "sync"]),
            ("j", &["json"]),
            (
                "json ",
                &[
                    "config", "exit", "help", "log", "prompt", "quit", "set", "show", "sync",
                    "watch",
                ],
            ),
            ("json sh", &["show"]),
            ("sh", &["show"]),
            (
                "show ",
                &["backends", "frontends", "healthchecks", "version", "vpp"],
            ),
            ("sh ba", &["backends"]),
            ("show vpp lb ", &["counters", "state"]),
            ("show backends ", &[]),
            (
                "set backend web-ams ",
                &["disable", "enable", "pause", "resume"],
            ),
            ("set backend web-ams re", &["resume"]),
            ("set frontend f pool p backend b weight 5 ", &["flush"]),
            ("watch events ", &["backend", "frontend", "log", "num"]),
            ("watch events backend ", &["frontend", "log", "num"]),
            (
                "watch events log ",
                &["backend", "frontend", "level", "num"],
            ),
            (
                "watch events log level ",
                &["debug", "error", "info", "trace", "warn"],
            ),
            ("watch events log level d", &["debug"]),
            ("watch events num ", &[]),
            ("bogus ", &[]),
            ("show version ", &[]),
        ];
        for (prefix, want) in cases {
            assert_eq!(completions(prefix), *want, "prefix {prefix:?}");
        }
    }

    #[test]
    fn continuations_expose_slots() {
        let next = continuations("set frontend web-v4 pool ");
        assert_eq!(
            next,
            vec![Continuation {
                text: "<pool>",
                help: "pool",
                slot: Some(SlotKind::Pool),
            }]
        );
        let next = continuations("show backends ");
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].slot, Some(SlotKind::Backend));
        let next = continuations("config ");
        let texts: Vec<&str> = next.iter().map(|c| c.text).collect();
        assert_eq!(texts, ["check", "reload"]);
        assert!(next.iter().all(|c| c.slot.is_none() && !c.help.is_empty()));
    }

    #[test]
    fn every_tree_node_has_help() {
        fn check(nodes: &'static [Node]) {
            for node in nodes {
                assert!(!node.help.is_empty(), "{:?} has no help", node.token);
                check(node.next);
            }
        }
        check(ROOT);
    }

    #[test]
    fn docs_carry_the_current_help() {
        let docs = include_str!("../../../docs/control.md");
        for line in help_text().lines() {
            assert!(
                docs.lines().any(|doc| doc == line),
                "docs/control.md lacks help line {line:?}"
            );
        }
    }
}
