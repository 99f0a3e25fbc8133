//! traceflow: is your LLM agent getting better or worse across runs?
//!
//! TraceFlow Lite judges every run on its own (its eval gate says PASS,
//! REVISE or FALLBACK); traceflow reads the same SQLite store and looks
//! across runs: per-run pass, revise and fallback rates and scores, the
//! trend, and a verdict a CI gate can act on.
//!
//! - [`model`]: TraceFlow Lite's records and their stored spellings.
//! - [`store`]: the [`RecordStore, WriteStore`](store::RecordStore, WriteStore) trait and the SQLite
//!   store, read-only for analysis, zero schema changes.
//! - [`trend`]: the per-run summaries and the verdict (`auto`,
//!   significance-tested, optionally bounded over repeated evaluations;
//!   `ols`, the proposal's rule).
//! - [`cases`]: which cases (test inputs) broke: each case before and
//!   after a split, Fisher's exact test, Benjamini–Hochberg across cases.
//! - [`compare`]: a candidate (a PR's runs) against a baseline (main's),
//!   paired through the cases when they repeat.
//! - [`stats`]: the statistics, as pure functions.
//! - [`simulation`]: the seeded simulation that measures the verdicts'
//!   false alarms and power.
//! - [`report`]: the table and JSON renderings.
//! - [`progress`]: the stages a long analysis reports to a front end.
//! - [`demo`]: a realistic store to try it on.
//!
//! ```
//! use traceflow::demo::{write_demo, DemoOptions};
//! use traceflow::store::SqliteStore;
//! use traceflow::trend::{TraceTrendAnalyzer, Verdict, VerdictOptions, Window};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("traceflow.db");
//! let mut store = SqliteStore::open_writable(&path)?;
//! let options = DemoOptions::ending_at("2026-11-27T00:00:00Z".parse()?, 42);
//! write_demo(&mut store, &options, &mut |_, _| {})?;
//!
//! let store = SqliteStore::open_read_only(&path)?;
//! // auto: Cochran–Armitage at α = 0.01, 5-point minimum drop.
//! let report = TraceTrendAnalyzer::with_options(&store, VerdictOptions::default())
//!     .analyze(Window::Last(500))?;
//! assert_eq!(report.summaries.len(), 500);
//! // The demo's model change 8 days before the end costs pass rate.
//! assert_eq!(report.statistics.verdict, Verdict::Regression);
//! let step = report.statistics.evidence.change_point().expect("a step");
//! assert!(step.after.rate < step.before.rate);
//!
//! // The proposal's rule, kept: OLS slope against ±0.01 per run.
//! let proposal = TraceTrendAnalyzer::new(&store, 0.01).analyze(Window::Last(20))?;
//! assert_eq!(proposal.summaries.len(), 20);
//! # Ok(())
//! # }
//! ```

pub mod cases;
pub mod compare;
#[cfg(feature = "sqlite")]
pub mod demo;
pub mod error;
#[cfg(feature = "import")]
pub mod import;
pub mod metric;
pub mod model;
pub mod progress;
pub mod python_json;
pub mod report;
pub mod simulation;
pub mod stats;
pub mod store;
mod text;
pub mod timestamp;
pub mod trend;
pub mod verdict;
pub mod window;
