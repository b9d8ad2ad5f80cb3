//! The serde access objects the deserializer hands to visitors: elements
//! of a sequence, entries of a mapping (each value reads with its key in the
//! path), and enum variants, named by a scalar or by a local tag (`!tcp`).

use serde::de::{self, DeserializeSeed, Error as _, IntoDeserializer, Unexpected, Visitor};

use super::de::{Path, ValueDeserializer};
use super::error::Error;
use super::events::{Mark, ScalarStyle};
use super::scalar::{self, invalid_type};
use super::source::Item;

pub(super) fn not_null(value: &[u8]) -> Error {
    match std::str::from_utf8(value) {
        Ok(text) => Error::invalid_value(Unexpected::Str(text), &"null"),
        Err(_) => Error::invalid_value(Unexpected::Bytes(value), &"null"),
    }
}

/// A node with a local tag `!name` is the enum variant `name` whose content
/// is the node. Only unit variants are supported (the config has no other
/// kind); their content must be empty or null, as serde_yaml requires.
pub(super) fn tagged_enum<'de, V: Visitor<'de>>(
    visitor: V,
    item: &Item,
    mark: Mark,
    path: &Path<'_>,
) -> Result<V::Value, Error> {
    let tag = match item {
        Item::Scalar(s) => s.tag.as_deref(),
        Item::SequenceStart { tag } | Item::MappingStart { tag } => tag.as_deref(),
        _ => None,
    };
    let variant = scalar::local_tag(tag).unwrap_or_default().to_string();
    let content = match item {
        Item::Scalar(s) if s.style != ScalarStyle::Plain => Err(not_null(&s.value)),
        Item::Scalar(s) if s.value.is_empty() || scalar::is_null(&s.value) => Ok(()),
        Item::Scalar(s) => Err(not_null(&s.value)),
        other => Err(invalid_type(other, &"unit")),
    }
    .map_err(|error| error.at(mark, path));
    visitor.visit_enum(TaggedVariant { variant, content })
}

struct TaggedVariant {
    variant: String,
    content: Result<(), Error>,
}

impl<'de> de::EnumAccess<'de> for TaggedVariant {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Error> {
        let text: de::value::StrDeserializer<Error> = self.variant.as_str().into_deserializer();
        let variant = seed.deserialize(text)?;
        Ok((variant, self))
    }
}

impl<'de> de::VariantAccess<'de> for TaggedVariant {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        self.content
    }
    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, _seed: S) -> Result<S::Value, Error> {
        Err(Error::custom(
            "tagged newtype variants are not supported in the config",
        ))
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, Error> {
        Err(Error::custom(
            "tagged tuple variants are not supported in the config",
        ))
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Error> {
        Err(Error::custom(
            "tagged struct variants are not supported in the config",
        ))
    }
}

pub(super) struct UnitVariantAccess<'a, 's, 'input> {
    pub de: &'a mut ValueDeserializer<'s, 'input>,
}

impl<'de> de::EnumAccess<'de> for UnitVariantAccess<'_, '_, '_> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Error> {
        Ok((seed.deserialize(&mut *self.de)?, self))
    }
}

impl<'de> de::VariantAccess<'de> for UnitVariantAccess<'_, '_, '_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }
    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, _seed: S) -> Result<S::Value, Error> {
        Err(Error::invalid_type(
            Unexpected::UnitVariant,
            &"newtype variant",
        ))
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, Error> {
        Err(Error::invalid_type(
            Unexpected::UnitVariant,
            &"tuple variant",
        ))
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Error> {
        Err(Error::invalid_type(
            Unexpected::UnitVariant,
            &"struct variant",
        ))
    }
}

pub(super) struct SeqAccess<'a, 's, 'input> {
    pub de: &'a mut ValueDeserializer<'s, 'input>,
    pub empty: bool,
    pub len: usize,
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'_, '_, '_> {
    type Error = Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Error> {
        if self.empty {
            return Ok(None);
        }
        if matches!(self.de.source.peek()?.0, Item::SequenceEnd | Item::Void) {
            return Ok(None);
        }
        let index = self.len;
        self.len += 1;
        let parent = self.de.path;
        let mut element = self.de.child(Path::Seq {
            parent: &parent,
            index,
        });
        seed.deserialize(&mut element).map(Some)
    }
}

pub(super) struct MapAccess<'a, 's, 'input> {
    pub de: &'a mut ValueDeserializer<'s, 'input>,
    pub empty: bool,
    pub len: usize,
    /// The current key's text, for the path of its value.
    pub key: Option<String>,
}

impl<'de> de::MapAccess<'de> for MapAccess<'_, '_, '_> {
    type Error = Error;

    fn next_key_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Error> {
        if self.empty {
            return Ok(None);
        }
        self.key = match self.de.source.peek()?.0 {
            Item::MappingEnd | Item::Void => return Ok(None),
            Item::Scalar(s) => std::str::from_utf8(&s.value).ok().map(str::to_string),
            _ => None,
        };
        self.len += 1;
        seed.deserialize(&mut *self.de).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Error> {
        let parent = self.de.path;
        let path = match &self.key {
            Some(key) => Path::Map {
                parent: &parent,
                key,
            },
            None => Path::Unknown { parent: &parent },
        };
        let mut value = self.de.child(path);
        seed.deserialize(&mut value)
    }
}
