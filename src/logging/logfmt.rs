//! logfmt encoding and decoding (`key=value key2="quoted value"`), and the
//! RFC 3339 timestamp the log lines and events carry. Pure.

use std::fmt::{self, Display, Write};

/// Append ` key=value` to `line`, quoting the value when logfmt needs it.
pub fn push_field(line: &mut String, key: &str, value: &dyn Display) {
    line.push(' ');
    line.push_str(key);
    line.push('=');
    let start = line.len();
    let _ = write!(line, "{value}");
    let needs_quotes = line.len() == start
        || line[start..]
            .bytes()
            .any(|b| b <= b' ' || b == b'=' || b == b'"' || b == b'\\' || b == 0x7f);
    if needs_quotes {
        let raw = line.split_off(start);
        line.push('"');
        for c in raw.chars() {
            match c {
                '"' => line.push_str("\\\""),
                '\\' => line.push_str("\\\\"),
                '\n' => line.push_str("\\n"),
                '\r' => line.push_str("\\r"),
                '\t' => line.push_str("\\t"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    let _ = write!(line, "\\u{:04x}", c as u32);
                }
                c => line.push(c),
            }
        }
        line.push('"');
    }
}

/// Split a logfmt line into (key, value) pairs, undoing the quoting of
/// [`push_field`]. Bare words without `=` become keys with empty values.
pub fn parse_fields(line: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ' ' {
                break;
            }
            key.push(c);
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some('n') => value.push('\n'),
                            Some('r') => value.push('\r'),
                            Some('t') => value.push('\t'),
                            Some('u') => {
                                let hex: String = chars.by_ref().take(4).collect();
                                if let Some(c) =
                                    u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32)
                                {
                                    value.push(c);
                                }
                            }
                            Some(other) => value.push(other),
                            None => break,
                        },
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ' ' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
        }
        out.push((key, value));
    }
    out
}

/// Milliseconds since the Unix epoch as `2026-11-22T02:46:34.123Z`.
pub struct Rfc3339Ms(pub u64);

impl Display for Rfc3339Ms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0 % 1000;
        let secs = self.0 / 1000;
        let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
        let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z")
    }
}

/// Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// algorithm), so no date crate is needed.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_round_trips() {
        let cases: &[(&str, &str)] = &[
            ("plain", "plain"),
            ("", "\"\""),
            ("two words", "\"two words\""),
            ("a=b", "\"a=b\""),
            ("say \"hi\"", "\"say \\\"hi\\\"\""),
            ("back\\slash", "\"back\\\\slash\""),
            ("line\nbreak", "\"line\\nbreak\""),
            ("bell\u{7}", "\"bell\\u0007\""),
            ("192.0.2.1:80", "192.0.2.1:80"),
        ];
        for (value, encoded) in cases {
            let mut line = String::from("event=x");
            push_field(&mut line, "k", value);
            assert_eq!(line, format!("event=x k={encoded}"), "value {value:?}");
            let parsed = parse_fields(&line);
            assert_eq!(parsed[1], ("k".to_string(), value.to_string()));
        }
    }

    #[test]
    fn parse_bare_words_and_spaces() {
        let got = parse_fields("  event=a  flag b=\"x y\"");
        assert_eq!(
            got,
            vec![
                ("event".into(), "a".into()),
                ("flag".into(), "".into()),
                ("b".into(), "x y".into())
            ]
        );
    }

    #[test]
    fn timestamps() {
        let cases = [
            (0u64, "1970-01-01T00:00:00.000Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (1_795_313_094_123, "2026-11-22T02:04:54.123Z"),
            (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
        ];
        for (ms, want) in cases {
            assert_eq!(Rfc3339Ms(ms).to_string(), want);
        }
    }
}
