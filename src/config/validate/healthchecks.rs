//! Stage 2 for `healthchecks.<name>`: ports per type, intervals, rise/fall,
//! probe source families and the type-specific `params`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{ipv4_only, ipv6_only, positive_duration, threshold_count, Errors};
use crate::config::model::{CheckType, HealthCheck, HttpParams, StatusRange};
use crate::config::raw::{NamedMap, RawCheckType, RawHealthCheck, RawParams};

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
pub const DEFAULT_RISE: u32 = 2;
pub const DEFAULT_FALL: u32 = 3;
pub const DEFAULT_HTTP_PATH: &str = "/";
pub const DEFAULT_RESPONSE_CODES: StatusRange = StatusRange {
    low: 200,
    high: 399,
};

pub(super) fn healthchecks(
    errors: &mut Errors,
    raw: NamedMap<RawHealthCheck>,
) -> BTreeMap<String, HealthCheck> {
    raw.0
        .into_iter()
        .map(|(name, check)| {
            let validated = healthcheck(errors, &format!("healthchecks.{name}"), check);
            (name, validated)
        })
        .collect()
}

fn healthcheck(errors: &mut Errors, base: &str, raw: RawHealthCheck) -> HealthCheck {
    let check_type = match raw.check_type {
        RawCheckType::Icmp => CheckType::Icmp,
        RawCheckType::Tcp => CheckType::Tcp,
        RawCheckType::Http => CheckType::Http,
        RawCheckType::Https => CheckType::Https,
    };
    let type_name = check_type.as_str();
    let port_path = format!("{base}.port");
    let port = match (check_type, raw.port) {
        (CheckType::Icmp, Some(_)) => {
            errors.add(port_path, "not used by icmp checks; remove it");
            None
        }
        (CheckType::Icmp, None) => None,
        (_, None) => {
            errors.add(port_path, format!("required for {type_name} checks"));
            None
        }
        (_, Some(value)) => match u16::try_from(value) {
            Ok(port) if port != 0 => Some(port),
            _ => {
                errors.add(port_path, format!("{value} out of range 1..=65535"));
                None
            }
        },
    };

    let interval = positive_duration(
        errors,
        &format!("{base}.interval"),
        raw.interval.as_ref(),
        DEFAULT_INTERVAL,
    );
    let fast_interval = positive_duration(
        errors,
        &format!("{base}.fast-interval"),
        raw.fast_interval.as_ref(),
        interval,
    );
    let down_interval = positive_duration(
        errors,
        &format!("{base}.down-interval"),
        raw.down_interval.as_ref(),
        interval,
    );
    // A timeout above the interval is allowed (the original's example had
    // interval 2s, timeout 3s); probes then simply never overlap.
    let timeout = positive_duration(
        errors,
        &format!("{base}.timeout"),
        raw.timeout.as_ref(),
        DEFAULT_TIMEOUT,
    );
    let rise = threshold_count(errors, &format!("{base}.rise"), raw.rise, DEFAULT_RISE);
    let fall = threshold_count(errors, &format!("{base}.fall"), raw.fall, DEFAULT_FALL);
    let probe_ipv4_src = ipv4_only(
        errors,
        &format!("{base}.probe-ipv4-src"),
        raw.probe_ipv4_src,
    );
    let probe_ipv6_src = ipv6_only(
        errors,
        &format!("{base}.probe-ipv6-src"),
        raw.probe_ipv6_src,
    );

    let params = raw.params.unwrap_or_default();
    let http = match check_type {
        CheckType::Http | CheckType::Https => Some(http_params(errors, base, check_type, params)),
        CheckType::Tcp | CheckType::Icmp => {
            for key in params.present_keys() {
                errors.add(
                    format!("{base}.params.{key}"),
                    format!("not allowed: {type_name} checks take no params"),
                );
            }
            None
        }
    };

    HealthCheck {
        check_type,
        port,
        interval,
        fast_interval,
        down_interval,
        timeout,
        rise,
        fall,
        probe_ipv4_src,
        probe_ipv6_src,
        http,
    }
}

/// Text that goes into the request line or a header: no whitespace, no
/// control characters (they would split or smuggle header lines).
fn is_header_safe(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| !c.is_whitespace() && !c.is_control())
}

fn http_params(
    errors: &mut Errors,
    base: &str,
    check_type: CheckType,
    raw: RawParams,
) -> HttpParams {
    let path = raw.path.unwrap_or_else(|| DEFAULT_HTTP_PATH.to_string());
    if !path.starts_with('/') {
        errors.add(
            format!("{base}.params.path"),
            format!("{path:?} must start with '/'"),
        );
    } else if !is_header_safe(&path) {
        errors.add(
            format!("{base}.params.path"),
            format!("{path:?} must not contain spaces or control characters"),
        );
    }
    if let Some(host) = &raw.host {
        if !is_header_safe(host) {
            errors.add(
                format!("{base}.params.host"),
                format!("{host:?} must be non-empty, without spaces or control characters"),
            );
        }
    }
    let response_codes = match raw.response_codes.as_deref() {
        None => vec![DEFAULT_RESPONSE_CODES],
        Some(text) => parse_status_ranges(text).unwrap_or_else(|message| {
            errors.add(format!("{base}.params.response-codes"), message);
            vec![DEFAULT_RESPONSE_CODES]
        }),
    };
    if raw.response_contains.as_deref() == Some("") {
        errors.add(
            format!("{base}.params.response-contains"),
            "must not be empty (omit it to accept any body)",
        );
    }
    if let Some(pattern) = &raw.response_regexp {
        if let Err(error) = regex_lite::Regex::new(pattern) {
            errors.add(
                format!("{base}.params.response-regexp"),
                format!("invalid regular expression: {error}"),
            );
        }
    }
    if check_type == CheckType::Http && raw.insecure.is_some() {
        errors.add(
            format!("{base}.params.insecure"),
            "only meaningful for https checks",
        );
    }
    HttpParams {
        path,
        host: raw.host,
        response_codes,
        response_contains: raw.response_contains,
        response_regexp: raw.response_regexp,
        insecure: raw.insecure.unwrap_or(true),
    }
}

/// `200`, `200-399`, `200,204,300-302`: comma-separated codes or inclusive
/// ranges, each within 100..=599.
pub fn parse_status_ranges(text: &str) -> Result<Vec<StatusRange>, String> {
    if text.trim().is_empty() {
        return Err("must not be empty (e.g. \"200\" or \"200-399\")".to_string());
    }
    text.split(',')
        .map(|item| {
            let item = item.trim();
            let (low_text, high_text) = item.split_once('-').unwrap_or((item, item));
            let low = status_code(low_text.trim(), item)?;
            let high = status_code(high_text.trim(), item)?;
            if low > high {
                return Err(format!("range {item:?} is reversed ({low} > {high})"));
            }
            Ok(StatusRange { low, high })
        })
        .collect()
}

fn status_code(text: &str, item: &str) -> Result<u16, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{item:?} is not a status code or range (e.g. \"200\" or \"200-399\")"
        ));
    }
    match text.parse::<u16>() {
        Ok(code) if (100..=599).contains(&code) => Ok(code),
        _ => Err(format!("status code {text} out of range 100..=599")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(low: u16, high: u16) -> StatusRange {
        StatusRange { low, high }
    }

    #[test]
    fn status_ranges() {
        let cases: &[(&str, Result<Vec<StatusRange>, &str>)] = &[
            ("200", Ok(vec![range(200, 200)])),
            ("200-399", Ok(vec![range(200, 399)])),
            (
                "200,204,300-302",
                Ok(vec![range(200, 200), range(204, 204), range(300, 302)]),
            ),
            (
                " 200 , 301 - 302 ",
                Ok(vec![range(200, 200), range(301, 302)]),
            ),
            ("100-599", Ok(vec![range(100, 599)])),
            ("", Err("must not be empty (e.g. \"200\" or \"200-399\")")),
            ("99", Err("status code 99 out of range 100..=599")),
            ("600", Err("status code 600 out of range 100..=599")),
            ("200-600", Err("status code 600 out of range 100..=599")),
            (
                "99999999",
                Err("status code 99999999 out of range 100..=599"),
            ),
            ("399-200", Err("range \"399-200\" is reversed (399 > 200)")),
            (
                "2xx",
                Err("\"2xx\" is not a status code or range (e.g. \"200\" or \"200-399\")"),
            ),
            (
                "200,",
                Err("\"\" is not a status code or range (e.g. \"200\" or \"200-399\")"),
            ),
            (
                "-200",
                Err("\"-200\" is not a status code or range (e.g. \"200\" or \"200-399\")"),
            ),
        ];
        for (text, expected) in cases {
            let expected = expected.clone().map_err(String::from);
            assert_eq!(parse_status_ranges(text), expected, "{text:?}");
        }
    }
}
