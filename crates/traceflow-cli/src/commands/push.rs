//! `traceflow push`: a local store into the team database.
//!
//! JSON layout (`schema_version` 1): `{"schema_version": 1, "from": path,
//! "to": database (no password), "incremental": bool, "dry_run": bool,
//! "traces"|"steps"|"evals": {"sent", "created", "updated"}, "left_out":
//! [row issue, ...]}`.

use std::io::IsTerminal as _;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use traceflow::store::postgres::push::{push, Moved, Progress, PushOptions, PushReport};
use traceflow::store::SqliteStore;

use crate::args::{FormatArg, PushArgs};
use crate::exit_codes;

/// Rows kept out that the table lists one by one; the rest are counted.
const LISTED: usize = 20;

pub(super) fn run(args: &PushArgs) -> anyhow::Result<u8> {
    let target = super::db::postgres_target(&args.to, args.to_from_env, "push --to")?;
    let source = SqliteStore::open_read_only(&args.from)?;
    let bar = progress_bar();
    let mut shown = |p: Progress| {
        if let Some(bar) = &bar {
            bar.set_length(p.total);
            bar.set_position(p.rows);
            bar.set_message(p.table);
        }
    };
    let report = crate::args::named_by_env(
        push(
            &source,
            &target,
            PushOptions {
                full: args.full,
                dry_run: args.dry_run,
                progress: Some(&mut shown),
            },
        ),
        args.to_from_env,
    )?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let from = args.from.display().to_string();
    let text = match args.format {
        FormatArg::Json => {
            let doc = serde_json::json!({
                "schema_version": 1,
                "from": from,
                "to": target.to_string(),
                "incremental": report.incremental,
                "dry_run": report.dry_run,
                "traces": report.traces,
                "steps": report.steps,
                "evals": report.evals,
                "left_out": report.left_out,
            });
            format!("{doc}\n")
        }
        FormatArg::Table => table(&report, &from, &target.to_string()),
    };
    super::print(&text)?;
    Ok(exit_codes::SUCCESS)
}

/// A bar on stderr when it is a terminal (never in CI logs or pipes).
fn progress_bar() -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{msg:>11} {bar:30} {pos}/{len} rows") {
        bar.set_style(style);
    }
    Some(bar)
}

fn table(report: &PushReport, from: &str, to: &str) -> String {
    let how = match (report.dry_run, report.incremental) {
        (true, _) => "dry run, rolled back: this is what would move",
        (false, true) => "incremental: rows new since the last push, and runs that were running",
        (false, false) => "every row compared",
    };
    let mut out = format!(
        "{} {from} to {to} ({how})\n",
        if report.dry_run {
            "Would push"
        } else {
            "Pushed"
        }
    );
    let mut table = super::plain_table(&["", "sent", "created", "updated", "unchanged"]);
    for (name, moved) in [
        ("traces", report.traces),
        ("steps", report.steps),
        ("verdicts", report.evals),
    ] {
        let Moved {
            sent,
            created,
            updated,
        } = moved;
        table.add_row(vec![
            name.to_owned(),
            sent.to_string(),
            created.to_string(),
            updated.to_string(),
            moved.unchanged().to_string(),
        ]);
    }
    out.push_str(&super::table_text(&table));
    if !report.left_out.is_empty() {
        out.push_str(&format!(
            "Left out or pushed with a column as NULL: {} rows\n",
            report.left_out.len()
        ));
        for issue in report.left_out.iter().take(LISTED) {
            out.push_str(&format!("  {}\n", super::cell(&issue.to_string())));
        }
        if report.left_out.len() > LISTED {
            out.push_str(&format!(
                "  ... and {} more (--format json lists every one)\n",
                report.left_out.len() - LISTED
            ));
        }
    }
    out
}
