//! Go `time.Duration` text syntax: [`parse`] (`250ms`, `1m30s`, `1.5s`, `0`)
//! and [`format`] / [`GoDuration`] (what Go's `Duration.String()` prints).
//!
//! The original daemon is written in Go and its configuration files use Go's
//! syntax, so ours must accept exactly the same strings. Unlike Go we have no
//! negative durations: a leading `-` on a non-zero value is reported as
//! [`DurationError::Negative`] so callers can say "negative" rather than
//! "invalid".

use std::fmt;
use std::time::Duration;

/// Go's limit: a `time.Duration` is an `i64` of nanoseconds.
const MAX_NANOS: u128 = i64::MAX as u128;

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// Why a duration string was rejected. Each variant carries the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DurationError {
    /// Not of the form `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+` (or `0`).
    Invalid(String),
    /// A number without a unit, e.g. `5` (only `0` may omit it).
    MissingUnit(String),
    /// A unit other than ns, us, µs, ms, s, m, h.
    UnknownUnit { input: String, unit: String },
    /// Larger than Go's maximum (about 292 years).
    Overflow(String),
    /// Syntactically valid but below zero.
    Negative(String),
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationError::Invalid(input) => write!(f, "invalid duration {input:?}"),
            DurationError::MissingUnit(input) => write!(
                f,
                "missing unit in duration {input:?} (use ns, us, ms, s, m or h)"
            ),
            DurationError::UnknownUnit { input, unit } => write!(
                f,
                "unknown unit {unit:?} in duration {input:?} (use ns, us, ms, s, m or h)"
            ),
            DurationError::Overflow(input) => write!(f, "duration {input:?} is too large"),
            DurationError::Negative(input) => write!(f, "negative duration {input:?}"),
        }
    }
}

impl std::error::Error for DurationError {}

/// Parses Go duration syntax: an optional sign, then one or more decimal
/// numbers (optionally with a fraction) each followed by a unit. `0` alone
/// needs no unit.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let invalid = || DurationError::Invalid(text.to_string());
    let (negative, mut rest) = if let Some(stripped) = text.strip_prefix('-') {
        (true, stripped)
    } else if let Some(stripped) = text.strip_prefix('+') {
        (false, stripped)
    } else {
        (false, text)
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let (whole_digits, after_whole) = split_leading_digits(rest);
        let (fraction_digits, after_number) = match after_whole.strip_prefix('.') {
            Some(after_dot) => split_leading_digits(after_dot),
            None => ("", after_whole),
        };
        if whole_digits.is_empty() && fraction_digits.is_empty() {
            return Err(invalid());
        }
        let unit_len = after_number
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(after_number.len());
        if unit_len == 0 {
            return Err(DurationError::MissingUnit(text.to_string()));
        }
        let (unit, after_unit) = after_number.split_at(unit_len);
        rest = after_unit;
        let unit_nanos = unit_nanos(unit).ok_or_else(|| DurationError::UnknownUnit {
            input: text.to_string(),
            unit: unit.to_string(),
        })?;
        let overflow = || DurationError::Overflow(text.to_string());
        let whole = parse_digits(whole_digits).ok_or_else(overflow)?;
        let mut value = whole.checked_mul(unit_nanos).ok_or_else(overflow)?;
        value += fraction_nanos(fraction_digits, unit_nanos);
        total = total.checked_add(value).ok_or_else(overflow)?;
        if total > MAX_NANOS {
            return Err(overflow());
        }
    }
    if negative && total > 0 {
        return Err(DurationError::Negative(text.to_string()));
    }
    // total ≤ i64::MAX, so it fits a u64.
    Ok(Duration::from_nanos(total as u64))
}

fn split_leading_digits(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(end)
}

/// `None` when the number does not fit (it would overflow anyway).
fn parse_digits(digits: &str) -> Option<u128> {
    digits.bytes().try_fold(0u128, |acc, digit| {
        acc.checked_mul(10)?
            .checked_add(u128::from(digit - b'0'))
            .filter(|value| *value <= MAX_NANOS)
    })
}

/// Nanoseconds contributed by the digits after the decimal point, truncated.
/// Digits beyond the 19th cannot change the result for units up to an hour
/// (3.6e12 ns), so they are ignored, which also bounds the arithmetic.
fn fraction_nanos(digits: &str, unit_nanos: u128) -> u128 {
    let significant = digits.get(..digits.len().min(19)).unwrap_or("");
    let numerator = significant
        .bytes()
        .fold(0u128, |acc, digit| acc * 10 + u128::from(digit - b'0'));
    let scale = 10u128.pow(significant.len() as u32);
    numerator * unit_nanos / scale
}

fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        // Go accepts the micro sign U+00B5 and the Greek mu U+03BC.
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => NANOS_PER_SEC,
        "m" => 60 * NANOS_PER_SEC,
        "h" => 3600 * NANOS_PER_SEC,
        _ => return None,
    })
}

/// Formats like Go's `Duration.String()`: `0s`, `250ms`, `1.5s`, `1m30s`,
/// `1h0m0s`, `1.2µs`.
pub fn format(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    if nanos < NANOS_PER_SEC {
        let (unit, unit_nanos, precision) = if nanos < 1_000 {
            ("ns", 1, 0)
        } else if nanos < 1_000_000 {
            ("\u{b5}s", 1_000, 3)
        } else {
            ("ms", 1_000_000, 6)
        };
        return format!(
            "{}{}{}",
            nanos / unit_nanos,
            fraction_text(nanos % unit_nanos, precision),
            unit
        );
    }
    let whole_seconds = nanos / NANOS_PER_SEC;
    let seconds = format!(
        "{}{}s",
        whole_seconds % 60,
        fraction_text(nanos % NANOS_PER_SEC, 9)
    );
    let minutes = whole_seconds / 60;
    if minutes == 0 {
        return seconds;
    }
    let hours = minutes / 60;
    if hours == 0 {
        return format!("{minutes}m{seconds}");
    }
    format!("{hours}h{}m{seconds}", minutes % 60)
}

/// `.5` for (5, 1); `.25` for (250, 3); empty for 0. Trailing zeros dropped.
fn fraction_text(remainder: u128, precision: usize) -> String {
    if remainder == 0 {
        return String::new();
    }
    let padded = format!("{remainder:0precision$}");
    format!(".{}", padded.trim_end_matches('0'))
}

/// Display adapter: `format!("{}", GoDuration(d))` prints [`format`]`(d)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoDuration(pub Duration);

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(n: u64) -> Duration {
        Duration::from_nanos(n)
    }

    #[test]
    fn parse_accepts_go_syntax() {
        let cases: &[(&str, Duration)] = &[
            ("0", Duration::ZERO),
            ("+0", Duration::ZERO),
            ("-0", Duration::ZERO),
            ("0s", Duration::ZERO),
            ("5s", Duration::from_secs(5)),
            ("+5s", Duration::from_secs(5)),
            ("250ms", Duration::from_millis(250)),
            ("1m30s", Duration::from_secs(90)),
            ("1.5s", Duration::from_millis(1500)),
            (".5s", Duration::from_millis(500)),
            ("1.s", Duration::from_secs(1)),
            ("2h45m", Duration::from_secs(2 * 3600 + 45 * 60)),
            ("1h1m1s1ms1us1ns", ns(3_661_001_001_001)),
            ("10ns", ns(10)),
            ("10us", ns(10_000)),
            ("10\u{b5}s", ns(10_000)),
            ("10\u{3bc}s", ns(10_000)),
            ("1.004ms", ns(1_004_000)),
            ("0.1h", Duration::from_secs(360)),
            ("1.0000000001s", Duration::from_secs(1)),
            ("3.000000001s", ns(3_000_000_001)),
            ("0.3333333333333333333333h", ns(1_199_999_999_999)),
            ("1s1s", Duration::from_secs(2)),
            ("9223372036854775807ns", ns(i64::MAX as u64)),
            ("2562047h47m16.854775807s", ns(i64::MAX as u64)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), Ok(*expected), "input {text:?}");
        }
    }

    #[test]
    fn parse_rejects_bad_input() {
        let invalid = |s: &str| DurationError::Invalid(s.to_string());
        let missing = |s: &str| DurationError::MissingUnit(s.to_string());
        let unknown = |s: &str, u: &str| DurationError::UnknownUnit {
            input: s.to_string(),
            unit: u.to_string(),
        };
        let cases: Vec<(&str, DurationError)> = vec![
            ("", invalid("")),
            ("-", invalid("-")),
            ("+", invalid("+")),
            (".", invalid(".")),
            (".s", invalid(".s")),
            ("s", invalid("s")),
            ("--5s", invalid("--5s")),
            (" 5s", invalid(" 5s")),
            ("5", missing("5")),
            ("00", missing("00")),
            ("1s5", missing("1s5")),
            ("5d", unknown("5d", "d")),
            ("5 s", unknown("5 s", " s")),
            ("5sec", unknown("5sec", "sec")),
            ("5S", unknown("5S", "S")),
            ("-5s", DurationError::Negative("-5s".into())),
            ("-1m30s", DurationError::Negative("-1m30s".into())),
            (
                "9223372036854775808ns",
                DurationError::Overflow("9223372036854775808ns".into()),
            ),
            ("3000000h", DurationError::Overflow("3000000h".into())),
            (
                "99999999999999999999999999999999999999999s",
                DurationError::Overflow("99999999999999999999999999999999999999999s".into()),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), Err(expected), "input {text:?}");
        }
    }

    #[test]
    fn negative_error_says_negative() {
        let message = parse("-2s").unwrap_err().to_string();
        assert_eq!(message, "negative duration \"-2s\"");
    }

    #[test]
    fn format_matches_go() {
        let cases: &[(Duration, &str)] = &[
            (Duration::ZERO, "0s"),
            (ns(1), "1ns"),
            (ns(999), "999ns"),
            (ns(1_000), "1\u{b5}s"),
            (ns(1_100), "1.1\u{b5}s"),
            (ns(2_200_000), "2.2ms"),
            (Duration::from_millis(250), "250ms"),
            (ns(1_004_000), "1.004ms"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_secs(2), "2s"),
            (Duration::from_secs(90), "1m30s"),
            (Duration::from_secs(120), "2m0s"),
            (Duration::from_secs(3600), "1h0m0s"),
            (ns(3_000_000_001), "3.000000001s"),
            (ns(4_000 * 1_000_000_000 + 5_000_000), "1h6m40.005s"),
            (ns(i64::MAX as u64), "2562047h47m16.854775807s"),
        ];
        for (duration, expected) in cases {
            assert_eq!(format(*duration), *expected, "{duration:?}");
            assert_eq!(GoDuration(*duration).to_string(), *expected);
        }
    }

    #[test]
    fn format_then_parse_round_trips() {
        for nanos in [
            1,
            999,
            1_500,
            40_000_000_000,
            5_400_000_000_001,
            7_200_000_000_000,
        ] {
            let duration = ns(nanos);
            assert_eq!(parse(&format(duration)), Ok(duration), "{nanos}");
        }
    }
}
