//! Fault injection as a layer around the message handler (style.md §3): the
//! lb model and the handlers know nothing about faults; [`apply`] decides,
//! per request, whether the handler runs, what becomes of its replies and
//! whether the connection survives.
//!
//! Tests set a [`FaultPlan`] at runtime through `SimHandle::faults`. Rules
//! match a message by bare name (`lb_as_set_weight`) or `name_crc` key, and
//! fire the next `k` times or always. Connection-level faults (drop after N
//! requests, drop now) and restarts are carried out by the server loop.

use std::time::Duration;

use super::handler::{Handler, Reply, RequestCtx, Response};
use super::request::Request;
use super::table::is_omitted;
use crate::vpp::wire::memclnt::{SockclntCreateReply, SOCKCLNT_CREATE_REPLY_ID};
use crate::vpp::wire::table::message_name;
use crate::vpp::wire::Message;

/// How often a rule fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Times {
    /// The next `k` matching requests, then the rule is spent.
    Next(u32),
    Always,
}

/// What a rule does to a matching request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultAction {
    /// The handler does not run; the reply carries this retval (dumps get
    /// no details).
    Error(i32),
    /// The handler runs; its replies are held back this long, and every
    /// later reply on the same connection waits behind them (VPP answers a
    /// connection strictly in order).
    Delay(Duration),
    /// The handler runs; its replies are never sent.
    Swallow,
}

/// One rule: a message (or every message) and an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// Bare message name or `name_crc`; `None` matches every request.
    pub message: Option<String>,
    pub action: FaultAction,
    pub times: Times,
}

impl FaultRule {
    fn matches(&self, name_crc: Option<&str>) -> bool {
        match (&self.message, name_crc) {
            (None, _) => true,
            (Some(want), Some(key)) => want == key || want == message_name(key),
            (Some(_), None) => false,
        }
    }

    fn is_spent(&self) -> bool {
        self.times == Times::Next(0)
    }

    fn consume(&mut self) {
        if let Times::Next(k) = &mut self.times {
            *k = k.saturating_sub(1);
        }
    }
}

/// The faults a test wants. Mutate it through `SimHandle::faults`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultPlan {
    rules: Vec<FaultRule>,
    drop_after: Option<u32>,
    drop_now: bool,
    omitted: Vec<String>,
}

impl FaultPlan {
    /// Answer `message` with `retval` instead of running its handler.
    pub fn error(&mut self, message: &str, retval: i32, times: Times) -> &mut Self {
        self.rule(Some(message), FaultAction::Error(retval), times)
    }

    /// Hold back the replies of `message` (`None`: of every request).
    pub fn delay(&mut self, message: Option<&str>, delay: Duration, times: Times) -> &mut Self {
        self.rule(message, FaultAction::Delay(delay), times)
    }

    /// Run `message`'s handler but never send its replies.
    pub fn swallow(&mut self, message: &str, times: Times) -> &mut Self {
        self.rule(Some(message), FaultAction::Swallow, times)
    }

    /// Adds a rule; earlier rules take precedence.
    pub fn rule(&mut self, message: Option<&str>, action: FaultAction, times: Times) -> &mut Self {
        self.rules.push(FaultRule {
            message: message.map(str::to_owned),
            action,
            times,
        });
        self
    }

    /// Close the connection that carries the `n`-th request from now, right
    /// after that request's replies (`n` = 0: like [`drop_now`](Self::drop_now)).
    pub fn drop_after(&mut self, n: u32) -> &mut Self {
        if n == 0 {
            self.drop_now = true;
        } else {
            self.drop_after = Some(n);
        }
        self
    }

    /// Close every connection at once, unsent replies included.
    pub fn drop_now(&mut self) -> &mut Self {
        self.drop_now = true;
        self
    }

    /// "Old VPP": leave these messages (bare names or `name_crc` keys) out
    /// of the table of later handshakes, and treat their ids as unknown.
    pub fn old_vpp(&mut self, omitted: &[&str]) -> &mut Self {
        self.omitted.extend(omitted.iter().map(|s| (*s).to_owned()));
        self
    }

    /// Removes every rule, pending drop and omission.
    pub fn clear(&mut self) {
        *self = FaultPlan::default();
    }

    /// The rules still active.
    pub fn rules(&self) -> &[FaultRule] {
        &self.rules
    }

    pub fn omitted(&self) -> &[String] {
        &self.omitted
    }

    /// Whether a `drop_now` is pending; clears it (server loop).
    pub(crate) fn take_drop_now(&mut self) -> bool {
        std::mem::take(&mut self.drop_now)
    }

    /// The first active rule matching the request whose action passes
    /// `kind`; consumes one firing of it.
    fn fire(
        &mut self,
        name_crc: Option<&str>,
        kind: fn(&FaultAction) -> bool,
    ) -> Option<FaultAction> {
        let rule = self
            .rules
            .iter_mut()
            .find(|r| !r.is_spent() && kind(&r.action) && r.matches(name_crc))?;
        rule.consume();
        let action = rule.action;
        self.rules.retain(|r| !r.is_spent());
        Some(action)
    }
}

/// The handler's response as the fault layer lets it through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub response: Response,
    /// Hold the replies (and everything after them) this long.
    pub delay: Option<Duration>,
    /// Close the sender's connection once its queued replies are written.
    pub close_sender: bool,
}

/// Runs one request through the plan and the handler.
pub fn apply(
    plan: &mut FaultPlan,
    handler: &mut Handler,
    name_crc: Option<&str>,
    request: &Request,
    ctx: &RequestCtx<'_>,
) -> Outcome {
    let close_sender = match plan.drop_after {
        Some(1) => {
            plan.drop_after = None;
            true
        }
        Some(n) => {
            plan.drop_after = Some(n - 1);
            false
        }
        None => false,
    };
    if name_crc.is_some_and(|key| is_omitted(key, &plan.omitted)) {
        return Outcome {
            response: Response::silent(),
            delay: None,
            close_sender,
        };
    }
    let content = plan.fire(name_crc, |a| {
        matches!(a, FaultAction::Error(_) | FaultAction::Swallow)
    });
    let delay = match plan.fire(name_crc, |a| matches!(a, FaultAction::Delay(_))) {
        Some(FaultAction::Delay(d)) => Some(d),
        _ => None,
    };
    let mut response = match content {
        Some(FaultAction::Error(retval)) => handler.error_response(request, retval),
        Some(FaultAction::Swallow) => {
            let mut response = handler.handle(request, ctx);
            response.replies.clear();
            response
        }
        _ => handler.handle(request, ctx),
    };
    if matches!(request, Request::SockclntCreate { .. }) && !plan.omitted.is_empty() {
        for reply in &mut response.replies {
            omit_from_table(reply, &plan.omitted);
        }
    }
    Outcome {
        response,
        delay,
        close_sender,
    }
}

/// Re-emits a `sockclnt_create_reply` without the omitted entries.
fn omit_from_table(reply: &mut Reply, omitted: &[String]) {
    let Ok(mut parsed) = SockclntCreateReply::parse(&reply.body) else {
        return;
    };
    parsed
        .message_table
        .retain(|entry| !is_omitted(&entry.name, omitted));
    let mut body = Vec::with_capacity(parsed.buffer_len());
    parsed.emit(SOCKCLNT_CREATE_REPLY_ID, &mut body);
    reply.body = body;
}

#[cfg(test)]
mod tests;
