//! The fault layer without sockets: a handler, a plan, decoded requests.

use std::time::Duration;

use super::*;
use crate::sim::server::handler::Addressee;
use crate::sim::server::request::Hdr;
use crate::sim::server::table::SimTable;
use crate::vpp::wire::ip::IpRouteLookupReply;
use crate::vpp::wire::vlib::CliInbandReply;

const CI: u32 = 0x8000_0001;

fn handler() -> Handler {
    Handler::new(SimTable::default(), 4242)
}

fn hdr(context: u32) -> Hdr {
    Hdr {
        client_index: CI,
        context,
    }
}

fn run(plan: &mut FaultPlan, h: &mut Handler, key: Option<&str>, req: &Request) -> Outcome {
    let is_live = |index: u32| index == CI;
    let ctx = RequestCtx {
        sender_index: CI,
        is_live: &is_live,
    };
    apply(plan, h, key, req, &ctx)
}

fn retval(outcome: &Outcome) -> Option<i32> {
    let body = &outcome.response.replies.first()?.body;
    Some(i32::from_be_bytes(body.get(6..10)?.try_into().ok()?))
}

const PING: &str = "control_ping_51077d14";
const CONF_GET: &str = "lb_conf_get_51077d14";

#[test]
fn counted_rules_fire_k_times_then_disappear() {
    let mut plan = FaultPlan::default();
    plan.error("control_ping", -5, Times::Next(2));
    let mut h = handler();
    let req = Request::ControlPing(hdr(1));
    let got: Vec<Option<i32>> = (0..3)
        .map(|_| retval(&run(&mut plan, &mut h, Some(PING), &req)))
        .collect();
    assert_eq!(got, vec![Some(-5), Some(-5), Some(0)]);
    assert!(plan.rules().is_empty());
}

#[test]
fn matching_by_name_key_or_anything() {
    let cases: [(Option<&str>, Option<&str>, bool); 6] = [
        (Some("control_ping"), Some(PING), true),
        (Some(PING), Some(PING), true),
        (Some("control_ping_deadbeef"), Some(PING), false),
        (Some("lb_conf_get"), Some(PING), false),
        (None, Some(PING), true),
        (None, None, true),
    ];
    for (rule, key, fires) in cases {
        let mut plan = FaultPlan::default();
        plan.rule(
            rule,
            FaultAction::Delay(Duration::from_secs(1)),
            Times::Always,
        );
        let out = run(
            &mut plan,
            &mut handler(),
            key,
            &Request::ControlPing(hdr(1)),
        );
        assert_eq!(out.delay.is_some(), fires, "{rule:?} vs {key:?}");
    }
}

#[test]
fn first_content_rule_wins_and_delays_combine_with_it() {
    let mut plan = FaultPlan::default();
    plan.error("lb_conf_get", -7, Times::Always)
        .swallow("lb_conf_get", Times::Always)
        .delay(None, Duration::from_millis(5), Times::Next(1));
    let mut h = handler();
    let out = run(
        &mut plan,
        &mut h,
        Some(CONF_GET),
        &Request::LbConfGet(hdr(3)),
    );
    assert_eq!(retval(&out), Some(-7));
    assert_eq!(out.delay, Some(Duration::from_millis(5)));
    let out = run(
        &mut plan,
        &mut h,
        Some(CONF_GET),
        &Request::LbConfGet(hdr(4)),
    );
    assert_eq!((retval(&out), out.delay), (Some(-7), None));
}

#[test]
fn swallow_runs_the_handler_and_drops_the_replies() {
    let mut plan = FaultPlan::default();
    plan.swallow("cli_inband", Times::Always);
    let mut h = handler();
    let req = Request::CliInband {
        hdr: hdr(1),
        cmd: Some("show lb vips".to_owned()),
    };
    let out = run(&mut plan, &mut h, Some("cli_inband_f8377302"), &req);
    assert!(out.response.replies.is_empty());
    assert_eq!(out.response.addressee, Addressee::ClientIndex(CI));
}

#[test]
fn error_replies_have_their_message_layout() {
    let h = handler();
    let cli = h.error_response(
        &Request::CliInband {
            hdr: hdr(9),
            cmd: None,
        },
        -3,
    );
    let parsed = CliInbandReply::parse(&cli.replies[0].body).unwrap();
    assert_eq!(
        (parsed.context, parsed.retval, parsed.reply.as_str()),
        (9, -3, "")
    );
    let route = h.error_response(
        &Request::IpRouteLookup {
            hdr: hdr(2),
            table_id: 0,
            exact: true,
            prefix: "192.0.2.1".parse().unwrap(),
            len: 32,
        },
        -6,
    );
    let parsed = IpRouteLookupReply::parse(&route.replies[0].body).unwrap();
    assert_eq!((parsed.retval, parsed.route.paths.len()), (-6, 0));
    let dump = h.error_response(&Request::LbVipDump(hdr(1)), -1);
    assert!(dump.replies.is_empty());
    assert!(h
        .error_response(&Request::Unknown { msg_id: 1 }, -1)
        .replies
        .is_empty());
}

#[test]
fn drop_after_marks_only_the_nth_request() {
    let mut plan = FaultPlan::default();
    plan.drop_after(3);
    let mut h = handler();
    let closes: Vec<bool> = (0..4)
        .map(|i| run(&mut plan, &mut h, Some(PING), &Request::ControlPing(hdr(i))).close_sender)
        .collect();
    assert_eq!(closes, vec![false, false, true, false]);
    plan.drop_after(0);
    assert!(plan.take_drop_now());
    assert!(!plan.take_drop_now());
}

#[test]
fn old_vpp_filters_the_table_and_silences_the_message() {
    let mut plan = FaultPlan::default();
    plan.old_vpp(&["lb_as_set_weight_2d89bdbd", "lb_vip_dump"]);
    plan.error("lb_vip_dump", -1, Times::Always);
    let mut h = handler();
    let create = Request::SockclntCreate {
        context: 5,
        name: "x".to_owned(),
    };
    let out = run(&mut plan, &mut h, Some("sockclnt_create_455fb9c4"), &create);
    let reply = SockclntCreateReply::parse(&out.response.replies[0].body).unwrap();
    assert_eq!(reply.message_table.len(), 871);
    assert_eq!((reply.context, reply.index), (5, CI));
    assert!(reply
        .message_table
        .iter()
        .all(|e| e.index != 101 && e.index != 105));
    let dump = run(
        &mut plan,
        &mut h,
        Some("lb_vip_dump_56110cb7"),
        &Request::LbVipDump(hdr(1)),
    );
    assert!(dump.response.replies.is_empty());
    assert_eq!(plan.rules().len(), 1, "an omitted message fires no rule");
}
