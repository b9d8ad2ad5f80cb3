//! Text renderings: what a human (or awk) sees. Each function returns the
//! payload lines, every line ending in `\n`; frame with
//! [`super::reply_payload`].

use super::{age, clean, go_duration, key_values, rfc3339_ms, Align, Table};
use crate::control::view::{
    BackendView, FrontendView, HealthCheckView, LbCounterView, LbStateView, VersionView,
    VppInfoView,
};

/// Placeholder for an absent value, so every row has the same column count.
const NONE: &str = "-";

fn yes_no(value: bool) -> String {
    value.to_string()
}

pub fn version(view: &VersionView) -> String {
    key_values(&[
        ("version", clean(&view.version)),
        ("commit", clean(&view.commit)),
        ("build-date", clean(&view.build_date)),
    ])
}

/// `show frontends`: `name address protocol port state`.
pub fn frontend_list(views: &[FrontendView]) -> String {
    let mut table = Table::new(&[
        Align::Left,
        Align::Left,
        Align::Left,
        Align::Left,
        Align::Left,
    ]);
    for view in views {
        table.row(vec![
            clean(&view.name),
            clean(&view.address),
            clean(&view.protocol),
            view.port.to_string(),
            clean(&view.state),
        ]);
    }
    table.render("")
}

/// `show frontends NAME`: settings, then each pool with one row per member.
pub fn frontend_detail(view: &FrontendView) -> String {
    let mut pairs = vec![
        ("address", clean(&view.address)),
        ("protocol", clean(&view.protocol)),
        ("port", view.port.to_string()),
        ("src-ip-sticky", yes_no(view.src_ip_sticky)),
        ("flush-on-down", yes_no(view.flush_on_down)),
    ];
    if !view.description.is_empty() {
        pairs.push(("description", clean(&view.description)));
    }
    pairs.push(("state", clean(&view.state)));
    let mut out = key_values(&pairs);
    // One table for all pools so member columns line up across pools.
    let width = view
        .pools
        .iter()
        .flat_map(|pool| pool.members.iter())
        .map(|member| clean(&member.backend).chars().count())
        .max()
        .unwrap_or(0);
    for pool in &view.pools {
        let role = if pool.active { "active" } else { "standby" };
        out.push_str(&format!("pool {}  {role}\n", clean(&pool.name)));
        for member in &pool.members {
            let backend = clean(&member.backend);
            let pad = width.saturating_sub(backend.chars().count());
            out.push_str(&format!(
                "  {backend}{:pad$}  weight {:<3}  effective {:<3}  state {}\n",
                "",
                member.configured_weight,
                member.effective_weight,
                clean(&member.state),
            ));
        }
    }
    out
}

/// `show backends`: `name address state healthcheck` (`-` when static).
pub fn backend_list(views: &[BackendView]) -> String {
    let mut table = Table::new(&[Align::Left; 4]);
    for view in views {
        table.row(vec![
            clean(&view.name),
            clean(&view.address),
            clean(&view.state),
            view.healthcheck.as_deref().map_or(NONE.to_string(), clean),
        ]);
    }
    table.render("")
}

/// `show backends NAME`: settings and probe status, the pools it is in,
/// then the transitions newest first.
pub fn backend_detail(view: &BackendView) -> String {
    let optional = |value: &Option<String>| value.as_deref().map_or(NONE.to_string(), clean);
    let mut out = key_values(&[
        ("address", clean(&view.address)),
        ("state", clean(&view.state)),
        ("enabled", yes_no(view.enabled)),
        ("healthcheck", optional(&view.healthcheck)),
        ("check-type", clean(&view.check_type)),
        ("counter", view.counter.to_string()),
        ("rise", view.rise.to_string()),
        ("fall", view.fall.to_string()),
        ("last-code", optional(&view.last_code)),
        ("last-detail", optional(&view.last_detail)),
    ]);
    if !view.frontends.is_empty() {
        out.push_str("frontends\n");
        let mut table = Table::new(&[Align::Left; 3]);
        for usage in &view.frontends {
            table.row(vec![
                clean(&usage.frontend),
                format!("pool {}", clean(&usage.pool)),
                format!("effective {}", usage.effective_weight),
            ]);
        }
        out.push_str(&table.render("  "));
    }
    if !view.transitions.is_empty() {
        out.push_str("transitions\n");
        let mut table = Table::new(&[Align::Left; 6]);
        for transition in &view.transitions {
            table.row(vec![
                clean(&transition.from),
                "->".to_string(),
                clean(&transition.to),
                clean(&transition.code),
                format!("{} ago", age(transition.age_ms)),
                rfc3339_ms(transition.at_unix_ms),
            ]);
        }
        out.push_str(&table.render("  "));
    }
    out
}

/// `show healthchecks`: `name type port interval rise fall`.
pub fn healthcheck_list(views: &[HealthCheckView]) -> String {
    let mut table = Table::new(&[Align::Left; 6]);
    for view in views {
        table.row(vec![
            clean(&view.name),
            clean(&view.check_type),
            view.port.map_or(NONE.to_string(), |port| port.to_string()),
            go_duration(view.interval),
            view.rise.to_string(),
            view.fall.to_string(),
        ]);
    }
    table.render("")
}

/// `show healthchecks NAME`: every setting, the type-specific parameters,
/// and the backends using the check.
pub fn healthcheck_detail(view: &HealthCheckView) -> String {
    let mut pairs: Vec<(&str, String)> = vec![
        ("type", clean(&view.check_type)),
        (
            "port",
            view.port.map_or(NONE.to_string(), |port| port.to_string()),
        ),
        ("interval", go_duration(view.interval)),
        ("fast-interval", go_duration(view.fast_interval)),
        ("down-interval", go_duration(view.down_interval)),
        ("timeout", go_duration(view.timeout)),
        ("rise", view.rise.to_string()),
        ("fall", view.fall.to_string()),
    ];
    for (key, value) in &view.params {
        pairs.push((key.as_str(), clean(value)));
    }
    let backends = if view.backends.is_empty() {
        NONE.to_string()
    } else {
        view.backends
            .iter()
            .map(|b| clean(b))
            .collect::<Vec<_>>()
            .join(" ")
    };
    pairs.push(("backends", backends));
    key_values(&pairs)
}

/// `show vpp info`.
pub fn vpp_info(view: &VppInfoView) -> String {
    let mut pairs: Vec<(&str, String)> = vec![
        ("version", clean(&view.version)),
        ("build-date", clean(&view.build_date)),
        ("build-dir", clean(&view.build_directory)),
        ("vpp-pid", view.pid.to_string()),
        (
            "vpp-boottime",
            format!(
                "{} ({} ago)",
                rfc3339_ms(view.boottime_unix_ms),
                age(view.boot_age_ms)
            ),
        ),
        (
            "connected",
            format!(
                "{} ({} ago)",
                rfc3339_ms(view.connected_unix_ms),
                age(view.connected_age_ms)
            ),
        ),
        ("messages", view.messages.to_string()),
    ];
    for (k, v) in &view.counters {
        pairs.push((k.as_str(), v.to_string()));
    }
    key_values(&pairs)
}

/// `show vpp lb state`: lb globals, then one `vip` line per VIP followed
/// by its ASes.
pub fn lb_state(view: &LbStateView) -> String {
    let optional = |value: &Option<String>| value.as_deref().map_or(NONE.to_string(), clean);
    let mut out = key_values(&[
        ("ipv4-src-address", optional(&view.ipv4_src_address)),
        ("ipv6-src-address", optional(&view.ipv6_src_address)),
        (
            "sticky-buckets-per-core",
            view.sticky_buckets_per_core.to_string(),
        ),
        ("flow-timeout", format!("{}s", view.flow_timeout_secs)),
    ]);
    let mut vips = Table::new(&[Align::Left; 7]);
    for vip in &view.vips {
        vips.row(vec![
            format!("vip {}", clean(&vip.address)),
            clean(&vip.protocol),
            vip.port.to_string(),
            format!("encap {}", clean(&vip.encap)),
            format!("src-ip-sticky {}", vip.src_ip_sticky),
            format!("frontend {}", optional(&vip.frontend)),
        ]);
    }
    // Render VIP lines with shared widths, interleaving each VIP's ASes.
    let vip_lines = vips.render("");
    for (vip, line) in view.vips.iter().zip(vip_lines.lines()) {
        out.push_str(line);
        out.push('\n');
        let mut ases = Table::new(&[Align::Left; 5]);
        for member in &vip.ases {
            ases.row(vec![
                clean(&member.address),
                format!("weight {:<3}", member.weight),
                format!("buckets {:<4}", member.buckets),
                format!(
                    "desired {:<3}",
                    member.desired.map_or(NONE.to_string(), |d| d.to_string())
                ),
                if member.drift() { "drift" } else { "ok" }.to_string(),
            ]);
        }
        out.push_str(&ases.render("  "));
    }
    out
}

/// `show vpp lb counters`: a header line, then one row per VIP; numbers
/// right-aligned.
pub fn lb_counters(rows: &[LbCounterView]) -> String {
    let mut table = Table::new(&[
        Align::Left,
        Align::Left,
        Align::Right,
        Align::Right,
        Align::Right,
        Align::Right,
        Align::Right,
        Align::Right,
        Align::Right,
    ]);
    table.row(
        [
            "vip",
            "protocol",
            "port",
            "first",
            "next",
            "untracked",
            "no-server",
            "fib-packets",
            "fib-bytes",
        ]
        .iter()
        .map(|h| h.to_string())
        .collect(),
    );
    for row in rows {
        table.row(vec![
            clean(&row.vip),
            clean(&row.protocol),
            row.port.to_string(),
            row.first.to_string(),
            row.next.to_string(),
            row.untracked.to_string(),
            row.no_server.to_string(),
            row.fib_packets.to_string(),
            row.fib_bytes.to_string(),
        ]);
    }
    table.render("")
}
