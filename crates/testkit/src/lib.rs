//! What traceflow's tests share, so that a clone of the repository runs
//! every test with nothing beside it:
//!
//! - [`fixtures`]: the stores under `tests/fixtures/` (among them the
//!   stores TraceFlow Lite's own SDK wrote, committed with their
//!   provenance);
//! - [`pg`]: a throwaway PostgreSQL cluster, started by the tests in a
//!   temporary directory on a free port and removed when the test process
//!   ends; the machine's own clusters are never touched;
//! - [`suite`]: eval-suite stores of known truth (which cases regress,
//!   which are flaky), written through the library's own writer.
//!
//! A test that cannot run (no PostgreSQL installed, no python3) fails with
//! one line naming what is missing: it is never reported as passed.

// Test helpers abort on a failed setup step with one line; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod fixtures;
pub mod pg;
pub mod suite;
