//! The few debug-CLI commands `cli_inband` can run here, and VPP's answer to
//! everything else.
//!
//! vlib's dispatcher walks the command tree word by word; an unknown word
//! ends it with `unknown input `REST'` (prefixed with the parent command's
//! path, `show: unknown input ...`), printed through `vlib_cli_output`,
//! which appends a newline. The API call itself still succeeds (retval 0).

use crate::sim::lb::LbState;

/// Runs one command line against the model and returns its output text.
pub fn run(lb: &LbState, line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        [] => String::new(),
        ["show", "lb", "vips", rest @ ..] => {
            if rest.contains(&"verbose") {
                lb.show_vips_verbose()
            } else {
                lb.show_vips()
            }
        }
        ["show", "version", ..] => {
            format!(
                "vpp v{} built by vppsim on vpp-maglev\n",
                super::handler::VERSION
            )
        }
        ["show", "lb", _, ..] => unknown(Some("show lb"), rest_after(line, 2)),
        ["show", _, ..] => unknown(Some("show"), rest_after(line, 1)),
        _ => unknown(None, line.trim_start()),
    }
}

fn unknown(path: Option<&str>, rest: &str) -> String {
    match path {
        Some(path) => format!("{path}: unknown input `{rest}'\n"),
        None => format!("unknown input `{rest}'\n"),
    }
}

/// The input left after `n` words (what `format_unformat_error` prints).
fn rest_after(line: &str, n: usize) -> &str {
    let mut rest = line.trim_start();
    for _ in 0..n {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = rest.get(end..).unwrap_or("").trim_start();
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_unknown_input() {
        let lb = LbState::default();
        let cases = [
            ("", ""),
            ("show lb vips verbose", ""),
            ("show lb vips", ""),
            ("frobnicate now", "unknown input `frobnicate now'\n"),
            ("show frob  x", "show: unknown input `frob  x'\n"),
            ("show lb vipz", "show lb: unknown input `vipz'\n"),
        ];
        for (cmd, want) in cases {
            assert_eq!(run(&lb, cmd), want, "{cmd:?}");
        }
        assert!(run(&lb, "show version").starts_with("vpp v26.10-vppsim"));
    }
}
