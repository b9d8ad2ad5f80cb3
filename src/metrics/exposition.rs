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
    les: Vec<String>,
}

impl Buckets {
    /// `bounds`: the finite upper bounds, ascending; `+Inf` is implicit.
    pub fn new(bounds: &[f64]) -> Self {
        let les = bounds
            .iter()
            .map(|&b| {
                let mut s = String::new();
                push_f64(&mut s, b);
                s
            })
            .collect();
        Buckets { les }
    }
}

/// Accumulates one exposition document.
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
}

impl Writer {
    pub fn new() -> Self {
        Writer::default()
    }

    /// Reuse `buf` (cleared) so a scrape does not reallocate from zero.
    pub fn with_buffer(mut buf: String) -> Self {
        buf.clear();
        Writer { out: buf }
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
        push_u64(self.out, value);
        self.out.push('\n');
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
        let mut last = 0u64;
        for (i, le) in buckets.les.iter().enumerate() {
            last = cumulative.get(i).copied().unwrap_or(last).max(last);
            series(self.out, self.name, "_bucket", labels, Some(("le", le)));
            push_u64(self.out, last);
            self.out.push('\n');
        }
        series(self.out, self.name, "_bucket", labels, Some(("le", "+Inf")));
        push_u64(self.out, count.max(last));
        self.out.push('\n');
        self.sum_count(labels, sum, count.max(last));
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
        push_u64(self.out, count);
        self.out.push('\n');
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
    } else {
        let _ = write!(out, "{v}");
    }
}

/// Decimal digits of `v` without going through `fmt`.
pub fn push_u64(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
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
    for &b in buf.get(i..).unwrap_or(&[]) {
        out.push(char::from(b));
    }
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
mod tests {
    use super::*;

    fn f(v: f64) -> String {
        let mut s = String::new();
        push_f64(&mut s, v);
        s
    }

    #[test]
    fn floats() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-3.0, "-3"),
            (1e6, "1000000"),
            (0.0005, "0.0005"),
            (2.5, "2.5"),
            (1e300, &format!("{}", 1e300)),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
            (1.5e-7, "0.00000015"),
        ];
        for &(v, want) in cases {
            assert_eq!(f(v), want, "{v:?}");
        }
        assert!(!f(1e300).contains('e'));
    }

    #[test]
    fn integers() {
        for v in [0u64, 7, 10, 99, 1234567890, u64::MAX] {
            let mut s = String::new();
            push_u64(&mut s, v);
            assert_eq!(s, v.to_string());
        }
    }

    #[test]
    fn label_escaping() {
        let cases = [
            ("plain", "plain"),
            ("a\\b", "a\\\\b"),
            ("say \"hi\"", "say \\\"hi\\\""),
            ("two\nlines", "two\\nlines"),
            ("ünï", "ünï"),
            ("\\\"\n", "\\\\\\\"\\n"),
        ];
        for (input, want) in cases {
            let mut s = String::new();
            escape_label_value(&mut s, input);
            assert_eq!(s, want, "{input:?}");
        }
    }

    #[test]
    fn help_escaping_leaves_quotes() {
        let mut w = Writer::new();
        w.family("x", MetricType::Gauge, "a \"b\" c\\d\ne");
        assert_eq!(w.finish(), "# HELP x a \"b\" c\\\\d\\ne\n# TYPE x gauge\n");
    }

    #[test]
    fn gauge_and_counter_samples() {
        let mut w = Writer::new();
        {
            let mut f = w.family("maglev_backend_state", MetricType::Gauge, "State.");
            f.sample(&[("backend", "a"), ("state", "up")], 1.0);
            f.sample(&[("backend", "a\"q"), ("state", "down")], 0.0);
        }
        {
            let mut f = w.family(
                "maglevd_loop_iterations_total",
                MetricType::Counter,
                "Loops.",
            );
            f.sample_u64(&[], 42);
        }
        assert_eq!(
            w.finish(),
            "# HELP maglev_backend_state State.\n\
             # TYPE maglev_backend_state gauge\n\
             maglev_backend_state{backend=\"a\",state=\"up\"} 1\n\
             maglev_backend_state{backend=\"a\\\"q\",state=\"down\"} 0\n\
             # HELP maglevd_loop_iterations_total Loops.\n\
             # TYPE maglevd_loop_iterations_total counter\n\
             maglevd_loop_iterations_total 42\n"
        );
    }

    #[test]
    fn histogram_series() {
        let mut w = Writer::new();
        {
            let mut f = w.family("d_seconds", MetricType::Histogram, "D.");
            f.histogram(
                &[("backend", "a")],
                &Buckets::new(&[0.5, 1.0, 2.5]),
                &[1, 3],
                4.25,
                5,
            );
        }
        assert_eq!(
            w.finish(),
            "# HELP d_seconds D.\n\
             # TYPE d_seconds histogram\n\
             d_seconds_bucket{backend=\"a\",le=\"0.5\"} 1\n\
             d_seconds_bucket{backend=\"a\",le=\"1\"} 3\n\
             d_seconds_bucket{backend=\"a\",le=\"2.5\"} 3\n\
             d_seconds_bucket{backend=\"a\",le=\"+Inf\"} 5\n\
             d_seconds_sum{backend=\"a\"} 4.25\n\
             d_seconds_count{backend=\"a\"} 5\n"
        );
    }

    #[test]
    fn summary_series() {
        let mut w = Writer::new();
        {
            let mut f = w.family("lat_seconds", MetricType::Summary, "L.");
            f.summary(&[], &[(0.5, 0.001), (0.99, 0.02)], 1.5, 300);
        }
        assert_eq!(
            w.finish(),
            "# HELP lat_seconds L.\n\
             # TYPE lat_seconds summary\n\
             lat_seconds{quantile=\"0.5\"} 0.001\n\
             lat_seconds{quantile=\"0.99\"} 0.02\n\
             lat_seconds_sum 1.5\n\
             lat_seconds_count 300\n"
        );
    }

    /// Every sample line belongs to the family most recently announced.
    #[test]
    fn families_are_contiguous() {
        let mut w = Writer::new();
        for name in ["a_total", "b", "c_seconds"] {
            let ty = match name {
                "a_total" => MetricType::Counter,
                "b" => MetricType::Gauge,
                _ => MetricType::Histogram,
            };
            let mut f = w.family(name, ty, "h");
            for i in 0..3 {
                let v = i.to_string();
                if ty == MetricType::Histogram {
                    f.histogram(&[("i", &v)], &Buckets::new(&[1.0]), &[1], 1.0, 1);
                } else {
                    f.sample(&[("i", &v)], 1.0);
                }
            }
        }
        let text = w.finish();
        let mut current = String::new();
        let mut seen = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                current = rest.split(' ').next().unwrap().to_string();
                assert!(!seen.contains(&current), "family {current} twice");
                seen.push(current.clone());
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                let base = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s).filter(|b| *b == current))
                    .unwrap_or(name);
                assert_eq!(base, current, "{line}");
            }
        }
        assert_eq!(seen, ["a_total", "b", "c_seconds"]);
    }

    #[test]
    fn names_validated() {
        assert!(is_metric_name("maglev_vpp_info"));
        assert!(is_metric_name("a:b"));
        assert!(!is_metric_name("1a"));
        assert!(!is_metric_name(""));
        assert!(is_label_name("le"));
        assert!(!is_label_name("a:b"));
    }
}
