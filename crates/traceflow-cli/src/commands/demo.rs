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
    let program = program();
    let text = format!(
        "Wrote {db}: {} traces, {} steps over {} days; model {} → {} on {}.\n\n{}\n\
         Look closer:\n  {program} trend --db {db} --runs all   # every run of the window, not only the newest 20\n  {program} trend --db {db} --method ols --window 20   # the proposal's rule\n  {program} cases --db {db}   # which cases broke\n  {program} list --db {db}    # the newest traces\n  {program} gate --db {db}    # the verdict as an exit code (1: regression)\n",
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

/// How to run this program again from here: `traceflow` when that name on
/// PATH is this program (installed), else this program's path, relative to
/// the current directory when inside it: after `cargo run --release --
/// demo` nothing named traceflow is on PATH yet, and `target/release/
/// traceflow` works.
fn program() -> String {
    let installed = "traceflow".to_owned();
    let Ok(exe) = std::env::current_exe().and_then(std::fs::canonicalize) else {
        return installed;
    };
    // Run from Python (`python -m traceflow`), the executable is Python's;
    // the package installs a `traceflow` script.
    if exe.file_stem().is_none_or(|stem| stem != "traceflow") {
        return installed;
    }
    let on_path = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths)
            .any(|dir| std::fs::canonicalize(dir.join("traceflow")).is_ok_and(|p| p == exe))
    });
    if on_path {
        return installed;
    }
    let here = std::env::current_dir().and_then(std::fs::canonicalize);
    let shown = match here.as_deref().map(|here| exe.strip_prefix(here)) {
        Ok(Ok(relative)) => relative.to_path_buf(),
        _ => exe,
    };
    let text = shown.display().to_string();
    // A path with a blank would split in a shell: quoted.
    if text.contains(char::is_whitespace) {
        format!("'{text}'")
    } else {
        text
    }
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
