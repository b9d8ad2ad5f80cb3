//! Turning views into reply text: the aligned text tables/blocks (`text`),
//! one JSON document per show command (`json`), watch events as JSON lines,
//! and the reply framing of docs/control.md.
//!
//! Pure functions of their arguments; no clock (ages and wall-clock times
//! come in the views). Text columns are padded to the widest value and
//! never reordered, so `awk '{print $3}'` keeps working. No renderer emits
//! an empty line: the empty line terminates a reply.

pub mod json;
#[cfg(test)]
mod tests;
pub mod text;

use std::fmt::Write;
use std::time::Duration;

use crate::control::view::EventView;
use crate::json::Json;

/// A reply carrying payload (text lines or one JSON document): the payload
/// with every line guarded, then the terminating empty line.
pub fn reply_payload(payload: &str) -> String {
    let mut out = String::with_capacity(payload.len() + 2);
    for line in payload.lines() {
        // A payload line must not look like the end of the reply or an error
        // (spec/control.md §6: escape by indenting).
        if line.is_empty() || line == "OK" || line.starts_with("ERR ") {
            out.push(' ');
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out
}

/// The reply of a successful command without payload.
pub fn reply_ok() -> String {
    "OK\n\n".to_string()
}

/// An error reply; line breaks in `message` are flattened so the reply
/// stays one `ERR` line.
pub fn reply_err(message: &str) -> String {
    format!("ERR {}\n\n", clean(message))
}

/// One `watch events` line: a compact JSON object and `\n` (open-questions
/// Q-T2 shapes, with `time` as RFC 3339 UTC).
pub fn event_line(event: &EventView) -> String {
    let value = match event {
        EventView::Backend {
            backend,
            frontend,
            from,
            to,
            code,
            at_unix_ms,
        } => Json::object()
            .field("type", "backend")
            .field("backend", backend)
            .field("frontend", frontend)
            .field("from", from)
            .field("to", to)
            .field("code", code)
            .field("time", rfc3339_ms(*at_unix_ms)),
        EventView::Frontend {
            frontend,
            from,
            to,
            at_unix_ms,
        } => Json::object()
            .field("type", "frontend")
            .field("frontend", frontend)
            .field("from", from)
            .field("to", to)
            .field("time", rfc3339_ms(*at_unix_ms)),
        EventView::Log {
            level,
            event,
            fields,
            at_unix_ms,
        } => {
            let attrs = fields
                .iter()
                .map(|(key, value)| (key.clone(), Json::from(value)))
                .collect();
            Json::object()
                .field("type", "log")
                .field("level", level)
                .field("msg", event)
                .field("attrs", Json::Obj(attrs))
                .field("time", rfc3339_ms(*at_unix_ms))
        }
    };
    format!("{value}\n")
}

/// Makes a value safe for one text line: control characters (which would
/// break the line framing or a terminal) are shown escaped.
pub fn clean(value: &str) -> String {
    if !value.chars().any(char::is_control) {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for milliseconds since the Unix epoch.
pub fn rfc3339_ms(unix_ms: u64) -> String {
    let millis = unix_ms % 1000;
    let secs = unix_ms / 1000;
    let (hour, minute, second) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    let (year, month, day) = civil_from_days(secs / 86_400);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{millis:03}Z")
}

/// Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, restricted to non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// A coarse age: `12s`, `3m12s`, `2h3m`, `3d4h` (two units at most).
pub fn age(ms: u64) -> String {
    let secs = ms / 1000;
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m{}s", secs / 60, secs % 60),
        3600..=86_399 => format!("{}h{}m", secs / 3600, (secs / 60) % 60),
        _ => format!("{}d{}h", secs / 86_400, (secs / 3600) % 24),
    }
}

/// Go-style duration as in the config file: `500ms`, `2s`, `1.5s`, `1m30s`, `1h0m0s`.
pub fn go_duration(d: Duration) -> String {
    if d.is_zero() {
        return "0s".to_string();
    }
    if d < Duration::from_secs(1) {
        return if d.subsec_nanos() % 1_000_000 == 0 {
            format!("{}ms", d.as_millis())
        } else {
            format!("{}µs", d.as_micros())
        };
    }
    let secs = d.as_secs();
    let mut seconds = (secs % 60).to_string();
    let millis = d.subsec_millis();
    if millis > 0 {
        let fraction = format!("{millis:03}");
        let _ = write!(seconds, ".{}", fraction.trim_end_matches('0'));
    }
    match (secs / 3600, (secs / 60) % 60) {
        (0, 0) => format!("{seconds}s"),
        (0, minutes) => format!("{minutes}m{seconds}s"),
        (hours, minutes) => format!("{hours}h{minutes}m{seconds}s"),
    }
}

/// Column alignment of a [`Table`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Right,
}

/// Rows of cells written with columns padded to the widest cell and
/// separated by two spaces; a left-aligned last column is not padded (no
/// trailing blanks).
pub(crate) struct Table {
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(align: &[Align]) -> Table {
        Table {
            align: align.to_vec(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Each line starts with `indent`.
    pub(crate) fn render(&self, indent: &str) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|col| {
                self.rows
                    .iter()
                    .filter_map(|row| row.get(col))
                    .map(|cell| cell.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            out.push_str(indent);
            for (col, cell) in row.iter().enumerate() {
                let width = widths.get(col).copied().unwrap_or(0);
                let pad = width.saturating_sub(cell.chars().count());
                let last = col + 1 == row.len();
                if col > 0 {
                    out.push_str("  ");
                }
                match self.align.get(col).copied().unwrap_or(Align::Left) {
                    Align::Right => {
                        out.extend(std::iter::repeat(' ').take(pad));
                        out.push_str(cell);
                    }
                    Align::Left => {
                        out.push_str(cell);
                        if !last {
                            out.extend(std::iter::repeat(' ').take(pad));
                        }
                    }
                }
            }
            out.push('\n');
        }
        out
    }
}

/// `key  value` lines with the values in one column.
pub(crate) fn key_values(pairs: &[(&str, String)]) -> String {
    let mut table = Table::new(&[Align::Left, Align::Left]);
    for (key, value) in pairs {
        table.row(vec![key.to_string(), value.clone()]);
    }
    table.render("")
}
