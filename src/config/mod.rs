//! Configuration: parse `maglev.yaml` (stage 1, [`raw`]) and validate it
//! (stage 2, [`validate`]) into the [`model`] the daemon reads.
//! spec/config.md is the reference; docs/config.md is the operator's guide.

pub mod error;
pub mod model;
pub mod raw;
pub mod validate;

#[cfg(test)]
mod tests;

use std::path::Path;

pub use error::{ConfigError, SemanticError};
pub use model::*;

/// Reads and validates the file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_str(&text)
}

/// Validates a YAML document held in memory.
pub fn parse_str(text: &str) -> Result<Config, ConfigError> {
    let document: raw::RawDocument =
        serde_yaml::from_str(text).map_err(|error| ConfigError::Parse {
            message: error.to_string(),
        })?;
    validate::validate(document).map_err(|errors| ConfigError::Semantic { errors })
}
