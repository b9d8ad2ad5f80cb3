//! Executing a plan: the calls go out pipelined and are applied to the
//! cached view of VPP and to the flush memory at once; when the replies are
//! in, failures invalidate the cache (docs/sync.md, "Pipelining and
//! failures") and the changes are counted and logged.

use super::ops::Op;
use super::*;
use crate::control::render;

impl Dataplane {
    pub(super) fn log_recreates(&self, calls: &[LbCall], desired: &BTreeMap<VipKey, DesiredVip>) {
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

    /// Send a plan, applying it to the cache and the flush memory at once.
    pub(super) fn execute(
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

    pub(super) fn apply_to_cache(&mut self, call: &LbCall) {
        match call {
            LbCall::AddVip {
                key,
                encap,
                src_ip_sticky,
            } => {
                self.vips_version += 1;
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
                self.vips_version += 1;
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

    pub(super) fn on_exec_done(
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
}
