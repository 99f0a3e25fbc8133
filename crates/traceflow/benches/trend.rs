//! Criterion benchmark of [`TraceTrendAnalyzer::analyze`] on a generated
//! store of about 50,000 runs.
//!
//! The store is written with [`write_demo`] into a temporary directory, so
//! the benchmark needs neither Python nor the 1.7 GB store that
//! `bench/compare.py` times the CLI on. Like the real SDK, the demo store has
//! no `trace_evals` rows: decisions come from the `evaluator` steps, so this
//! times the `trace_steps` fallback scan as well as the `traces` scan.
//!
//! ```text
//! cargo bench -p traceflow --bench trend
//! ```

use std::error::Error;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_main, Criterion, SamplingMode};
use tempfile::TempDir;
use traceflow::demo::{write_demo, DemoOptions};
use traceflow::store::SqliteStore;
use traceflow::trend::{TraceTrendAnalyzer, Window};

/// Days of history; with [`RUNS_PER_DAY`] about 50,000 runs.
const DAYS: u32 = 100;
/// Mean runs a day (each day draws between half and one and a half times it).
const RUNS_PER_DAY: u32 = 500;
/// A fixed end, so every machine benchmarks the same store.
const END: &str = "2026-11-27T00:00:00Z";
/// The proposal's default threshold.
const THRESHOLD: f64 = 0.01;

/// A store in a temporary directory, removed when dropped.
struct Fixture {
    _dir: TempDir,
    path: PathBuf,
    traces: usize,
}

fn write_store() -> Result<Fixture, Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.db");
    let mut store = SqliteStore::open_writable(&path)?;
    let mut options = DemoOptions::ending_at(END.parse()?, DAYS);
    options.runs_per_day = RUNS_PER_DAY;
    let summary = write_demo(&mut store, &options, &mut |_, _| {})?;
    drop(store);
    Ok(Fixture {
        _dir: dir,
        path,
        traces: summary.traces,
    })
}

fn bench_analyze(c: &mut Criterion) {
    // A benchmark without its store has nothing to measure: setup failure
    // aborts the run, by design.
    let fixture = match write_store() {
        Ok(fixture) => fixture,
        Err(err) => panic!("writing the benchmark store failed: {err}"),
    };
    let store = match SqliteStore::open_read_only(&fixture.path) {
        Ok(store) => store,
        Err(err) => panic!("opening the benchmark store failed: {err}"),
    };
    let analyzer = TraceTrendAnalyzer::new(&store, THRESHOLD);

    let mut group = c.benchmark_group(format!("analyze/{}_traces", fixture.traces));
    // Each call takes tens of milliseconds: flat sampling with few samples
    // keeps the whole run near a minute instead of criterion's default.
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for window in [Window::All, Window::Last(20)] {
        // Check once that the call succeeds, so the loop times real work.
        if let Err(err) = analyzer.analyze(window) {
            panic!("analyze({window}) failed on the benchmark store: {err}");
        }
        group.bench_function(format!("window_{window}"), |b| {
            b.iter(|| analyzer.analyze(black_box(window)));
        });
    }
    group.finish();
}

// `criterion_group!` generates an undocumented `pub fn`.
#[allow(missing_docs)]
mod harness {
    criterion::criterion_group!(benches, super::bench_analyze);
}
criterion_main!(harness::benches);
