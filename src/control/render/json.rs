//! JSON renderings: one compact document per show command, followed by
//! `\n`; frame with [`super::reply_payload`]. Keys are snake_case; lists
//! are `{"<things>":[…]}`, details the bare object; times are RFC 3339 UTC
//! strings, durations `*_ms` integers, absent values `null`.

use super::rfc3339_ms;
use crate::control::view::{
    BackendView, FrontendView, HealthCheckView, LbCounterView, LbStateView, VersionView,
    VppInfoView,
};
use crate::json::Json;

fn document(value: Json) -> String {
    format!("{value}\n")
}

fn millis(d: std::time::Duration) -> Json {
    Json::UInt(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

pub fn version(view: &VersionView) -> String {
    document(
        Json::object()
            .field("version", &view.version)
            .field("commit", &view.commit)
            .field("build_date", &view.build_date),
    )
}

fn frontend_value(view: &FrontendView) -> Json {
    let pools = view.pools.iter().map(|pool| {
        let members = pool.members.iter().map(|member| {
            Json::object()
                .field("backend", &member.backend)
                .field("weight", member.configured_weight)
                .field("effective_weight", member.effective_weight)
                .field("flush", member.flush)
                .field("state", &member.state)
        });
        Json::object()
            .field("name", &pool.name)
            .field("active", pool.active)
            .field("members", Json::array(members))
    });
    Json::object()
        .field("name", &view.name)
        .field("address", &view.address)
        .field("protocol", &view.protocol)
        .field("port", view.port)
        .field("description", &view.description)
        .field("src_ip_sticky", view.src_ip_sticky)
        .field("flush_on_down", view.flush_on_down)
        .field("state", &view.state)
        .field("pools", Json::array(pools))
}

pub fn frontend_list(views: &[FrontendView]) -> String {
    document(Json::object().field("frontends", Json::array(views.iter().map(frontend_value))))
}

pub fn frontend_detail(view: &FrontendView) -> String {
    document(frontend_value(view))
}

fn backend_value(view: &BackendView) -> Json {
    let frontends = view.frontends.iter().map(|usage| {
        Json::object()
            .field("frontend", &usage.frontend)
            .field("pool", &usage.pool)
            .field("effective_weight", usage.effective_weight)
    });
    let transitions = view.transitions.iter().map(|transition| {
        Json::object()
            .field("from", &transition.from)
            .field("to", &transition.to)
            .field("code", &transition.code)
            .field("time", rfc3339_ms(transition.at_unix_ms))
            .field("age_ms", transition.age_ms)
    });
    Json::object()
        .field("name", &view.name)
        .field("address", &view.address)
        .field("state", &view.state)
        .field("enabled", view.enabled)
        .field("healthcheck", view.healthcheck.as_ref())
        .field("check_type", &view.check_type)
        .field("counter", view.counter)
        .field("rise", view.rise)
        .field("fall", view.fall)
        .field("last_code", view.last_code.as_ref())
        .field("last_detail", view.last_detail.as_ref())
        .field("frontends", Json::array(frontends))
        .field("transitions", Json::array(transitions))
}

pub fn backend_list(views: &[BackendView]) -> String {
    document(Json::object().field("backends", Json::array(views.iter().map(backend_value))))
}

pub fn backend_detail(view: &BackendView) -> String {
    document(backend_value(view))
}

fn healthcheck_value(view: &HealthCheckView) -> Json {
    let params = view
        .params
        .iter()
        .map(|(key, value)| (key.clone(), Json::from(value)))
        .collect();
    Json::object()
        .field("name", &view.name)
        .field("type", &view.check_type)
        .field("port", view.port)
        .field("interval_ms", millis(view.interval))
        .field("fast_interval_ms", millis(view.fast_interval))
        .field("down_interval_ms", millis(view.down_interval))
        .field("timeout_ms", millis(view.timeout))
        .field("rise", view.rise)
        .field("fall", view.fall)
        .field("params", Json::Obj(params))
        .field("backends", Json::array(view.backends.iter()))
}

pub fn healthcheck_list(views: &[HealthCheckView]) -> String {
    document(Json::object().field(
        "healthchecks",
        Json::array(views.iter().map(healthcheck_value)),
    ))
}

pub fn healthcheck_detail(view: &HealthCheckView) -> String {
    document(healthcheck_value(view))
}

pub fn vpp_info(view: &VppInfoView) -> String {
    document(
        Json::object()
            .field("version", &view.version)
            .field("build_date", &view.build_date)
            .field("build_directory", &view.build_directory)
            .field("pid", view.pid)
            .field("boottime", rfc3339_ms(view.boottime_unix_ms))
            .field("boot_age_ms", view.boot_age_ms)
            .field("connected", rfc3339_ms(view.connected_unix_ms))
            .field("connected_age_ms", view.connected_age_ms)
            .field("messages", view.messages as u64)
            .field(
                "counters",
                view.counters
                    .iter()
                    .fold(Json::object(), |o, (k, v)| o.field(k, *v)),
            ),
    )
}

pub fn lb_state(view: &LbStateView) -> String {
    let vips = view.vips.iter().map(|vip| {
        let ases = vip.ases.iter().map(|member| {
            Json::object()
                .field("address", &member.address)
                .field("weight", member.weight)
                .field("buckets", member.buckets)
                .field("desired", member.desired)
                .field("drift", member.drift())
        });
        Json::object()
            .field("address", &vip.address)
            .field("protocol", &vip.protocol)
            .field("port", vip.port)
            .field("encap", &vip.encap)
            .field("src_ip_sticky", vip.src_ip_sticky)
            .field("frontend", vip.frontend.as_ref())
            .field("ases", Json::array(ases))
    });
    document(
        Json::object()
            .field("ipv4_src_address", view.ipv4_src_address.as_ref())
            .field("ipv6_src_address", view.ipv6_src_address.as_ref())
            .field("sticky_buckets_per_core", view.sticky_buckets_per_core)
            .field("flow_timeout_secs", view.flow_timeout_secs)
            .field("vips", Json::array(vips)),
    )
}

pub fn lb_counters(rows: &[LbCounterView]) -> String {
    let vips = rows.iter().map(|row| {
        Json::object()
            .field("vip", &row.vip)
            .field("protocol", &row.protocol)
            .field("port", row.port)
            .field("first", row.first)
            .field("next", row.next)
            .field("untracked", row.untracked)
            .field("no_server", row.no_server)
            .field("fib_packets", row.fib_packets)
            .field("fib_bytes", row.fib_bytes)
    });
    document(Json::object().field("counters", Json::array(vips)))
}
