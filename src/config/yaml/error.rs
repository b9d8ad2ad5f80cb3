//! Why the streaming YAML deserializer refused a document. The texts are
//! serde_yaml 0.9's, word for word, because operators and tests read them:
//! `{path}: {message} at line L column C`.

use std::fmt;

use serde::de;

use super::events::{Mark, SyntaxError};

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// Raised by a `Deserialize` impl or by the type checks here. The
    /// position is filled in by the innermost value that sees the error
    /// (serde_yaml's "fix mark" rule), so it names that value's own path.
    Message {
        message: String,
        position: Option<Position>,
    },
    /// libyaml rejected the text.
    Syntax(SyntaxError),
    /// The events ran out where a value was expected.
    EndOfStream,
    MoreThanOneDocument,
    /// Collections nested deeper than [`super::de::DEPTH_LIMIT`].
    RecursionLimitExceeded(Mark),
    /// Alias expansion grew past the limit (billion-laughs input).
    RepetitionLimitExceeded,
    UnknownAnchor(Mark),
    /// An alias inside the node its anchor names (serde_yaml would recurse
    /// until its depth limit).
    RecursiveAlias(Mark),
    BytesUnsupported,
    /// The event stream was not balanced; libyaml guarantees it is.
    UnbalancedEvents(Mark),
}

/// Where a [`Error::Message`] happened: the event's start and the key path.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub mark: Mark,
    pub path: String,
}

impl Error {
    /// Attaches `mark` and `path` unless an inner value already did.
    pub(super) fn at(mut self, mark: Mark, path: &dyn fmt::Display) -> Error {
        if let Error::Message { position, .. } = &mut self {
            if position.is_none() {
                *position = Some(Position {
                    mark,
                    path: path.to_string(),
                });
            }
        }
        self
    }

    fn mark(&self) -> Option<Mark> {
        match self {
            Error::Message {
                position: Some(position),
                ..
            } => Some(position.mark),
            Error::RecursionLimitExceeded(mark)
            | Error::UnknownAnchor(mark)
            | Error::RecursiveAlias(mark)
            | Error::UnbalancedEvents(mark) => Some(*mark),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Syntax(error) => return error.fmt(f),
            Error::Message { message, position } => {
                if let Some(position) = position {
                    if position.path != "." {
                        write!(f, "{}: ", position.path)?;
                    }
                }
                f.write_str(message)?;
            }
            Error::EndOfStream => f.write_str("EOF while parsing a value")?,
            Error::MoreThanOneDocument => f.write_str(
                "deserializing from YAML containing more than one document is not supported",
            )?,
            Error::RecursionLimitExceeded(_) => f.write_str("recursion limit exceeded")?,
            Error::RepetitionLimitExceeded => f.write_str("repetition limit exceeded")?,
            Error::UnknownAnchor(_) => f.write_str("unknown anchor")?,
            Error::RecursiveAlias(_) => f.write_str("alias refers to a node that contains it")?,
            Error::BytesUnsupported => f.write_str(
                "serialization and deserialization of bytes in YAML is not implemented",
            )?,
            Error::UnbalancedEvents(_) => f.write_str("unbalanced YAML events")?,
        }
        match self.mark() {
            Some(mark) if !mark.is_start() => write!(f, " at {mark}"),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Error::Message {
            message: message.to_string(),
            position: None,
        }
    }
}

impl From<SyntaxError> for Error {
    fn from(error: SyntaxError) -> Self {
        Error::Syntax(error)
    }
}
