//! Scalar resolution as serde_yaml 0.9 does it: which plain scalars are
//! null, booleans, integers (with sign and 0x/0o/0b) or floats (with .inf
//! and .nan), how core-schema tags (`!!int`...) override that, and what
//! "invalid type" names a scalar by in error messages.

use std::fmt;
use std::num::ParseIntError;

use serde::de::{Error as _, Expected, Unexpected, Visitor};

use super::error::Error;
use super::events::{Scalar, ScalarStyle};
use super::source::Item;

pub const TAG_NULL: &str = "tag:yaml.org,2002:null";
pub const TAG_BOOL: &str = "tag:yaml.org,2002:bool";
pub const TAG_INT: &str = "tag:yaml.org,2002:int";
pub const TAG_FLOAT: &str = "tag:yaml.org,2002:float";

type Radix<T> = fn(&str, u32) -> Result<T, ParseIntError>;

const PREFIXES: [(&str, &str, u32); 3] = [("0x", "-0x", 16), ("0o", "-0o", 8), ("0b", "-0b", 2)];

pub fn is_null(text: &[u8]) -> bool {
    matches!(text, b"null" | b"Null" | b"NULL" | b"~")
}

pub fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// YAML 1.2: a leading zero followed by digits (`0660`) is a string.
pub fn is_zero_padded(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    digits.len() > 1 && digits.starts_with('0') && digits[1..].bytes().all(|b| b.is_ascii_digit())
}

fn starts_with_sign(text: &str) -> bool {
    text.starts_with(['+', '-'])
}

pub fn parse_unsigned<T>(text: &str, from_radix: Radix<T>) -> Option<T> {
    let body = text.strip_prefix('+').unwrap_or(text);
    for (prefix, _, radix) in PREFIXES {
        if let Some(digits) = body.strip_prefix(prefix) {
            if starts_with_sign(digits) {
                return None;
            }
            if let Ok(value) = from_radix(digits, radix) {
                return Some(value);
            }
        }
    }
    if starts_with_sign(body) || is_zero_padded(text) {
        return None;
    }
    from_radix(body, 10).ok()
}

pub fn parse_signed<T>(text: &str, from_radix: Radix<T>) -> Option<T> {
    let body = match text.strip_prefix('+') {
        Some(body) if starts_with_sign(body) => return None,
        Some(body) => body,
        None => text,
    };
    for (prefix, negative_prefix, radix) in PREFIXES {
        if let Some(digits) = body.strip_prefix(prefix) {
            if starts_with_sign(digits) {
                return None;
            }
            if let Ok(value) = from_radix(digits, radix) {
                return Some(value);
            }
        }
        if let Some(value) = parse_negative_prefixed(text, negative_prefix, radix, from_radix) {
            return Some(value);
        }
    }
    if is_zero_padded(text) {
        return None;
    }
    from_radix(body, 10).ok()
}

fn parse_negative<T>(text: &str, from_radix: Radix<T>) -> Option<T> {
    for (_, negative_prefix, radix) in PREFIXES {
        if let Some(value) = parse_negative_prefixed(text, negative_prefix, radix, from_radix) {
            return Some(value);
        }
    }
    if is_zero_padded(text) {
        return None;
    }
    from_radix(text, 10).ok()
}

fn parse_negative_prefixed<T>(
    text: &str,
    negative_prefix: &str,
    radix: u32,
    from_radix: Radix<T>,
) -> Option<T> {
    let digits = text.strip_prefix(negative_prefix)?;
    from_radix(&format!("-{digits}"), radix).ok()
}

pub fn parse_f64(text: &str) -> Option<f64> {
    let body = match text.strip_prefix('+') {
        Some(body) if starts_with_sign(body) => return None,
        Some(body) => body,
        None => text,
    };
    if matches!(body, ".inf" | ".Inf" | ".INF") {
        return Some(f64::INFINITY);
    }
    if matches!(text, "-.inf" | "-.Inf" | "-.INF") {
        return Some(f64::NEG_INFINITY);
    }
    if matches!(text, ".nan" | ".NaN" | ".NAN") {
        return Some(f64::NAN);
    }
    body.parse::<f64>().ok().filter(|value| value.is_finite())
}

/// Visits `text` as the narrowest integer type that holds it, or hands the
/// visitor back when it is not an integer.
pub fn visit_int<'de, V: Visitor<'de>>(
    visitor: V,
    text: &str,
) -> Result<Result<V::Value, Error>, V> {
    if let Some(value) = parse_unsigned(text, u64::from_str_radix) {
        return Ok(visitor.visit_u64(value));
    }
    if let Some(value) = parse_negative(text, i64::from_str_radix) {
        return Ok(visitor.visit_i64(value));
    }
    if let Some(value) = parse_unsigned(text, u128::from_str_radix) {
        return Ok(visitor.visit_u128(value));
    }
    if let Some(value) = parse_negative(text, i128::from_str_radix) {
        return Ok(visitor.visit_i128(value));
    }
    Err(visitor)
}

/// A plain scalar without a core tag: null, bool, int, float, else string.
pub fn visit_untagged<'de, V: Visitor<'de>>(visitor: V, text: &str) -> Result<V::Value, Error> {
    if text.is_empty() || is_null(text.as_bytes()) {
        return visitor.visit_unit();
    }
    if let Some(value) = parse_bool(text) {
        return visitor.visit_bool(value);
    }
    let visitor = match visit_int(visitor, text) {
        Ok(visited) => return visited,
        Err(visitor) => visitor,
    };
    if !is_zero_padded(text) {
        if let Some(value) = parse_f64(text) {
            return visitor.visit_f64(value);
        }
    }
    visitor.visit_str(text)
}

/// What `deserialize_any` hands the visitor for a scalar.
pub fn visit_scalar<'de, V: Visitor<'de>>(visitor: V, scalar: &Scalar) -> Result<V::Value, Error> {
    let Ok(text) = std::str::from_utf8(&scalar.value) else {
        return Err(Error::invalid_type(
            Unexpected::Bytes(&scalar.value),
            &visitor,
        ));
    };
    match scalar.tag.as_deref() {
        Some(tag) if tag == TAG_BOOL.as_bytes() => match parse_bool(text) {
            Some(value) => visitor.visit_bool(value),
            None => Err(Error::invalid_value(Unexpected::Str(text), &"a boolean")),
        },
        Some(tag) if tag == TAG_INT.as_bytes() => match visit_int(visitor, text) {
            Ok(visited) => visited,
            Err(_) => Err(Error::invalid_value(Unexpected::Str(text), &"an integer")),
        },
        Some(tag) if tag == TAG_FLOAT.as_bytes() => match parse_f64(text) {
            Some(value) => visitor.visit_f64(value),
            None => Err(Error::invalid_value(Unexpected::Str(text), &"a float")),
        },
        Some(tag) if tag == TAG_NULL.as_bytes() => match is_null(text.as_bytes()) {
            true => visitor.visit_unit(),
            false => Err(Error::invalid_value(Unexpected::Str(text), &"null")),
        },
        Some(tag) if tag.starts_with(b"!") && scalar.style == ScalarStyle::Plain => {
            visit_untagged(visitor, text)
        }
        Some(_) => visitor.visit_str(text),
        None if scalar.style == ScalarStyle::Plain => visit_untagged(visitor, text),
        None => visitor.visit_str(text),
    }
}

/// The text of `scalar` if a typed request (`deserialize_i64`...) may read
/// it: plain scalars always, literal block scalars only with the matching
/// core tag; quoted scalars never (they are strings).
pub fn typed_text<'a>(item: &'a Item, tag: &str) -> Option<&'a str> {
    let Item::Scalar(scalar) = item else {
        return None;
    };
    let readable = match scalar.style {
        ScalarStyle::Plain => true,
        ScalarStyle::Literal => scalar.tag.as_deref() == Some(tag.as_bytes()),
        _ => false,
    };
    readable
        .then(|| std::str::from_utf8(&scalar.value).ok())
        .flatten()
}

/// "invalid type: <what the item is>, expected <exp>", where a scalar is
/// named by what `deserialize_any` would have made of it.
pub fn invalid_type(item: &Item, expected: &dyn Expected) -> Error {
    struct NameOnly<'a>(&'a dyn Expected);

    impl Visitor<'_> for NameOnly<'_> {
        type Value = std::convert::Infallible;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.0.fmt(f)
        }
    }

    match item {
        Item::Scalar(scalar) => match visit_scalar(NameOnly(expected), scalar) {
            Ok(never) => match never {},
            Err(error) => error,
        },
        Item::SequenceStart { .. } => Error::invalid_type(Unexpected::Seq, expected),
        Item::MappingStart { .. } => Error::invalid_type(Unexpected::Map, expected),
        Item::Void => Error::EndOfStream,
        Item::SequenceEnd | Item::MappingEnd => Error::custom("unexpected end of a collection"),
    }
}

/// The enum variant a local tag (`!name`) selects, as serde_yaml reads it.
pub fn local_tag(tag: Option<&[u8]>) -> Option<&str> {
    let tag = tag?;
    let rest = tag.strip_prefix(b"!")?;
    std::str::from_utf8(if rest.is_empty() { tag } else { rest }).ok()
}
