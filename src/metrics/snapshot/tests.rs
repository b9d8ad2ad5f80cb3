use super::*;
use crate::metrics::fixture::synthetic;

fn has_line(text: &str, line: &str) {
    assert!(text.lines().any(|l| l == line), "missing line {line:?}");
}

fn lacks_prefix(text: &str, prefix: &str) {
    assert!(
        !text.lines().any(|l| l.starts_with(prefix)),
        "unexpected {prefix:?}"
    );
}

#[test]
fn golden_lines() {
    let text = render(&synthetic(14, 3));
    for line in [
        "# TYPE maglev_backend_state gauge",
        "maglev_backend_state{backend=\"web-1\",state=\"up\"} 1",
        "maglev_backend_state{backend=\"web-1\",state=\"unknown\"} 0",
        "maglev_backend_state{backend=\"web-4\",state=\"down\"} 1",
        "maglev_backend_health{backend=\"web-3\"} 3",
        "maglev_backend_enabled{backend=\"web-7\"} 0",
        "maglev_backend_enabled{backend=\"web-1\"} 1",
        "# TYPE maglev_probe_total counter",
        "maglev_probe_total{backend=\"web-4\",type=\"http\",result=\"failure\",code=\"L7STS\"} 1",
        "maglev_probe_total{backend=\"web-1\",type=\"http\",result=\"success\",code=\"L7OK\"} 4",
        "maglev_probe_total{backend=\"web-3\",type=\"tcp\",result=\"success\",code=\"L7OK\"} 6",
        "# TYPE maglev_probe_duration_seconds histogram",
        // web-1: 4 probes at 0.3, 1.0, 1.7, 2.4 ms.
        "maglev_probe_duration_seconds_bucket{backend=\"web-1\",type=\"http\",le=\"0.0005\"} 1",
        "maglev_probe_duration_seconds_bucket{backend=\"web-1\",type=\"http\",le=\"0.001\"} 2",
        "maglev_probe_duration_seconds_bucket{backend=\"web-1\",type=\"http\",le=\"0.0025\"} 4",
        "maglev_probe_duration_seconds_bucket{backend=\"web-1\",type=\"http\",le=\"2.5\"} 4",
        "maglev_probe_duration_seconds_bucket{backend=\"web-1\",type=\"http\",le=\"+Inf\"} 4",
        "maglev_probe_duration_seconds_sum{backend=\"web-1\",type=\"http\"} 0.0054",
        "maglev_probe_duration_seconds_count{backend=\"web-1\",type=\"http\"} 4",
        // web-4 (down): its 3 s timeout is only in +Inf.
        // 7 passes, one 12 ms L7STS, one 3 s L4TOUT.
        "maglev_probe_duration_seconds_bucket{backend=\"web-4\",type=\"http\",le=\"0.025\"} 8",
        "maglev_probe_duration_seconds_bucket{backend=\"web-4\",type=\"http\",le=\"2.5\"} 8",
        "maglev_probe_duration_seconds_bucket{backend=\"web-4\",type=\"http\",le=\"+Inf\"} 9",
        "maglev_backend_transitions_total{backend=\"web-2\",from=\"up\",to=\"down\"} 2",
        "maglev_frontend_state{frontend=\"fe-0\",state=\"up\"} 1",
        "maglev_frontend_state{frontend=\"fe-0\",state=\"down\"} 0",
        "maglev_frontend_pool_backend_weight{frontend=\"fe-0\",pool=\"fallback\",backend=\"web-1\"} 100",
        "maglev_frontend_pool_backend_effective_weight{frontend=\"fe-0\",pool=\"primary\",backend=\"web-4\"} 0",
        "maglev_vpp_connected 1",
        "maglev_vpp_uptime_seconds 86400.5",
        "maglev_vpp_connected_seconds 3600.25",
        "maglev_vpp_info{version=\"24.10-release\",build_date=\"2024-10-30T12:00:00\",pid=\"4242\"} 1",
        "maglev_vpp_api_total{msg=\"lb_add_del_as_v2\",direction=\"recv\",result=\"failure\"} 1",
        "maglev_vpp_lbsync_total{scope=\"vip\",kind=\"as_weight_updated\"} 17",
        "maglev_vpp_lbsync_drift_repairs_total 2",
        "maglev_vpp_lbsync_errors_total{scope=\"all\"} 1",
        "maglev_vpp_vip_packets_total{prefix=\"192.0.0.2/32\",protocol=\"udp\",port=\"81\",kind=\"next\"} 1000",
        "maglev_vpp_vip_packets_total{prefix=\"192.0.0.2/32\",protocol=\"udp\",port=\"81\",kind=\"no_server\"} 1",
        "maglev_vpp_vip_route_bytes_total{prefix=\"192.0.0.3/32\",protocol=\"tcp\",port=\"82\"} 2000000014",
        "maglevd_build_info{version=\"0.1.0\"} 1",
        "maglevd_start_time_seconds 1700000000",
        "maglevd_loop_iterations_total 123456",
        "maglevd_log_lines_dropped_total 3",
        "# TYPE maglevd_timer_lateness_seconds summary",
        "maglevd_timer_lateness_seconds{quantile=\"0.99\"} 0.004",
        "maglevd_timer_lateness_seconds_count 50000",
        "maglevd_probes_in_flight 17",
    ] {
        has_line(&text, line);
    }
}

#[test]
fn backend_state_is_one_hot() {
    let s = synthetic(30, 0);
    let text = render(&s);
    for b in &s.backends {
        let prefix = format!("maglev_backend_state{{backend=\"{}\",", b.name);
        let values: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with(&prefix))
            .map(|l| l.rsplit(' ').next().unwrap())
            .collect();
        assert_eq!(values.len(), 6, "{}", b.name);
        assert_eq!(
            values.iter().filter(|v| **v == "1").count(),
            1,
            "{}",
            b.name
        );
        has_line(
            &text,
            &format!("{prefix}state=\"{}\"}} 1", b.state.as_str()),
        );
    }
}

#[test]
fn vpp_gauges_omitted_while_disconnected() {
    let mut s = synthetic(2, 2);
    s.vpp.connection = None;
    let text = render(&s);
    has_line(&text, "maglev_vpp_connected 0");
    for gauge in [
        "maglev_vpp_uptime_seconds",
        "maglev_vpp_connected_seconds",
        "maglev_vpp_info",
        "# HELP maglev_vpp_info",
    ] {
        lacks_prefix(&text, gauge);
    }
    // Counters stay.
    has_line(&text, "maglev_vpp_lbsync_drift_repairs_total 2");
    assert!(text.contains("maglev_vpp_vip_packets_total{prefix=\"192.0.0.1/32\""));
    // Uptime unknown while connected: only that gauge goes.
    let mut s = synthetic(1, 0);
    if let Some(c) = s.vpp.connection.as_mut() {
        c.uptime_seconds = None;
    }
    let text = render(&s);
    lacks_prefix(&text, "maglev_vpp_uptime_seconds");
    has_line(&text, "maglev_vpp_connected_seconds 3600.25");
}

#[test]
fn hostile_names_are_escaped() {
    let mut s = synthetic(1, 0);
    s.backends[0].name = "we\"b\\1\nx".into();
    let text = render(&s);
    has_line(
        &text,
        "maglev_backend_state{backend=\"we\\\"b\\\\1\\nx\",state=\"up\"} 1",
    );
}

#[test]
fn every_family_once_and_contiguous() {
    let text = render(&synthetic(50, 5));
    let mut families: Vec<&str> = Vec::new();
    let mut current = "";
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            current = rest.split(' ').next().unwrap();
            assert!(!families.contains(&current), "{current} twice");
            families.push(current);
        } else if !line.starts_with('#') {
            let name = line.split(['{', ' ']).next().unwrap();
            assert!(
                name == current
                    || ["_bucket", "_sum", "_count"]
                        .iter()
                        .any(|s| name.strip_suffix(s) == Some(current)),
                "{line} outside {current}"
            );
        }
    }
    assert!(families.len() >= 30, "{families:?}");
}

#[test]
fn render_into_reuses_buffer() {
    let s = synthetic(10, 1);
    let first = render(&s);
    let buf = String::with_capacity(first.len() * 2);
    let ptr = buf.as_ptr();
    let second = render_into(&s, buf);
    assert_eq!(first, second);
    assert_eq!(second.as_ptr(), ptr);
}

/// Rendering 10,000 backends and 1,000 VIPs; the printed time is the
/// benchmark (`cargo test --release --lib metrics::snapshot -- --nocapture`).
#[test]
fn render_large_snapshot() {
    let s = synthetic(10_000, 1_000);
    let mut buf = String::new();
    let mut best = std::time::Duration::MAX;
    for _ in 0..10 {
        let t = std::time::Instant::now();
        buf = render_into(&s, buf);
        best = best.min(t.elapsed());
    }
    let lines = buf.lines().count();
    eprintln!(
        "render 10k backends + 1k VIPs: {:?}, {} bytes, {lines} lines",
        best,
        buf.len()
    );
    // One-hot state (6) + health + enabled + histogram (15) + ... per backend.
    assert!(lines > 10_000 * 25, "{lines}");
}

/// `promtool check metrics` accepts the output. Needs Debian's `prometheus`
/// package (installed by `.ci/run`).
#[test]
fn promtool_accepts_output() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let promtool = crate::metrics::external::require_tool("promtool");
    let text = render(&synthetic(40, 6));
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.trim().is_empty() && stderr.trim().is_empty(),
        "promtool check metrics failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

/// promtool really checks: a broken document is rejected (so the test above
/// cannot pass vacuously).
#[test]
fn promtool_rejects_broken_output() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let promtool = crate::metrics::external::require_tool("promtool");
    let text = "# TYPE x counter\nx{a=\"b} 1\n";
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
}
