//! The dataplane's operations: groups of pipelined requests whose replies
//! come back by tag, and what each does when complete (startup reads, full
//! and per-VIP syncs, `show vpp lb state`).

use super::*;
use crate::control::render::{self, json as rjson, text as rtext};
use crate::control::view::{AsView, LbStateView, VipView, VppInfoView};
use crate::vpp::sync::{CliVip, DumpAddr, DumpAs, DumpVip};
use crate::vpp::wire::vpe::ShowVersionReply;

pub(super) enum ReadPurpose {
    Startup,
    Full(FullSync),
    Show { client: u64, json: bool },
}

pub(super) enum Op {
    Startup {
        version: Option<ShowVersionReply>,
        pid: Option<u32>,
    },
    Conf,
    Ping,
    Read {
        purpose: ReadPurpose,
        vips: Option<Vec<LbVipDetails>>,
        ases: Option<Vec<LbAsV2Details>>,
        cli: Option<String>,
        failed: Option<String>,
    },
    Exec {
        scope: &'static str,
        trigger: &'static str,
        calls: Vec<LbCall>,
        results: Vec<Option<i32>>,
        remaining: usize,
        reply_to: Vec<u64>,
    },
}

impl Op {
    pub(super) fn reply_to(&self) -> Vec<u64> {
        match self {
            Op::Read {
                purpose: ReadPurpose::Full(f),
                ..
            } => f.reply_to.clone(),
            Op::Read {
                purpose: ReadPurpose::Show { client, .. },
                ..
            } => vec![*client],
            Op::Exec { reply_to, .. } => reply_to.clone(),
            _ => Vec::new(),
        }
    }
}

const READ_REQUESTS: usize = 3;

fn read_requests() -> Vec<Request> {
    vec![
        Request::VipDump,
        Request::AsDump,
        Request::Cli("show lb vips verbose".into()),
    ]
}

/// What a completed read produced.
pub(super) struct ReadResult {
    pub current: BTreeMap<VipKey, CurrentVip>,
    pub buckets: BTreeMap<(VipKey, IpAddr), u32>,
    /// lb's VIP indexes (the stats counters' columns) live only here.
    pub cli: Vec<CliVip>,
}

fn read_result(vips: Vec<LbVipDetails>, ases: Vec<LbAsV2Details>, cli: &str) -> ReadResult {
    let dump_vips: Vec<DumpVip> = vips
        .iter()
        .map(|v| DumpVip {
            prefix_addr: DumpAddr::Ip(v.vip.pfx.addr),
            prefix_len: v.vip.pfx.len,
            protocol: v.vip.protocol,
            port: v.vip.port,
            encap: v.encap.as_u32(),
        })
        .collect();
    let dump_ases: Vec<DumpAs> = ases
        .iter()
        .map(|a| DumpAs {
            vip_prefix_addr: DumpAddr::Ip(a.vip.pfx.addr),
            vip_prefix_len: a.vip.pfx.len,
            vip_protocol: a.vip.protocol,
            vip_port: a.vip.port,
            addr: DumpAddr::Ip(a.app_srv),
            flags: a.flags,
            weight: a.weight,
            num_buckets: a.num_buckets,
        })
        .collect();
    let cli = sync::parse_show_lb_vips(cli);
    let sticky = sync::sticky_from_cli(&cli);
    let current = sync::current_from_dumps(&dump_vips, &dump_ases, &sticky);
    let mut buckets = BTreeMap::new();
    for a in dump_ases.iter().filter(|a| a.is_used()) {
        if let (Ok(k), Ok(addr)) = (a.vip_key(), a.addr.to_ip()) {
            buckets.insert((k, addr), a.num_buckets);
        }
    }
    ReadResult {
        current,
        buckets,
        cli,
    }
}

impl Dataplane {
    pub(super) fn on_session_event(&mut self, ctx: &mut Ctx<'_>, ev: SessionEvent) {
        match ev {
            SessionEvent::Ready {
                client_index,
                table_len,
            } => {
                self.link = Link::Starting;
                self.info = Some(VppInfo {
                    version: String::new(),
                    build_date: String::new(),
                    build_directory: String::new(),
                    pid: 0,
                    client_index,
                    messages: table_len,
                    connected_unix_ms: logging::now_unix_ms(),
                    connected_at: ctx.now,
                });
                self.send_op(
                    ctx,
                    Op::Startup {
                        version: None,
                        pid: None,
                    },
                    vec![Request::ShowVersion, Request::Ping],
                );
                // VPP forgets lb_conf when it restarts: always push on connect.
                self.conf_pushed = None;
                self.push_conf_if_changed(ctx);
                self.send_op(
                    ctx,
                    Op::Read {
                        purpose: ReadPurpose::Startup,
                        vips: None,
                        ases: None,
                        cli: None,
                        failed: None,
                    },
                    read_requests(),
                );
            }
            SessionEvent::Completed {
                tag,
                message,
                response,
            } => {
                self.counters.count_api(message, "recv", response.ok());
                logev!(
                    Level::Debug,
                    "vpp-api-recv",
                    msg = message,
                    tag = tag,
                    ok = response.ok(),
                );
                self.on_completion(ctx, tag >> 24, (tag & 0xff_ffff) as usize, response);
            }
        }
    }

    fn on_completion(&mut self, ctx: &mut Ctx<'_>, id: u64, index: usize, response: Response) {
        let Some(mut op) = self.ops.remove(&id) else {
            return;
        };
        let done = match &mut op {
            Op::Startup { version, pid } => {
                match response {
                    Response::Version(v) => *version = Some(v),
                    Response::Ping { vpe_pid } => *pid = Some(vpe_pid),
                    _ => {}
                }
                let done = version.is_some() && pid.is_some() || index == 1;
                if done {
                    if let Some(info) = self.info.as_mut() {
                        if let Some(v) = version.take() {
                            info.version = v.version;
                            info.build_date = v.build_date;
                            info.build_directory = v.build_directory;
                        }
                        info.pid = pid.unwrap_or(0);
                    }
                }
                done
            }
            Op::Conf => {
                if let Response::Retval(r) = response {
                    if r != 0 {
                        logev!(
                            Level::Error,
                            "vpp-lb-conf-set-failed",
                            retval = r,
                            error = vnet_error_name(r),
                        );
                        self.conf_pushed = None;
                    }
                } else {
                    self.conf_pushed = None;
                    logev!(Level::Error, "vpp-lb-conf-set-failed", error = "timeout");
                }
                true
            }
            Op::Ping => {
                if response == Response::TimedOut {
                    self.disconnect(ctx, &"liveness ping timed out");
                    return;
                }
                self.ping_outstanding = false;
                true
            }
            Op::Read {
                vips,
                ases,
                cli,
                failed,
                ..
            } => {
                match response {
                    Response::VipDump(v) => *vips = Some(v),
                    Response::AsDump(a) => *ases = Some(a),
                    Response::Cli { text, .. } => *cli = Some(text),
                    other => *failed = Some(format!("{index}: {other:?}")),
                }
                index + 1 == READ_REQUESTS
            }
            Op::Exec {
                results, remaining, ..
            } => {
                let retval = match response {
                    Response::Retval(r) => r,
                    _ => i32::MIN,
                };
                if let Some(slot) = results.get_mut(index) {
                    *slot = Some(retval);
                }
                *remaining = remaining.saturating_sub(1);
                *remaining == 0
            }
        };
        if !done {
            self.ops.insert(id, op);
            return;
        }
        match op {
            Op::Read {
                purpose,
                vips,
                ases,
                cli,
                failed,
            } => {
                let result = match (vips, ases, cli, failed) {
                    (Some(v), Some(a), Some(c), None) => Ok(read_result(v, a, &c)),
                    (_, _, _, Some(f)) => Err(f),
                    _ => Err("incomplete read".to_string()),
                };
                self.on_read(ctx, purpose, result);
            }
            Op::Exec {
                scope,
                trigger,
                calls,
                results,
                reply_to,
                ..
            } => self.on_exec_done(ctx, scope, trigger, &calls, &results, reply_to),
            _ => {}
        }
    }

    fn on_read(
        &mut self,
        ctx: &mut Ctx<'_>,
        purpose: ReadPurpose,
        result: Result<ReadResult, String>,
    ) {
        let r = match result {
            Ok(r) => r,
            Err(e) => {
                logev!(Level::Warn, "vpp-lb-read-failed", error = e);
                for client in ReadPurposeClients(&purpose).clients() {
                    ctx.replies.push((
                        client,
                        render::reply_err(&format!("reading VPP state failed: {e}")),
                    ));
                }
                if matches!(purpose, ReadPurpose::Full(_)) {
                    self.full_busy = false;
                }
                if matches!(purpose, ReadPurpose::Startup) {
                    self.disconnect(ctx, &"startup read failed");
                }
                return;
            }
        };
        match purpose {
            ReadPurpose::Startup => {
                let ases: usize = r.current.values().map(|v| v.ases.len()).sum();
                let buckets: u64 = r.buckets.values().map(|&b| u64::from(b)).sum();
                self.current = r.current;
                self.buckets = r.buckets;
                self.cache_valid = true;
                self.link = Link::Up;
                self.backoff = FIRST_BACKOFF;
                self.counters.connects += 1;
                if let Some(i) = &self.info {
                    logev!(
                        Level::Info,
                        "vpp-connect",
                        version = i.version,
                        pid = i.pid,
                        client_index = i.client_index,
                        messages = i.messages,
                    );
                }
                logev!(
                    Level::Info,
                    "vpp-lb-state",
                    vips = self.current.len(),
                    ases = ases,
                    buckets = buckets,
                );
                ctx.timers
                    .schedule(ctx.now + PING_INTERVAL, TimerKey::VppPing { gen: self.gen });
                self.request_full(ctx, Trigger::Connect, None, None);
            }
            ReadPurpose::Full(req) => {
                self.current = r.current;
                self.buckets = r.buckets;
                self.cache_valid = true;
                self.run_full(ctx, req);
            }
            ReadPurpose::Show { client, json } => {
                let view = self.lb_state_view(ctx, &r);
                let text = if json {
                    rjson::lb_state(&view)
                } else {
                    rtext::lb_state(&view)
                };
                ctx.replies.push((client, render::reply_payload(&text)));
            }
        }
    }

    /// Ask for a full sync (or one frontend's, by the operator).
    pub fn request_full(
        &mut self,
        ctx: &mut Ctx<'_>,
        trigger: Trigger,
        frontend: Option<String>,
        reply_to: Option<u64>,
    ) {
        let reply_err = |ctx: &mut Ctx<'_>, msg: &str| {
            if let Some(c) = reply_to {
                ctx.replies.push((c, render::reply_err(msg)));
            }
        };
        if self.link != Link::Up {
            reply_err(ctx, "VPP is not connected");
            return;
        }
        let elapsed = self.elapsed(ctx.now);
        if trigger != Trigger::WarmupEnd && self.warmup.may_sync_all(elapsed) != Gate::Allowed {
            logev!(
                Level::Debug,
                "vpp-lbsync-suppressed-warmup",
                trigger = trigger.as_str(),
            );
            reply_err(ctx, "startup warmup in progress: VPP writes are held back");
            return;
        }
        let req = FullSync {
            trigger,
            frontend,
            reply_to: reply_to.into_iter().collect(),
        };
        if self.full_busy {
            match self.queued_full.as_mut() {
                Some(q) => {
                    q.reply_to.extend(req.reply_to);
                    if req.frontend.is_none() {
                        q.frontend = None;
                    }
                }
                None => self.queued_full = Some(req),
            }
            return;
        }
        self.full_busy = true;
        self.send_op(
            ctx,
            Op::Read {
                purpose: ReadPurpose::Full(req),
                vips: None,
                ases: None,
                cli: None,
                failed: None,
            },
            read_requests(),
        );
    }

    fn run_full(&mut self, ctx: &mut Ctx<'_>, req: FullSync) {
        let all = desired::all(ctx.cfg, ctx.checker);
        let calls = match &req.frontend {
            Some(f) => match desired::vip(ctx.cfg, f, ctx.checker) {
                Some(d) => {
                    let forced = self.forced.remove(&d.key).unwrap_or_default();
                    sync::plan_vip(&d, self.current.get(&d.key), &self.flushed, &forced)
                }
                None => Vec::new(),
            },
            None => {
                let forced = std::mem::take(&mut self.forced);
                sync::plan_all(&all, &self.current, &self.flushed, &forced)
            }
        };
        self.log_recreates(&calls, &all);
        let scope = if req.frontend.is_some() { "vip" } else { "all" };
        self.execute(ctx, scope, req.trigger.as_str(), calls, &all, req.reply_to);
    }

    fn log_recreates(&self, calls: &[LbCall], desired: &BTreeMap<VipKey, DesiredVip>) {
        for call in calls {
            if let LbCall::DelVip { key } = call {
                if let (Some(d), Some(c)) = (desired.get(key), self.current.get(key)) {
                    if let Some(reason) = sync::recreate_reason(d, c) {
                        logev!(
                            Level::Warn,
                            "vpp-vip-recreate",
                            vip = key.prefix_string(),
                            protocol = key.protocol(),
                            port = key.port(),
                            reason = reason,
                        );
                    }
                }
            }
        }
    }

    /// Event-driven sync of one frontend's VIP against the cache.
    pub(super) fn sync_frontend(&mut self, ctx: &mut Ctx<'_>, frontend: &str) {
        if self.link != Link::Up {
            return;
        }
        if self.full_busy || !self.cache_valid {
            self.dirty.insert(frontend.to_string());
            if !self.full_busy {
                self.request_full(ctx, Trigger::Repair, None, None);
            }
            return;
        }
        let Some(d) = desired::vip(ctx.cfg, frontend, ctx.checker) else {
            return;
        };
        let forced = self.forced.remove(&d.key).unwrap_or_default();
        let calls = sync::plan_vip(&d, self.current.get(&d.key), &self.flushed, &forced);
        if calls.is_empty() {
            return;
        }
        let mut one = BTreeMap::new();
        one.insert(d.key, d);
        self.log_recreates(&calls, &one);
        self.execute(ctx, "vip", "event", calls, &one, Vec::new());
    }

    /// Send a plan, applying it to the cache and the flush memory at once.
    fn execute(
        &mut self,
        ctx: &mut Ctx<'_>,
        scope: &'static str,
        trigger: &'static str,
        calls: Vec<LbCall>,
        desired: &BTreeMap<VipKey, DesiredVip>,
        reply_to: Vec<u64>,
    ) {
        if calls.is_empty() {
            self.on_exec_done(ctx, scope, trigger, &[], &[], reply_to);
            return;
        }
        for call in &calls {
            logev!(Level::Debug, "vpp-lbsync-call", scope = scope, call = call);
            self.apply_to_cache(call);
            self.flushed.record(call, desired.get(call.key()));
        }
        let requests: Vec<Request> = calls.iter().cloned().map(Request::Lb).collect();
        let n = calls.len();
        let sent = self.send_op(
            ctx,
            Op::Exec {
                scope,
                trigger,
                calls,
                results: vec![None; n],
                remaining: n,
                reply_to: reply_to.clone(),
            },
            requests,
        );
        if sent.is_none() {
            self.cache_valid = false;
            if scope == "all" {
                self.full_busy = false;
            }
            for c in reply_to {
                ctx.replies
                    .push((c, render::reply_err("VPP is not connected")));
            }
        }
    }

    fn apply_to_cache(&mut self, call: &LbCall) {
        match call {
            LbCall::AddVip {
                key,
                encap,
                src_ip_sticky,
            } => {
                self.current.insert(
                    *key,
                    CurrentVip {
                        key: *key,
                        encap: *encap,
                        src_ip_sticky: Some(*src_ip_sticky),
                        ases: BTreeMap::new(),
                    },
                );
            }
            LbCall::DelVip { key } => {
                self.current.remove(key);
                self.buckets.retain(|(k, _), _| k != key);
            }
            LbCall::AddAs { key, addr, weight }
            | LbCall::SetWeight {
                key, addr, weight, ..
            } => {
                if let Some(v) = self.current.get_mut(key) {
                    v.ases.insert(*addr, CurrentAs { weight: *weight });
                }
            }
            LbCall::DelAs { key, addr, .. } => {
                if let Some(v) = self.current.get_mut(key) {
                    v.ases.remove(addr);
                }
            }
        }
    }

    fn on_exec_done(
        &mut self,
        ctx: &mut Ctx<'_>,
        scope: &'static str,
        trigger: &'static str,
        calls: &[LbCall],
        results: &[Option<i32>],
        reply_to: Vec<u64>,
    ) {
        let mut changes = ChangeCounts::default();
        let mut failed_vips = BTreeSet::new();
        let mut errors = 0u64;
        for (call, result) in calls.iter().zip(results) {
            match result {
                Some(0) => changes.add(call),
                other => {
                    // Later calls of a VIP whose earlier call failed usually
                    // fail as a consequence: report the first only.
                    if failed_vips.insert(*call.key()) {
                        errors += 1;
                        let retval = other.unwrap_or(i32::MIN);
                        logev!(
                            Level::Error,
                            if trigger == "event" {
                                "vpp-reconciler-error"
                            } else {
                                "vpp-lbsync-error"
                            },
                            scope = scope,
                            call = call,
                            retval = if retval == i32::MIN {
                                "timeout".to_string()
                            } else {
                                retval.to_string()
                            },
                            error = if retval == i32::MIN {
                                "TIMEOUT"
                            } else {
                                vnet_error_name(retval)
                            },
                        );
                    }
                }
            }
        }
        for key in &failed_vips {
            self.flushed.forget_vip(key);
        }
        if !failed_vips.is_empty() {
            // What VPP holds is uncertain now: re-read before the next plan.
            self.cache_valid = false;
            *self.counters.errors.entry(scope).or_insert(0) += errors;
        }
        for (kind, n) in changes.by_kind() {
            if n > 0 {
                *self.counters.lbsync.entry((scope, kind)).or_insert(0) += n;
            }
        }
        *self.counters.runs.entry(scope).or_insert(0) += 1;
        if trigger == Trigger::Periodic.as_str() {
            self.counters.drift_repairs += changes.total();
        }
        logev!(
            if changes.is_empty() && errors == 0 {
                Level::Debug
            } else {
                Level::Info
            },
            "vpp-lbsync",
            scope = scope,
            trigger = trigger,
            vip_added = changes.vip_added,
            vip_removed = changes.vip_removed,
            as_added = changes.as_added,
            as_removed = changes.as_removed,
            as_weight_updated = changes.as_weight_updated,
            errors = errors,
        );
        let reply = if errors == 0 {
            render::reply_payload(&format!(
                "changes {} vip-added {} vip-removed {} as-added {} as-removed {} as-weight-updated {}",
                changes.total(),
                changes.vip_added,
                changes.vip_removed,
                changes.as_added,
                changes.as_removed,
                changes.as_weight_updated
            ))
        } else {
            render::reply_err(&format!(
                "{errors} VIP(s) failed to sync; see the log (vpp-lbsync-error)"
            ))
        };
        for c in reply_to {
            ctx.replies.push((c, reply.clone()));
        }
        // Everything but an event-driven VIP sync went through
        // `request_full` and holds the full-sync slot.
        if trigger != "event" {
            self.full_busy = false;
            if let Some(q) = self.queued_full.take() {
                self.full_busy = false;
                let FullSync {
                    trigger,
                    frontend,
                    reply_to,
                } = q;
                let mut first = reply_to.into_iter();
                let head = first.next();
                self.request_full(ctx, trigger, frontend, head);
                if let Some(q) = self.queued_full.as_mut() {
                    q.reply_to.extend(first);
                }
                return;
            }
            let dirty = std::mem::take(&mut self.dirty);
            for f in dirty {
                self.sync_frontend(ctx, &f);
            }
        }
    }

    /// `show vpp lb state`: read VPP afresh, reply when the read completes.
    pub fn show_lb_state(
        &mut self,
        ctx: &mut Ctx<'_>,
        client: u64,
        json: bool,
    ) -> Result<(), &'static str> {
        if self.link != Link::Up {
            return Err(self.unavailable());
        }
        self.send_op(
            ctx,
            Op::Read {
                purpose: ReadPurpose::Show { client, json },
                vips: None,
                ases: None,
                cli: None,
                failed: None,
            },
            read_requests(),
        )
        .map(|_| ())
        .ok_or("VPP is not connected")
    }

    pub fn unavailable(&self) -> &'static str {
        match self.link {
            Link::Disabled => "VPP integration is disabled (vpp.api-socket is empty)",
            _ => "VPP is not connected",
        }
    }

    fn lb_state_view(&self, ctx: &Ctx<'_>, r: &ReadResult) -> LbStateView {
        let desired = desired::all(ctx.cfg, ctx.checker);
        let names = desired::frontend_of_key(ctx.cfg);
        let conf = self.conf_pushed;
        let vips = r
            .current
            .values()
            .map(|v| {
                let d = desired.get(&v.key);
                let mut ases: Vec<AsView> = v
                    .ases
                    .iter()
                    .map(|(addr, a)| AsView {
                        address: addr.to_string(),
                        weight: a.weight,
                        buckets: r.buckets.get(&(v.key, *addr)).copied().unwrap_or(0),
                        desired: d.and_then(|d| d.ases.get(addr)).map(|x| x.weight),
                    })
                    .collect();
                if let Some(d) = d {
                    for (addr, want) in &d.ases {
                        if !v.ases.contains_key(addr) {
                            ases.push(AsView {
                                address: format!("{addr} (missing)"),
                                weight: 0,
                                buckets: 0,
                                desired: Some(want.weight),
                            });
                        }
                    }
                }
                VipView {
                    address: v.key.addr().to_string(),
                    protocol: protocol_name(v.key.protocol()),
                    port: v.key.port(),
                    encap: v.encap.to_string(),
                    src_ip_sticky: v.src_ip_sticky.unwrap_or(false),
                    frontend: names.get(&v.key).cloned(),
                    ases,
                }
            })
            .collect();
        LbStateView {
            ipv4_src_address: conf
                .map(|c| c.ip4_src_address)
                .filter(|a| !a.is_unspecified())
                .map(|a| a.to_string()),
            ipv6_src_address: conf
                .map(|c| c.ip6_src_address)
                .filter(|a| !a.is_unspecified())
                .map(|a| a.to_string()),
            sticky_buckets_per_core: conf.map(|c| c.sticky_buckets_per_core).unwrap_or(0),
            flow_timeout_secs: conf.map(|c| c.flow_timeout).unwrap_or(0),
            vips,
        }
    }

    /// `show vpp info`.
    pub fn info_view(&self, now: Instant) -> Result<VppInfoView, &'static str> {
        let i = self
            .info
            .as_ref()
            .filter(|_| self.link == Link::Up)
            .ok_or(self.unavailable())?;
        let now_ms = logging::now_unix_ms();
        Ok(VppInfoView {
            version: i.version.clone(),
            build_date: i.build_date.clone(),
            build_directory: i.build_directory.clone(),
            pid: i.pid,
            boottime_unix_ms: 0,
            boot_age_ms: 0,
            connected_unix_ms: i.connected_unix_ms,
            connected_age_ms: now.saturating_duration_since(i.connected_at).as_millis() as u64,
            messages: i.messages,
            counters: self.counters.summary(),
        })
        .map(|mut v| {
            v.connected_unix_ms = v.connected_unix_ms.min(now_ms);
            v
        })
    }
}

fn protocol_name(p: u8) -> String {
    match p {
        6 => "tcp".into(),
        17 => "udp".into(),
        255 => "any".into(),
        other => other.to_string(),
    }
}

/// The clients waiting on a read, whatever its purpose.
struct ReadPurposeClients<'a>(&'a ReadPurpose);

impl ReadPurposeClients<'_> {
    fn clients(&self) -> Vec<u64> {
        match self.0 {
            ReadPurpose::Full(f) => f.reply_to.clone(),
            ReadPurpose::Show { client, .. } => vec![*client],
            ReadPurpose::Startup => Vec::new(),
        }
    }
}
