//! traceflow: is your LLM agent getting better or worse across runs?
//!
//! TraceFlow Lite judges every run on its own (its eval gate says PASS,
//! REVISE or FALLBACK); traceflow reads the same SQLite store and looks
//! across runs: per-run pass, revise and fallback rates and scores, the
//! trend, and a verdict a CI gate can act on.
//!
//! - [`model`]: TraceFlow Lite's records and their stored spellings.
//! - [`store`]: the [`TraceStore`](store::TraceStore) trait and the SQLite
//!   store, read-only for analysis, zero schema changes.
//! - [`trend`]: the per-run summaries and the slope.
//! - [`stats`]: the statistics, as pure functions.
//! - [`report`]: the table and JSON renderings.
//! - [`demo`]: a realistic store to try it on.
//!
//! ```
//! use traceflow::demo::{write_demo, DemoOptions};
//! use traceflow::store::SqliteStore;
//! use traceflow::trend::{TraceTrendAnalyzer, Window};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("traceflow.db");
//! let mut store = SqliteStore::open_writable(&path)?;
//! let options = DemoOptions::ending_at("2026-11-27T00:00:00Z".parse()?, 42);
//! write_demo(&mut store, &options, &mut |_, _| {})?;
//!
//! let store = SqliteStore::open_read_only(&path)?;
//! let report = TraceTrendAnalyzer::new(&store, 0.01).analyze(Window::Last(20))?;
//! assert_eq!(report.summaries.len(), 20);
//! assert!(report.summaries[0].created_at < report.summaries[19].created_at);
//! # Ok(())
//! # }
//! ```

pub mod demo;
pub mod json;
pub mod model;
pub mod report;
pub mod stats;
pub mod store;
pub mod timestamp;
pub mod trend;
