//! Configuration: parse `maglev.yaml` (stage 1, [`raw`]) and validate it
//! (stage 2, [`validate`]) into the [`model`] the daemon reads.
//! spec/config.md is the reference; docs/config.md is the operator's guide.

pub mod error;
pub mod model;
pub mod raw;
pub mod validate;
pub mod yaml;

#[cfg(test)]
mod tests;

use std::path::Path;

pub use error::{ConfigError, SemanticError};
pub use model::*;

/// Command-line settings that replace keys of the file *before* validation,
/// so that rules depending on them see the value in force: the VPP source
/// addresses are required only while VPP integration is enabled, and
/// `--vpp-api-addr ""` disables it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Replaces `vpp.api-socket` (empty disables VPP integration).
    pub vpp_api_socket: Option<String>,
}

/// Reads and validates the file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    load_with(path, &Overrides::default())
}

/// Reads the file at `path`, applies `overrides`, validates.
pub fn load_with(path: &Path, overrides: &Overrides) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_str_with(&text, overrides)
}

/// Validates a YAML document held in memory.
pub fn parse_str(text: &str) -> Result<Config, ConfigError> {
    parse_str_with(text, &Overrides::default())
}

/// Validates a YAML document held in memory, with `overrides` applied.
pub fn parse_str_with(text: &str, overrides: &Overrides) -> Result<Config, ConfigError> {
    // Test builds cross-check every document against serde_yaml, the
    // parser this one replaced.
    #[cfg(test)]
    yaml::tests::assert_same_as_serde_yaml(text);
    let mut document: raw::RawDocument =
        yaml::from_str(text).map_err(|error| ConfigError::Parse {
            message: error.to_string(),
        })?;
    if let Some(api) = &overrides.vpp_api_socket {
        document
            .maglev
            .vpp
            .get_or_insert_with(Default::default)
            .api_socket = Some(api.clone());
    }
    validate::validate(document).map_err(|errors| ConfigError::Semantic { errors })
}
