//! `traceflow list`: the newest traces.
//!
//! JSON layout (`schema_version` 1): `{"schema_version": 1, "traces": [...],
//! "skipped_rows": [...]}`, each trace a `TraceRecord` with its fields as
//! TraceFlow Lite names them (`config` holds `config_json` parsed).

use traceflow::store::{SqliteStore, TraceStore};

use crate::args::{FormatArg, ListArgs};
use crate::exit_codes;

pub(super) fn run(args: &ListArgs) -> anyhow::Result<u8> {
    let store = SqliteStore::open_read_only(&args.store.db)?;
    let listed = store.list_traces(args.limit)?;
    let text = match args.format {
        FormatArg::Json => {
            let doc = serde_json::json!({
                "schema_version": 1,
                "traces": listed.rows,
                "skipped_rows": listed.issues,
            });
            format!("{}\n", serde_json::to_string_pretty(&doc)?)
        }
        FormatArg::Table => {
            let mut table = super::plain_table(&[
                "trace_id",
                "created_at (UTC)",
                "status",
                "mode",
                "model",
                "provider",
            ]);
            for trace in &listed.rows {
                table.add_row(vec![
                    trace.trace_id.clone(),
                    trace.created_at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                    trace.status.to_string(),
                    trace.mode.to_string(),
                    trace.model.clone(),
                    trace.provider.clone(),
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
