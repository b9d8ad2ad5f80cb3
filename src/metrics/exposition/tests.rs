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
        (0.0054, "0.0054"),
        (86400.5, "86400.5"),
        (-2.000001, "-2.000001"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1.0 / 3.0, "0.3333333333333333"),
        (0.010203, "0.010203"),
    ];
    for &(v, want) in cases {
        assert_eq!(f(v), want, "{v:?}");
    }
    assert!(!f(1e300).contains('e'));
    // Every printed value reads back exactly.
    for i in 0..20_000u64 {
        let v = (i * 7919) as f64 / 1e6 + (i % 3) as f64 * 1e-7;
        assert_eq!(f(v).parse::<f64>().unwrap(), v, "{v:?} -> {}", f(v));
    }
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
fn sample_set_matches_single_samples() {
    let labels = [("backend", "a\"b"), ("type", "http")];
    let items = [("up", 1), ("down", 0), ("we\nird", 7)];
    let mut one = Writer::new();
    {
        let mut f = one.family("s", MetricType::Gauge, "h");
        f.sample_set(&labels, "state", &items);
        f.sample_set(&[], "state", &items[..1]);
    }
    let mut many = Writer::new();
    {
        let mut f = many.family("s", MetricType::Gauge, "h");
        for (v, n) in items {
            f.sample_u64(&[labels[0], labels[1], ("state", v)], n);
        }
        f.sample_u64(&[("state", "up")], 1);
    }
    assert_eq!(one.finish(), many.finish());
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
