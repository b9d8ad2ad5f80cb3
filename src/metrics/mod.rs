//! Prometheus metrics (spec/dataplane.md §12): the exposition-format writer,
//! the snapshot the daemon fills at scrape time and its rendering, and the
//! HTTP listener that serves it on the daemon's mio loop. See
//! docs/metrics.md for the metric list.
//!
//! Use from the loop: `MetricsServer::bind` at startup; on the listener
//! token `accept`; on a client token `on_ready`, and when it returns a
//! client, fill a [`MetricsSnapshot`], [`render`] it and `respond` (repeat
//! while `respond` returns a client); call `expire_idle` at
//! `next_deadline`.

pub mod exposition;
#[cfg(test)]
mod external;
#[cfg(test)]
mod fixture;
pub mod http;
pub mod render;
pub mod request;
pub mod snapshot;

pub use http::{MetricsServer, MetricsServerError, MetricsServerStats};
pub use render::RenderJob;
pub use snapshot::{render, render_into, MetricsSnapshot};
