//! Configuration: parse `maglev.yaml` (stage 1) and validate it (stage 2).

pub mod model;

pub use model::*;
