//! The last probe result kept per backend, compact because 10,000
//! backends each hold one: 24 bytes, and no allocation for the usual
//! details.

use crate::health::{Code, ProbeResult};

/// The last probe result of a backend. The usual details are kept as an
/// index into a table of static texts, so 10,000 backends do not each hold
/// a copy of, say, "connection refused".
#[derive(Debug, Clone)]
pub struct LastProbe {
    pub code: Code,
    /// Index into `COMMON_DETAILS`, unless `other` holds the text.
    common: u8,
    /// Saturates at 4,294 s, far beyond any probe timeout.
    duration_us: u32,
    /// A detail outside `COMMON_DETAILS`. Boxed twice on purpose: a thin
    /// 8-byte pointer (with `common` beside it, instead of an enum with
    /// its own tag) for details that are rare by definition.
    #[allow(clippy::box_collection)]
    other: Option<Box<String>>,
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
        let (common, other) = match COMMON_DETAILS.iter().position(|&d| d == result.detail) {
            // 16 entries: the index fits a u8.
            Some(i) => (i as u8, None),
            None => (0, Some(Box::new(result.detail))),
        };
        LastProbe {
            code: result.code,
            common,
            other,
            duration_us: u32::try_from(result.duration_us).unwrap_or(u32::MAX),
            at_unix_ms,
        }
    }

    pub fn detail(&self) -> &str {
        match &self.other {
            Some(text) => text.as_str(),
            None => COMMON_DETAILS
                .get(usize::from(self.common))
                .copied()
                .unwrap_or(""),
        }
    }

    pub fn duration_us(&self) -> u64 {
        u64::from(self.duration_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_at_24_bytes() {
        assert_eq!(std::mem::size_of::<Option<LastProbe>>(), 24);
    }

    #[test]
    fn durations_saturate() {
        let result = ProbeResult {
            code: Code::L4Tout,
            detail: String::new(),
            duration_us: u64::MAX,
        };
        assert_eq!(LastProbe::new(result, 0).duration_us(), u64::from(u32::MAX));
    }

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
            assert_eq!(last.detail(), detail);
            assert_eq!(last.other.is_none(), borrowed, "{detail}");
            assert_eq!(
                (last.code, last.duration_us(), last.at_unix_ms),
                (Code::L4Con, 7, 42)
            );
        }
    }
}
