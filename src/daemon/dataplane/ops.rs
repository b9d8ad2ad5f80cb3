//! The dataplane's operations: groups of pipelined requests whose replies
//! come back by tag, and what each does when complete (startup reads, full
//! and per-VIP syncs, `show vpp lb state`).

use super::stats;
use super::*;
use crate::control::render::{self, json as rjson, text as rtext};
use crate::vpp::sync::{DumpAddr, DumpAs, DumpVip};
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
    Resolve {
        keys: Vec<VipKey>,
        lb: BTreeMap<VipKey, u32>,
        routes: Vec<Option<u32>>,
        remaining: usize,
        version: u64,
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
            Op::Read { purpose, .. } => purpose.clients(),
            Op::Exec { reply_to, .. } => reply_to.clone(),
            _ => Vec::new(),
        }
    }
}

const READ_REQUESTS: usize = 3;

pub(super) fn read_requests() -> Vec<Request> {
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
    ReadResult { current, buckets }
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
            Op::Resolve {
                keys,
                lb,
                routes,
                remaining,
                ..
            } => {
                match response {
                    Response::Cli { text, .. } => {
                        for v in sync::parse_show_lb_vips(&text)
                            .iter()
                            .filter(|v| !v.removed)
                        {
                            if let Some(k) = v.key() {
                                lb.insert(k, v.index);
                            }
                        }
                    }
                    Response::Route {
                        retval: 0,
                        stats_index,
                    } => {
                        if let Some(r) = index.checked_sub(1).and_then(|i| routes.get_mut(i)) {
                            *r = Some(stats_index);
                        }
                    }
                    _ => {}
                }
                let _ = keys;
                *remaining = remaining.saturating_sub(1);
                *remaining == 0
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
            Op::Resolve {
                keys,
                lb,
                routes,
                version,
                ..
            } => {
                self.stats.resolved = keys
                    .iter()
                    .zip(routes)
                    .filter_map(|(k, r)| lb.get(k).map(|&i| (*k, (i, r))))
                    .collect();
                self.stats.resolved_at = Some(ctx.now);
                self.stats.resolved_version = version;
                self.stats.resolving = false;
                self.stats.read();
            }
            _ => {}
        }
    }

    /// One counter scrape: resolve indexes when stale, else read.
    pub(super) fn scrape(&mut self, ctx: &mut Ctx<'_>) {
        self.stats.ensure_connected(ctx.registry);
        if !self.stats.needs_resolve(ctx.now, self.vips_version) {
            self.stats.read();
            return;
        }
        let keys: Vec<VipKey> = self.current.keys().copied().collect();
        let mut requests = vec![Request::Cli("show lb vips verbose".into())];
        requests.extend(
            keys.iter()
                .map(|k| Request::RouteLookup(k.addr(), k.prefix_len())),
        );
        let n = requests.len();
        self.stats.resolving = true;
        let version = self.vips_version;
        let sent = self.send_op(
            ctx,
            Op::Resolve {
                routes: vec![None; keys.len()],
                keys,
                lb: BTreeMap::new(),
                remaining: n,
                version,
            },
            requests,
        );
        if sent.is_none() {
            self.stats.resolving = false;
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
                for client in purpose.clients() {
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
                // API and stats come up together: a new API session means a
                // possibly new VPP, so the segment is fetched again.
                self.stats.reset(ctx.registry);
                self.stats.ensure_connected(ctx.registry);
                ctx.timers.schedule(
                    ctx.now + stats::SCRAPE_INTERVAL,
                    TimerKey::StatsScrape { gen: self.gen },
                );
                self.request_full(ctx, Trigger::Connect, None, None);
            }
            ReadPurpose::Full(req) => {
                if !self.current.keys().eq(r.current.keys()) {
                    self.vips_version += 1;
                }
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
        // This plan reflects every event up to now: only frontends marked
        // dirty from here on need a sync of their own afterwards. Without
        // this, a VIP whose calls keep failing would re-queue itself after
        // every failed pass, a repair loop hammering VPP.
        match &req.frontend {
            Some(f) => {
                self.dirty.remove(f);
            }
            None => self.dirty.clear(),
        }
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
}

impl ReadPurpose {
    /// The control clients waiting on this read.
    fn clients(&self) -> Vec<u64> {
        match self {
            ReadPurpose::Full(f) => f.reply_to.clone(),
            ReadPurpose::Show { client, .. } => vec![*client],
            ReadPurpose::Startup => Vec::new(),
        }
    }
}
