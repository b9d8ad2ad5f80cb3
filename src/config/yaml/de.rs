//! The serde `Deserializer` over [`EventSource`]: pulls one event at a time
//! as serde asks for it, and reproduces serde_yaml 0.9's answers to each
//! `deserialize_*` call (what a plain `200` is when a string is asked for,
//! when an empty value is `None`, which value an error's path and position
//! name) so that the config's messages did not change with the switch.

use std::fmt;

use serde::de::{self, Error as _, Expected, IgnoredAny, Unexpected, Visitor};

use super::access::{not_null, tagged_enum, MapAccess, SeqAccess, UnitVariantAccess};
use super::error::Error;
use super::events::{Mark, ScalarStyle};
use super::scalar::{self, invalid_type, typed_text};
use super::source::{EventSource, Item};

/// Collections may nest this deep (serde_yaml's limit), so hostile input
/// cannot exhaust the stack through the recursive visitors.
pub const DEPTH_LIMIT: u8 = 128;

/// The key path of the value being read: `maglev.frontends.web.pools[0]`.
#[derive(Clone, Copy)]
pub enum Path<'a> {
    Root,
    Seq { parent: &'a Path<'a>, index: usize },
    Map { parent: &'a Path<'a>, key: &'a str },
    Unknown { parent: &'a Path<'a> },
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Parent<'a>(&'a Path<'a>);
        impl fmt::Display for Parent<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.0 {
                    Path::Root => Ok(()),
                    path => write!(f, "{path}."),
                }
            }
        }
        match self {
            Path::Root => f.write_str("."),
            Path::Seq { parent, index } => write!(f, "{parent}[{index}]"),
            Path::Map { parent, key } => write!(f, "{}{key}", Parent(parent)),
            Path::Unknown { parent } => write!(f, "{}?", Parent(parent)),
        }
    }
}

/// Reads one value (and everything nested in it) from the source.
pub struct ValueDeserializer<'s, 'input> {
    pub source: &'s mut EventSource<'input>,
    pub path: Path<'s>,
    pub remaining_depth: u8,
}

impl<'input> ValueDeserializer<'_, 'input> {
    pub(super) fn child<'c>(&'c mut self, path: Path<'c>) -> ValueDeserializer<'c, 'input> {
        ValueDeserializer {
            source: &mut *self.source,
            path,
            remaining_depth: self.remaining_depth,
        }
    }

    fn nested<T>(
        &mut self,
        mark: Mark,
        f: impl FnOnce(&mut Self) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let previous = self.remaining_depth;
        self.remaining_depth = previous
            .checked_sub(1)
            .ok_or(Error::RecursionLimitExceeded(mark))?;
        let result = f(self);
        self.remaining_depth = previous;
        result
    }

    fn visit_sequence<'de, V: Visitor<'de>>(
        &mut self,
        visitor: V,
        mark: Mark,
    ) -> Result<V::Value, Error> {
        let (value, len) = self.nested(mark, |de| {
            let mut access = SeqAccess {
                de,
                empty: false,
                len: 0,
            };
            let value = visitor.visit_seq(&mut access)?;
            Ok((value, access.len))
        })?;
        let mut access = SeqAccess {
            de: self,
            empty: false,
            len,
        };
        while de::SeqAccess::next_element::<IgnoredAny>(&mut access)?.is_some() {}
        let total = access.len;
        self.expect_end(mark)?;
        if total != len {
            return Err(Error::invalid_length(
                total,
                &Counted(len, "sequence of", "element", "elements"),
            ));
        }
        Ok(value)
    }

    fn visit_mapping<'de, V: Visitor<'de>>(
        &mut self,
        visitor: V,
        mark: Mark,
    ) -> Result<V::Value, Error> {
        let (value, len) = self.nested(mark, |de| {
            let mut access = MapAccess {
                de,
                empty: false,
                len: 0,
                key: None,
            };
            let value = visitor.visit_map(&mut access)?;
            Ok((value, access.len))
        })?;
        let mut access = MapAccess {
            de: self,
            empty: false,
            len,
            key: None,
        };
        while de::MapAccess::next_entry::<IgnoredAny, IgnoredAny>(&mut access)?.is_some() {}
        let total = access.len;
        self.expect_end(mark)?;
        if total != len {
            return Err(Error::invalid_length(
                total,
                &Counted(len, "map containing", "entry", "entries"),
            ));
        }
        Ok(value)
    }

    fn expect_end(&mut self, mark: Mark) -> Result<(), Error> {
        match self.source.next()?.0 {
            Item::SequenceEnd | Item::MappingEnd | Item::Void => Ok(()),
            _ => Err(Error::UnbalancedEvents(mark)),
        }
    }

    /// Skips one value, iteratively (no recursion, so no depth limit).
    fn skip_value(&mut self) -> Result<(), Error> {
        let mut open = 0usize;
        loop {
            let (item, mark) = self.source.next()?;
            match item {
                Item::SequenceStart { .. } | Item::MappingStart { .. } => open += 1,
                Item::SequenceEnd | Item::MappingEnd => {
                    open = open.checked_sub(1).ok_or(Error::UnbalancedEvents(mark))?;
                }
                Item::Scalar(_) | Item::Void => {}
            }
            if open == 0 {
                return Ok(());
            }
        }
    }
}

struct Counted(usize, &'static str, &'static str, &'static str);

impl Expected for Counted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.0 == 1 { self.2 } else { self.3 };
        write!(f, "{} {} {noun}", self.1, self.0)
    }
}

fn is_empty_plain(item: &Item) -> bool {
    match item {
        Item::Void => true,
        Item::Scalar(scalar) => scalar.value.is_empty() && scalar.style == ScalarStyle::Plain,
        _ => false,
    }
}

/// Typed numeric and boolean requests: read the scalar with `parse` when the
/// style allows, else report what it is.
macro_rules! typed {
    ($method:ident, $tag:expr, $visit:ident, $parse:expr) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            let (item, mark) = self.source.next()?;
            match typed_text(&item, $tag).and_then($parse) {
                Some(value) => visitor.$visit(value),
                None => Err(invalid_type(&item, &visitor)),
            }
            .map_err(|error| error.at(mark, &self.path))
        }
    };
}

impl<'de> de::Deserializer<'de> for &mut ValueDeserializer<'_, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let (item, mark) = self.source.next()?;
        match &item {
            Item::Scalar(s) if scalar::local_tag(s.tag.as_deref()).is_some() => {
                tagged_enum(visitor, &item, mark, &self.path)
            }
            Item::SequenceStart { tag } | Item::MappingStart { tag }
                if scalar::local_tag(tag.as_deref()).is_some() =>
            {
                tagged_enum(visitor, &item, mark, &self.path)
            }
            Item::Scalar(s) => scalar::visit_scalar(visitor, s),
            Item::SequenceStart { .. } => self.visit_sequence(visitor, mark),
            Item::MappingStart { .. } => self.visit_mapping(visitor, mark),
            Item::Void => visitor.visit_none(),
            Item::SequenceEnd | Item::MappingEnd => Err(Error::UnbalancedEvents(mark)),
        }
        .map_err(|error| error.at(mark, &self.path))
    }

    typed!(
        deserialize_bool,
        scalar::TAG_BOOL,
        visit_bool,
        scalar::parse_bool
    );
    typed!(deserialize_i64, scalar::TAG_INT, visit_i64, |t| {
        scalar::parse_signed(t, i64::from_str_radix)
    });
    typed!(deserialize_i128, scalar::TAG_INT, visit_i128, |t| {
        scalar::parse_signed(t, i128::from_str_radix)
    });
    typed!(deserialize_u64, scalar::TAG_INT, visit_u64, |t| {
        scalar::parse_unsigned(t, u64::from_str_radix)
    });
    typed!(deserialize_u128, scalar::TAG_INT, visit_u128, |t| {
        scalar::parse_unsigned(t, u128::from_str_radix)
    });
    typed!(
        deserialize_f64,
        scalar::TAG_FLOAT,
        visit_f64,
        scalar::parse_f64
    );

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }
    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    /// Any scalar is text when text is asked for: an unquoted `200` or `0`
    /// arrives as "200" or "0".
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let (item, mark) = self.source.next()?;
        match &item {
            Item::Scalar(s) => match std::str::from_utf8(&s.value) {
                Ok(text) => visitor.visit_str(text),
                Err(_) => Err(invalid_type(&item, &visitor)),
            },
            other => Err(invalid_type(other, &visitor)),
        }
        .map_err(|error| error.at(mark, &self.path))
    }
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Error> {
        Err(Error::BytesUnsupported)
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Error> {
        Err(Error::BytesUnsupported)
    }

    /// `None` for an empty value, `~` or `null` (plain only; `"null"` is a
    /// string), and for an input without a document.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let is_some = match self.source.peek()?.0 {
            Item::Scalar(s) if s.style != ScalarStyle::Plain => true,
            Item::Scalar(s) => match s.tag.as_deref() {
                Some(tag) if tag == scalar::TAG_NULL.as_bytes() => {
                    if !scalar::is_null(&s.value) {
                        return Err(match std::str::from_utf8(&s.value) {
                            Ok(text) => Error::invalid_value(Unexpected::Str(text), &"null"),
                            Err(_) => Error::invalid_value(Unexpected::Bytes(&s.value), &"null"),
                        });
                    }
                    false
                }
                Some(_) => true,
                None => !s.value.is_empty() && !scalar::is_null(&s.value),
            },
            Item::SequenceStart { .. } | Item::MappingStart { .. } => true,
            Item::Void => false,
            Item::SequenceEnd | Item::MappingEnd => {
                return Err(Error::UnbalancedEvents(self.source.peek()?.1))
            }
        };
        if is_some {
            visitor.visit_some(self)
        } else {
            self.source.next()?;
            visitor.visit_none()
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let (item, mark) = self.source.next()?;
        match &item {
            Item::Scalar(s) => {
                let null = s.style == ScalarStyle::Plain
                    && match s.tag.as_deref() {
                        Some(tag) => {
                            tag == scalar::TAG_NULL.as_bytes() && scalar::is_null(&s.value)
                        }
                        None => s.value.is_empty() || scalar::is_null(&s.value),
                    };
                if null {
                    visitor.visit_unit()
                } else {
                    Err(not_null(&s.value))
                }
            }
            Item::Void => visitor.visit_unit(),
            other => Err(invalid_type(other, &visitor)),
        }
        .map_err(|error| error.at(mark, &self.path))
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let mark = self.source.peek()?.1;
        self.nested(mark, |de| visitor.visit_newtype_struct(de))
    }

    /// A sequence; an empty value counts as an empty sequence.
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let (item, mark) = self.source.next()?;
        match &item {
            Item::SequenceStart { .. } => self.visit_sequence(visitor, mark),
            other if is_empty_plain(other) => visitor.visit_seq(SeqAccess {
                de: self,
                empty: true,
                len: 0,
            }),
            other => Err(invalid_type(other, &visitor)),
        }
        .map_err(|error| error.at(mark, &self.path))
    }
    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    /// A mapping; an empty value counts as an empty mapping.
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let (item, mark) = self.source.next()?;
        match &item {
            Item::MappingStart { .. } => self.visit_mapping(visitor, mark),
            other if is_empty_plain(other) => visitor.visit_map(MapAccess {
                de: self,
                empty: true,
                len: 0,
                key: None,
            }),
            other => Err(invalid_type(other, &visitor)),
        }
        .map_err(|error| error.at(mark, &self.path))
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    /// A unit variant named by a scalar (`tcp`), or by a local tag (`!tcp`).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let (item, mark) = self.source.peek()?;
        let tagged = match item {
            Item::Scalar(s) => scalar::local_tag(s.tag.as_deref()).is_some(),
            Item::SequenceStart { tag } | Item::MappingStart { tag } => {
                if scalar::local_tag(tag.as_deref()).is_none() {
                    let what = if matches!(item, Item::MappingStart { .. }) {
                        Unexpected::Map
                    } else {
                        Unexpected::Seq
                    };
                    let error = Error::invalid_type(what, &"a YAML tag starting with '!'");
                    return Err(error.at(mark, &self.path));
                }
                true
            }
            Item::Void => return Err(Error::EndOfStream),
            Item::SequenceEnd | Item::MappingEnd => return Err(Error::UnbalancedEvents(mark)),
        };
        if tagged {
            // As in serde_yaml, a bad variant name is left for the parent
            // to position; a bad content is positioned at the node.
            let (item, _) = self.source.next()?;
            return tagged_enum(visitor, &item, mark, &self.path);
        }
        visitor
            .visit_enum(UnitVariantAccess { de: self })
            .map_err(|error| error.at(mark, &self.path))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.skip_value()?;
        visitor.visit_unit()
    }
}
