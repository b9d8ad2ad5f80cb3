//! A streaming YAML deserializer for `maglev.yaml`.
//!
//! serde_yaml 0.9 first loads every event of the document into a vector
//! (about 96 bytes per event) and only then deserializes: for a config with
//! 10,000 backends that vector alone peaked at 12.6 MB, against a whole-daemon
//! budget of 8 MiB RSS. Here events are pulled from libyaml one at a time as
//! serde asks for them; only the events of anchored nodes are kept, for
//! their aliases. The parser is the same libyaml port serde_yaml uses and
//! the resolution rules and error texts are serde_yaml's, so configs and
//! messages are unchanged. `maglevd --check` of that config: peak heap
//! 14.9 MB -> 2.6 MB, maximum RSS 12.9 MB -> 5.1 MB.
//!
//! `events` holds all the `unsafe` (the libyaml wrapper); `source` expands
//! aliases; `scalar` resolves plain scalars; `de` and `access` are the
//! serde side.

mod access;
mod de;
mod error;
mod events;
mod scalar;
mod source;

#[cfg(test)]
pub(in crate::config) mod tests;

use serde::de::DeserializeOwned;

pub use error::{Error, Position};
pub use events::{Mark, SyntaxError};

/// Deserializes the single YAML document in `text`.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    from_slice(text.as_bytes())
}

/// Deserializes the single YAML document in `bytes` (UTF-8 expected; other
/// bytes are a syntax error).
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let mut source = source::EventSource::new(bytes)?;
    let value = {
        let mut root = de::ValueDeserializer {
            source: &mut source,
            path: de::Path::Root,
            remaining_depth: de::DEPTH_LIMIT,
        };
        T::deserialize(&mut root)?
    };
    source.finish()?;
    Ok(value)
}
