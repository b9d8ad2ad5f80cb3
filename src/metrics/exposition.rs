//! Writer for the Prometheus text exposition format 0.0.4: `# HELP` and
//! `# TYPE` once per family, label value escaping, Prometheus float
//! formatting and histogram/summary series.
//!
//! A family is open while its [`Family`] borrows the [`Writer`], so every
//! sample of a family is written before the next family can start: the
//! format's contiguity rule holds by construction. The writer appends to one
//! `String` and formats numbers by hand on the hot paths, because a scrape of
//! 10,000 backends writes a few hundred thousand lines.

use std::fmt::Write as _;

/// Family types of the 0.0.4 format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

impl MetricType {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::Summary => "summary",
            MetricType::Untyped => "untyped",
        }
    }
}

/// Label pairs of one series, names first. Names are static identifiers of
/// this crate; values may come from configuration or VPP and get escaped.
pub type Labels<'a> = [(&'a str, &'a str)];

/// Histogram bucket bounds with their `le` label values formatted once,
/// since every series of a family repeats them.
#[derive(Debug, Clone)]
pub struct Buckets {
    /// Line tails after the series prefix: `0.005"} `, ending with `+Inf`.
    tails: Vec<String>,
}

impl Buckets {
    /// `bounds`: the finite upper bounds, ascending; `+Inf` is implicit.
    pub fn new(bounds: &[f64]) -> Self {
        let tails = bounds
            .iter()
            .map(|&b| {
                let mut s = String::new();
                push_f64(&mut s, b);
                s.push_str("\"} ");
                s
            })
            .chain(std::iter::once("+Inf\"} ".to_string()))
            .collect();
        Buckets { tails }
    }
}

/// Accumulates one exposition document.
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
    /// Label block of the current histogram/summary series, rendered once
    /// and repeated on each of its lines.
    scratch: String,
}

impl Writer {
    pub fn new() -> Self {
        Writer::default()
    }

    /// Reuse `buf` (cleared) so a scrape does not reallocate from zero.
    pub fn with_buffer(mut buf: String) -> Self {
        buf.clear();
        Writer {
            out: buf,
            scratch: String::new(),
        }
    }

    /// Start a family. HELP text is escaped (`\\`, `\n`).
    pub fn family<'w>(&'w mut self, name: &'w str, ty: MetricType, help: &str) -> Family<'w> {
        debug_assert!(is_metric_name(name), "bad metric name {name}");
        self.out.push_str("# HELP ");
        self.out.push_str(name);
        self.out.push(' ');
        escape_help(&mut self.out, help);
        self.out.push_str("\n# TYPE ");
        self.out.push_str(name);
        self.out.push(' ');
        self.out.push_str(ty.as_str());
        self.out.push('\n');
        Family {
            out: &mut self.out,
            scratch: &mut self.scratch,
            name,
            ty,
        }
    }

    /// Go on with a family whose header an earlier [`Writer::family`]
    /// wrote (rendering in slices): samples of one family stay contiguous
    /// as long as nothing else is written in between.
    pub fn resume<'w>(&'w mut self, name: &'w str, ty: MetricType) -> Family<'w> {
        Family {
            out: &mut self.out,
            scratch: &mut self.scratch,
            name,
            ty,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.out
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// An open family; samples go to it until it is dropped.
#[derive(Debug)]
pub struct Family<'w> {
    out: &'w mut String,
    scratch: &'w mut String,
    name: &'w str,
    ty: MetricType,
}

impl Family<'_> {
    /// One sample of a counter, gauge or untyped family.
    pub fn sample(&mut self, labels: &Labels<'_>, value: f64) {
        debug_assert!(!matches!(
            self.ty,
            MetricType::Histogram | MetricType::Summary
        ));
        series(self.out, self.name, "", labels, None);
        push_f64(self.out, value);
        self.out.push('\n');
    }

    /// Like [`Family::sample`] for an integer value (exact, no float detour).
    pub fn sample_u64(&mut self, labels: &Labels<'_>, value: u64) {
        debug_assert!(!matches!(
            self.ty,
            MetricType::Histogram | MetricType::Summary
        ));
        series(self.out, self.name, "", labels, None);
        push_u64_line(self.out, value);
    }

    /// Several samples that differ only in the value of one last label
    /// (`key`), e.g. a one-hot state: the shared part is escaped once.
    pub fn sample_set(&mut self, labels: &Labels<'_>, key: &str, items: &[(&str, u64)]) {
        debug_assert!(is_label_name(key), "bad label name {key}");
        self.scratch.clear();
        self.scratch.push_str(self.name);
        self.scratch.push('{');
        push_labels(self.scratch, labels);
        if !labels.is_empty() {
            self.scratch.push(',');
        }
        self.scratch.push_str(key);
        self.scratch.push_str("=\"");
        for &(v, n) in items {
            self.out.push_str(self.scratch);
            escape_label_value(self.out, v);
            self.out.push_str("\"} ");
            push_u64_line(self.out, n);
        }
    }

    /// A whole histogram series: `cumulative[i]` counts the observations
    /// ≤ the i-th bound of `buckets`; the `+Inf` bucket is `count`. Missing
    /// cumulative entries repeat the previous one, so the series stays
    /// monotonic whatever the caller passes.
    pub fn histogram(
        &mut self,
        labels: &Labels<'_>,
        buckets: &Buckets,
        cumulative: &[u64],
        sum: f64,
        count: u64,
    ) {
        debug_assert_eq!(self.ty, MetricType::Histogram);
        // `name_bucket{labels,le="` once per series: the hot loop then
        // appends three pieces per line.
        self.scratch.clear();
        self.scratch.push_str(self.name);
        self.scratch.push_str("_bucket{");
        push_labels(self.scratch, labels);
        if !labels.is_empty() {
            self.scratch.push(',');
        }
        self.scratch.push_str("le=\"");
        let mut last = 0u64;
        let finite = buckets.tails.len().saturating_sub(1);
        for (i, tail) in buckets.tails.iter().enumerate() {
            last = if i < finite {
                cumulative.get(i).copied().unwrap_or(last).max(last)
            } else {
                count.max(last)
            };
            self.out.push_str(self.scratch);
            self.out.push_str(tail);
            push_u64_line(self.out, last);
        }
        self.sum_count(labels, sum, last);
    }

    /// A whole summary series: `(quantile, value)` pairs, then sum and count.
    pub fn summary(&mut self, labels: &Labels<'_>, quantiles: &[(f64, f64)], sum: f64, count: u64) {
        debug_assert_eq!(self.ty, MetricType::Summary);
        let mut q = String::with_capacity(8);
        for &(quantile, value) in quantiles {
            q.clear();
            push_f64(&mut q, quantile);
            series(self.out, self.name, "", labels, Some(("quantile", &q)));
            push_f64(self.out, value);
            self.out.push('\n');
        }
        self.sum_count(labels, sum, count);
    }

    fn sum_count(&mut self, labels: &Labels<'_>, sum: f64, count: u64) {
        series(self.out, self.name, "_sum", labels, None);
        push_f64(self.out, sum);
        self.out.push('\n');
        series(self.out, self.name, "_count", labels, None);
        push_u64_line(self.out, count);
    }
}

/// `k="v",k2="v2"` (values escaped).
fn push_labels(block: &mut String, labels: &Labels<'_>) {
    for (i, &(k, v)) in labels.iter().enumerate() {
        debug_assert!(is_label_name(k), "bad label name {k}");
        if i > 0 {
            block.push(',');
        }
        block.push_str(k);
        block.push_str("=\"");
        escape_label_value(block, v);
        block.push('"');
    }
}

/// `name{labels,extra} ` — everything up to the value.
fn series(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &Labels<'_>,
    extra: Option<(&str, &str)>,
) {
    out.push_str(name);
    out.push_str(suffix);
    if !labels.is_empty() || extra.is_some() {
        out.push('{');
        let mut first = true;
        for &(k, v) in labels.iter().chain(extra.iter()) {
            debug_assert!(is_label_name(k), "bad label name {k}");
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(k);
            out.push_str("=\"");
            escape_label_value(out, v);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
}

/// Label values escape backslash, double quote and newline.
pub fn escape_label_value(out: &mut String, v: &str) {
    if !v.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        out.push_str(v);
        return;
    }
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// HELP text escapes backslash and newline only.
pub fn escape_help(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Prometheus float syntax: `+Inf`, `-Inf`, `NaN`; integral values without
/// exponent or fraction; others in Rust's shortest round-trip form (never an
/// exponent, which the format allows but humans read worse).
pub fn push_f64(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 9.0e15 {
        // Exactly representable integers: the cheap path, and "-0" → "0".
        let i = v as i64;
        if i < 0 {
            out.push('-');
        }
        push_u64(out, i.unsigned_abs());
    } else if !push_micro_decimal(out, v) {
        let _ = write!(out, "{v}");
    }
}

/// Values with at most six decimals (durations kept in microseconds, most
/// gauges) printed without `fmt`: `int.frac` with trailing zeros trimmed.
/// Returns false, writing nothing, when `v` has more precision than that.
fn push_micro_decimal(out: &mut String, v: f64) -> bool {
    let scaled = (v.abs() * 1e6).round();
    // Below 2^53 every integer is exact; the round trip proves that the six
    // decimals read back as exactly `v`.
    if scaled >= 9.0e15 || scaled / 1e6 != v.abs() {
        return false;
    }
    let micros = scaled as u64;
    if v < 0.0 {
        out.push('-');
    }
    push_u64(out, micros / 1_000_000);
    let mut frac = micros % 1_000_000;
    if frac != 0 {
        let mut width = 6;
        while frac % 10 == 0 {
            frac /= 10;
            width -= 1;
        }
        let mut buf = [b'0'; 7];
        buf[0] = b'.';
        let start = digits(&mut buf[1..=width], frac);
        debug_assert!(start <= width);
        if let Ok(s) = std::str::from_utf8(buf.get(..=width).unwrap_or_default()) {
            out.push_str(s);
        }
    }
    true
}

/// Decimal digits of `v` without going through `fmt`.
pub fn push_u64(out: &mut String, v: u64) {
    let mut buf = [0u8; 21];
    let start = digits(&mut buf[..20], v);
    // Only ASCII digits were written, so this never fails.
    if let Ok(s) = std::str::from_utf8(buf.get(start..20).unwrap_or_default()) {
        out.push_str(s);
    }
}

/// `v` and a newline in one append (the end of most sample lines).
fn push_u64_line(out: &mut String, v: u64) {
    let mut buf = [0u8; 21];
    let start = digits(&mut buf[..20], v);
    buf[20] = b'\n';
    if let Ok(s) = std::str::from_utf8(buf.get(start..).unwrap_or_default()) {
        out.push_str(s);
    }
}

/// Write `v`'s digits right-aligned into `buf` (20 bytes hold u64::MAX);
/// returns where they start.
fn digits(buf: &mut [u8], mut v: u64) -> usize {
    let mut i = buf.len();
    loop {
        i -= 1;
        // `i` stays within 0..20: u64::MAX has 20 digits.
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    i
}

fn is_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_' | b':'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

fn is_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests;
