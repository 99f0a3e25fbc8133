//! `traceflow demo`: write a realistic store and show its trend.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use traceflow::demo::{write_demo, DemoOptions};
use traceflow::report::render_verdict;
use traceflow::store::SqliteStore;
use traceflow::trend::{TraceTrendAnalyzer, VerdictOptions};

use crate::args::{DemoArgs, DEMO_DB};
use crate::exit_codes;

/// Progress appears only for writes that take longer than this.
const QUIET_FOR: Duration = Duration::from_millis(300);

pub(super) fn run(args: &DemoArgs) -> anyhow::Result<u8> {
    let (path, replace) = match &args.db {
        Some(path) => (path.clone(), args.force),
        None => (PathBuf::from(DEMO_DB), true),
    };
    if path.exists() && !replace {
        bail!(
            "{}: already exists; pass --force to replace it with the demo store",
            path.display()
        );
    }
    let options = DemoOptions {
        runs_per_day: args.runs_per_day,
        seed: args.seed,
        ..DemoOptions::ending_at(args.end, args.days)
    };

    // Write beside the target and rename, so a failed run leaves no half store.
    let partial = sibling(&path, ".partial");
    remove_store_files(&partial)?;
    let summary = {
        let mut store = SqliteStore::open_writable(&partial)?;
        let started = Instant::now();
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("writing demo store {bar:30} {pos}/{len} runs")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let mut shown = false;
        let summary = write_demo(&mut store, &options, &mut |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            if !shown && started.elapsed() > QUIET_FOR {
                bar.set_draw_target(ProgressDrawTarget::stderr());
                shown = true;
            }
        });
        bar.finish_and_clear();
        summary
    };
    let summary = match summary {
        Ok(summary) => summary,
        Err(err) => {
            let _ = remove_store_files(&partial);
            return Err(err.into());
        }
    };
    remove_store_files(&path)?;
    std::fs::rename(&partial, &path)
        .with_context(|| format!("{}: cannot move the demo store into place", path.display()))?;

    let store = SqliteStore::open_read_only(&path)?;
    let verdict = VerdictOptions::default();
    let report = TraceTrendAnalyzer::with_options(&store, verdict)
        .analyze(verdict.method.default_window())?;
    let db = path.display();
    let text = format!(
        "Wrote {db}: {} traces, {} steps over {} days; model {} → {} on {}.\n\n{}\n\
         Look closer:\n  traceflow trend --db {db}            # every run of the window\n  traceflow trend --db {db} --method ols --window 20   # the proposal's rule\n  traceflow list --db {db}\n  traceflow gate --db {db}\n",
        summary.traces,
        summary.steps,
        options.days,
        summary.model_before,
        summary.model_after,
        summary.model_change_at.strftime("%Y-%m-%d"),
        render_verdict(&report),
    );
    super::print(&text)?;
    Ok(exit_codes::SUCCESS)
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Removes a store with its WAL files: a stale `-wal` beside a new file
/// would be replayed into it.
fn remove_store_files(path: &Path) -> anyhow::Result<()> {
    for file in [
        path.to_path_buf(),
        sibling(path, "-wal"),
        sibling(path, "-shm"),
    ] {
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => {
                return Err(err).with_context(|| format!("{}: cannot remove", file.display()))
            }
        }
    }
    Ok(())
}
