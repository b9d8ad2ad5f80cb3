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
    let width = lines.iter().map(|(path, _)| path.chars().count()).max().unwrap_or(0);
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
