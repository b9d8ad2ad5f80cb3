//! A minimal JSON value and serializer, so the control socket can speak JSON
//! without a serde_json dependency. Output only: the daemon never parses JSON.
//!
//! Objects keep their keys in insertion order (renderers choose a stable,
//! readable order). Output is compact (no whitespace, one line), which is
//! what the line-framed control protocol needs. Strings are escaped per
//! RFC 8259 §7: `"`, `\` and the control characters U+0000..U+001F; the
//! latter use the short forms `\n \r \t \b \f` where they exist and `\u00XX`
//! otherwise. Non-finite floats have no JSON spelling and become `null`.

use std::fmt::{self, Write};

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Arr(Vec<Json>),
    /// Key order is preserved as inserted.
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// An empty object, to be filled with [`Json::field`].
    pub fn object() -> Json {
        Json::Obj(Vec::new())
    }

    /// Appends `key: value` to an object (builder style). On a non-object
    /// this is a no-op: renderers only call it on values from [`Json::object`].
    pub fn field(mut self, key: &str, value: impl Into<Json>) -> Json {
        if let Json::Obj(fields) = &mut self {
            fields.push((key.to_string(), value.into()));
        }
        self
    }

    /// Builds an array from anything convertible.
    pub fn array<T: Into<Json>>(items: impl IntoIterator<Item = T>) -> Json {
        Json::Arr(items.into_iter().map(Into::into).collect())
    }

    fn write_to(&self, out: &mut impl Write) -> fmt::Result {
        match self {
            Json::Null => out.write_str("null"),
            Json::Bool(b) => out.write_str(if *b { "true" } else { "false" }),
            Json::Int(n) => write!(out, "{n}"),
            Json::UInt(n) => write!(out, "{n}"),
            Json::Float(x) if x.is_finite() => write!(out, "{x}"),
            Json::Float(_) => out.write_str("null"),
            Json::Str(s) => write_escaped(out, s),
            Json::Arr(items) => {
                out.write_char('[')?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.write_char(',')?;
                    }
                    item.write_to(out)?;
                }
                out.write_char(']')
            }
            Json::Obj(fields) => {
                out.write_char('{')?;
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.write_char(',')?;
                    }
                    write_escaped(out, key)?;
                    out.write_char(':')?;
                    value.write_to(out)?;
                }
                out.write_char('}')
            }
        }
    }
}

/// Writes `s` as a quoted JSON string.
fn write_escaped(out: &mut impl Write, s: &str) -> fmt::Result {
    out.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => out.write_str("\\\"")?,
            '\\' => out.write_str("\\\\")?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            '\u{08}' => out.write_str("\\b")?,
            '\u{0c}' => out.write_str("\\f")?,
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32)?,
            c => out.write_char(c)?,
        }
    }
    out.write_char('"')
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

impl From<bool> for Json {
    fn from(b: bool) -> Json {
        Json::Bool(b)
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Json {
        Json::Str(s.to_string())
    }
}

impl From<String> for Json {
    fn from(s: String) -> Json {
        Json::Str(s)
    }
}

impl From<&String> for Json {
    fn from(s: &String) -> Json {
        Json::Str(s.clone())
    }
}

macro_rules! from_unsigned {
    ($($t:ty),*) => {$(
        impl From<$t> for Json {
            fn from(n: $t) -> Json {
                Json::UInt(u64::from(n))
            }
        }
    )*};
}
from_unsigned!(u8, u16, u32, u64);

impl From<i64> for Json {
    fn from(n: i64) -> Json {
        Json::Int(n)
    }
}

impl From<f64> for Json {
    fn from(x: f64) -> Json {
        Json::Float(x)
    }
}

impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(value: Option<T>) -> Json {
        value.map_or(Json::Null, Into::into)
    }
}

impl<T: Into<Json>> From<Vec<T>> for Json {
    fn from(items: Vec<T>) -> Json {
        Json::array(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_escaping() {
        let cases: &[(&str, &str)] = &[
            ("", r#""""#),
            ("plain", r#""plain""#),
            ("quote\"", r#""quote\"""#),
            ("back\\slash", r#""back\\slash""#),
            ("a/b", r#""a/b""#),
            ("line\nbreak", r#""line\nbreak""#),
            ("cr\r tab\t", r#""cr\r tab\t""#),
            ("\u{08}\u{0c}", r#""\b\f""#),
            ("\u{00}", r#""\u0000""#),
            ("\u{01}\u{1f}", r#""\u0001\u001f""#),
            ("\u{1b}[31m", r#""\u001b[31m""#),
            // DEL and non-ASCII need no escaping in UTF-8 JSON.
            ("\u{7f}", "\"\u{7f}\""),
            ("zürich → 東京", "\"zürich → 東京\""),
            ("\u{2028}", "\"\u{2028}\""),
        ];
        for (input, want) in cases {
            assert_eq!(Json::from(*input).to_string(), *want, "input {input:?}");
        }
    }

    #[test]
    fn scalars() {
        let cases: Vec<(Json, &str)> = vec![
            (Json::Null, "null"),
            (Json::Bool(true), "true"),
            (Json::Bool(false), "false"),
            (Json::Int(-42), "-42"),
            (Json::UInt(u64::MAX), "18446744073709551615"),
            (Json::Float(0.5), "0.5"),
            (Json::Float(3.0), "3"),
            (Json::Float(f64::NAN), "null"),
            (Json::Float(f64::INFINITY), "null"),
            (Json::from(None::<u8>), "null"),
            (Json::from(Some(7u8)), "7"),
        ];
        for (value, want) in cases {
            assert_eq!(value.to_string(), want);
        }
    }

    #[test]
    fn objects_keep_insertion_order_and_nest() {
        let value = Json::object()
            .field("zeta", 1u8)
            .field("alpha", "a\"b")
            .field("list", vec![1u8, 2, 3])
            .field("empty", Json::Arr(vec![]))
            .field("nested", Json::object().field("k", Json::Null))
            .field("we\nird", true);
        assert_eq!(
            value.to_string(),
            r#"{"zeta":1,"alpha":"a\"b","list":[1,2,3],"empty":[],"nested":{"k":null},"we\nird":true}"#
        );
    }

    #[test]
    fn field_on_non_object_is_ignored() {
        assert_eq!(Json::Null.field("k", 1u8), Json::Null);
    }
}
