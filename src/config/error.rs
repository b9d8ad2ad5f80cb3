//! Why a configuration was refused: unreadable file, parse error (stage 1)
//! or a list of semantic errors (stage 2), with the exit codes of
//! `maglevd --check` (spec/config.md §2).

use std::fmt;
use std::path::PathBuf;

/// A configuration that cannot be used.
#[derive(Debug)]
pub enum ConfigError {
    /// The file could not be read.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Stage 1: bad YAML, unknown key, wrong type, duplicate key, bad
    /// duration or address syntax. `message` is in serde_yaml's format
    /// (see `config::yaml`): it names the key path and the line/column.
    Parse { message: String },
    /// Stage 2: every rule violation found, sorted by path.
    Semantic { errors: Vec<SemanticError> },
}

impl ConfigError {
    /// Exit status of `maglevd --check`: 1 for unreadable/unparsable, 2 for
    /// semantic errors.
    pub fn exit_code(&self) -> i32 {
        match self {
            ConfigError::Io { .. } | ConfigError::Parse { .. } => 1,
            ConfigError::Semantic { .. } => 2,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Io { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            ConfigError::Parse { message } => write!(f, "parse error: {message}"),
            ConfigError::Semantic { errors } => {
                let count = errors.len();
                let noun = if count == 1 { "error" } else { "errors" };
                write!(f, "invalid configuration ({count} {noun}):")?;
                for error in errors {
                    write!(f, "\n  {error}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// One violated rule: where (a YAML key path without the `maglev.` prefix,
/// e.g. `frontends.web.pools[1].backends.web-fra.weight`) and what.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SemanticError {
    pub path: String,
    pub message: String,
}

impl SemanticError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        SemanticError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for SemanticError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_and_display() {
        let io = ConfigError::Io {
            path: PathBuf::from("/nope.yaml"),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not found"),
        };
        assert_eq!(io.exit_code(), 1);
        assert_eq!(io.to_string(), "cannot read /nope.yaml: not found");

        let parse = ConfigError::Parse {
            message: "maglev: unknown field `x`".into(),
        };
        assert_eq!(parse.exit_code(), 1);
        assert_eq!(parse.to_string(), "parse error: maglev: unknown field `x`");

        let semantic = ConfigError::Semantic {
            errors: vec![
                SemanticError::new("a.b", "bad"),
                SemanticError::new("c", "worse"),
            ],
        };
        assert_eq!(semantic.exit_code(), 2);
        assert_eq!(
            semantic.to_string(),
            "invalid configuration (2 errors):\n  a.b: bad\n  c: worse"
        );
    }
}
