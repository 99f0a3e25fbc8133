//! `traceflow list`: the newest traces.
//!
//! JSON layout (`schema_version` 1): `{"schema_version": 1, "traces": [...],
//! "skipped_rows": [...]}`, each trace a `TraceRecord` with its fields as
//! TraceFlow Lite names them (`config` holds `config_json` parsed) plus
//! `outcome`: its final gate decision (`pass`, `revise`, `fallback`), or
//! null when no decision was recorded (its status is its outcome).

use traceflow::store::ListFilter;

use crate::args::{FormatArg, ListArgs};
use crate::exit_codes;

pub(super) fn run(args: &ListArgs) -> anyhow::Result<u8> {
    let (_, store) = args.store.open()?;
    let store = &*store;
    let filter = ListFilter {
        status: args.status,
        model: args.model.clone(),
        since: args
            .since
            .map(|b| b.resolve(jiff::Timestamp::now()))
            .transpose()
            .map_err(anyhow::Error::msg)?,
    };
    let listed = store.list_traces_where(args.limit, &filter)?;
    let ids: Vec<&str> = listed.rows.iter().map(|t| t.trace_id.as_str()).collect();
    let outcomes = traceflow::trend::final_decisions(store, &ids)?;
    // In the order of `ids`, so of the listing.
    let outcome = |k: usize| {
        outcomes
            .get(k)
            .copied()
            .flatten()
            .map(|(decision, _)| decision)
    };
    let text = match args.format {
        FormatArg::Json => {
            let traces: Vec<serde_json::Value> = listed
                .rows
                .iter()
                .enumerate()
                .map(|(k, trace)| {
                    let mut value = serde_json::to_value(trace)?;
                    if let Some(object) = value.as_object_mut() {
                        object.insert("outcome".to_owned(), serde_json::to_value(outcome(k))?);
                    }
                    Ok(value)
                })
                .collect::<Result<_, serde_json::Error>>()?;
            let doc = serde_json::json!({
                "schema_version": 1,
                "traces": traces,
                "skipped_rows": listed.issues,
            });
            format!("{}\n", serde_json::to_string_pretty(&doc)?)
        }
        FormatArg::Table => {
            let mut table = super::plain_table(&[
                "trace_id",
                "created_at (UTC)",
                "status",
                "outcome",
                "mode",
                "model",
                "provider",
            ]);
            for (k, trace) in listed.rows.iter().enumerate() {
                table.add_row(vec![
                    super::cell(&trace.trace_id),
                    trace.created_at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                    trace.status.to_string(),
                    outcome(k)
                        .map_or_else(|| "-".to_owned(), |d| d.to_string().to_ascii_uppercase()),
                    trace.mode.to_string(),
                    super::cell(&trace.model),
                    super::cell(&trace.provider),
                ]);
            }
            let mut text = super::table_text(&table);
            for issue in &listed.issues {
                text.push_str(&format!("skipped {issue}\n"));
            }
            text
        }
    };
    super::print(&text)?;
    Ok(exit_codes::SUCCESS)
}
