//! `traceflow list`: the newest traces.
//!
//! JSON layout (`schema_version` 1): `{"schema_version": 1, "traces": [...],
//! "skipped_rows": [...]}`, each trace a `TraceRecord` with its fields as
//! TraceFlow Lite names them (`config` holds `config_json` parsed) plus
//! `outcome`: its final gate decision (`pass`, `revise`, `fallback`), or
//! null when no decision was recorded (its status is its outcome).

use std::collections::BTreeMap;

use traceflow::store::{HeadsQuery, ListFilter, ReadStore};

use crate::args::{ListArgs, ListFormatArg};
use crate::exit_codes;

const HEADER: [&str; 7] = [
    "trace_id",
    "created_at (UTC)",
    "status",
    "outcome",
    "mode",
    "model",
    "provider",
];

pub(crate) fn run(args: &ListArgs, out: &mut super::Out<'_>) -> anyhow::Result<u8> {
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
        ListFormatArg::Json => {
            write_json(&listed, &outcome, &mut out.report)?;
            return Ok(exit_codes::SUCCESS);
        }
        ListFormatArg::Table | ListFormatArg::Markdown if listed.rows.is_empty() => {
            let text = nothing_listed(store, &filter)?;
            match args.format {
                ListFormatArg::Markdown => {
                    format!("_{}_\n", traceflow::report::markdown_cell(&text))
                }
                _ => format!("{text}\n"),
            }
        }
        ListFormatArg::Table | ListFormatArg::Markdown => {
            let rows: Vec<[String; 7]> = listed
                .rows
                .iter()
                .enumerate()
                .map(|(k, trace)| {
                    [
                        trace.trace_id.clone(),
                        trace.created_at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                        trace.status.to_string(),
                        outcome(k)
                            .map_or_else(|| "-".to_owned(), |d| d.to_string().to_ascii_uppercase()),
                        trace.mode.to_string(),
                        trace.model.clone(),
                        trace.provider.clone(),
                    ]
                })
                .collect();
            let issues = listed.issues.iter().map(ToString::to_string);
            if args.format == ListFormatArg::Markdown {
                let mut text = format!("| {} |\n|{}|\n", HEADER.join(" | "), ["---"; 7].join("|"));
                for row in &rows {
                    // The time, status and outcome are ours; the rest is
                    // store text.
                    let cells: Vec<String> = row
                        .iter()
                        .enumerate()
                        .map(|(i, c)| match i {
                            1..=3 => c.clone(),
                            _ => traceflow::report::markdown_cell(c),
                        })
                        .collect();
                    text.push_str(&format!("| {} |\n", cells.join(" | ")));
                }
                for issue in issues {
                    text.push_str(&format!(
                        "\n_skipped {}_\n",
                        traceflow::report::markdown_cell(&issue)
                    ));
                }
                text
            } else {
                let mut table = super::plain_table(&HEADER);
                for row in &rows {
                    table.add_row(row.iter().map(|c| super::cell(c)).collect::<Vec<_>>());
                }
                let mut text = super::table_text(&table);
                for issue in issues {
                    text.push_str(&format!("skipped {issue}\n"));
                }
                text
            }
        }
    };
    out.print(&text)?;
    Ok(exit_codes::SUCCESS)
}

/// Writes the listing's JSON to `report` a trace at a time: a million
/// traces' document (hundreds of megabytes) is never held whole, nor a JSON
/// tree of it. The bytes are those of the whole document pretty-printed
/// (keys in order, two spaces a level), each line made printable as every
/// output of the command is.
fn write_json(
    listed: &traceflow::store::Rows<traceflow::model::TraceRecord>,
    outcome: &dyn Fn(usize) -> Option<traceflow::model::EvalDecision>,
    report: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(report);
    // A value's pretty text, its lines after the first indented by `indent`.
    let nested = |value: &serde_json::Value, indent: &str| -> anyhow::Result<String> {
        let text = serde_json::to_string_pretty(value)?;
        Ok(text.replace('\n', &format!("\n{indent}")))
    };
    let issues = serde_json::to_value(&listed.issues)?;
    let mut head = format!(
        "{{\n  \"schema_version\": 1,\n  \"skipped_rows\": {},\n  \"traces\": ",
        nested(&issues, "  ")?
    );
    if listed.rows.is_empty() {
        head.push_str("[]\n}\n");
        out.write_all(traceflow::report::terminal::printable_lines(&head).as_bytes())?;
        return Ok(out.flush()?);
    }
    head.push_str("[\n");
    out.write_all(traceflow::report::terminal::printable_lines(&head).as_bytes())?;
    for (k, trace) in listed.rows.iter().enumerate() {
        let mut value = serde_json::to_value(trace)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("outcome".to_owned(), serde_json::to_value(outcome(k))?);
        }
        let separator = if k + 1 < listed.rows.len() {
            ",\n"
        } else {
            "\n"
        };
        let entry = format!("    {}{separator}", nested(&value, "    ")?);
        out.write_all(traceflow::report::terminal::printable_lines(&entry).as_bytes())?;
    }
    out.write_all(b"  ]\n}\n")?;
    Ok(out.flush()?)
}

/// A listing that found nothing says so, and what the store has that the
/// filters asked about: its models, its statuses, its newest trace.
fn nothing_listed(store: &dyn ReadStore, filter: &ListFilter) -> anyhow::Result<String> {
    let heads = store.trace_heads(&HeadsQuery {
        labels: filter.model.is_some(),
        inputs: false,
        config_keys: &[],
        newest: None,
    })?;
    let heads = heads.rows;
    if heads.is_empty() {
        return Ok("No traces: the store has none.".to_owned());
    }
    let mut asked = Vec::new();
    let mut has = Vec::new();
    if filter.model.is_none() && filter.status.is_none() && filter.since.is_none() {
        return Ok("No traces listed (--limit 0).".to_owned());
    }
    let tally = |keys: &mut dyn Iterator<Item = String>| -> String {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for key in keys {
            *counts.entry(key).or_default() += 1;
        }
        let listed: Vec<String> = counts.iter().map(|(k, n)| format!("{k} ({n})")).collect();
        listed.join(", ")
    };
    if let Some(model) = &filter.model {
        asked.push(format!("model {model:?}"));
        has.push(format!(
            "models {}",
            tally(&mut heads.iter().map(|h| h.model().to_owned()))
        ));
    }
    if let Some(status) = filter.status {
        asked.push(format!("status {status}"));
        has.push(format!(
            "statuses {}",
            tally(&mut heads.iter().map(|h| h.status.to_string()))
        ));
    }
    if let Some(since) = filter.since {
        asked.push(format!("since {}", since.strftime("%Y-%m-%d %H:%M:%S UTC")));
        if let Some(newest) = heads.iter().map(|h| h.created_at).max() {
            has.push(format!(
                "its newest trace started {}",
                newest.strftime("%Y-%m-%d %H:%M:%S UTC")
            ));
        }
    }
    Ok(format!(
        "No traces with {}. The store has {}: {}.",
        asked.join(", "),
        if heads.len() == 1 {
            "1 trace".to_owned()
        } else {
            format!("{} traces", heads.len())
        },
        has.join("; ")
    ))
}
