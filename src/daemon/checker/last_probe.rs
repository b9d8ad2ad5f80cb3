//! The last probe result kept per backend, compact because 10,000
//! backends each hold one.

use std::borrow::Cow;

use crate::health::{Code, ProbeResult};

/// The last probe result of a backend. The usual details are kept as
/// static text, so 10,000 backends do not each hold a copy of, say,
/// "connection refused".
#[derive(Debug, Clone)]
pub struct LastProbe {
    pub code: Code,
    pub detail: Cow<'static, str>,
    pub duration_us: u64,
    pub at_unix_ms: u64,
}

/// Details most probes end with (probe texts, frequent errno texts).
const COMMON_DETAILS: [&str; 16] = [
    "connected",
    "connection refused",
    "connect timeout",
    "timeout waiting for response",
    "TLS handshake timeout",
    "no echo reply",
    "echo reply",
    "no route to host",
    "network is unreachable",
    "connection reset by peer",
    "status 200",
    "status 204",
    "status 301",
    "status 302",
    "status 404",
    "status 503",
];

impl LastProbe {
    pub(super) fn new(result: ProbeResult, at_unix_ms: u64) -> LastProbe {
        let detail = match COMMON_DETAILS.iter().find(|&&d| d == result.detail) {
            Some(&d) => Cow::Borrowed(d),
            None => Cow::Owned(result.detail),
        };
        LastProbe {
            code: result.code,
            detail,
            duration_us: result.duration_us,
            at_unix_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_details_are_static_others_kept() {
        let cases = [
            ("connection refused", true),
            ("status 200", true),
            ("status 418", false),
            ("", false),
        ];
        for (detail, borrowed) in cases {
            let result = ProbeResult {
                code: Code::L4Con,
                detail: detail.to_owned(),
                duration_us: 7,
            };
            let last = LastProbe::new(result, 42);
            assert_eq!(last.detail, detail);
            assert_eq!(
                matches!(last.detail, Cow::Borrowed(_)),
                borrowed,
                "{detail}"
            );
            assert_eq!(
                (last.code, last.duration_us, last.at_unix_ms),
                (Code::L4Con, 7, 42)
            );
        }
    }
}
