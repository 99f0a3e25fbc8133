//! Merging a staging table into its shared one by key: insert what the
//! database lacks, update what it has with other content, leave what is
//! equal; and the rows a repeated key leaves out.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MergeSql {
    Traces,
    Steps,
    Evals,
}

impl MergeSql {
    pub(super) fn table(self) -> &'static str {
        match self {
            MergeSql::Traces => "traces",
            MergeSql::Steps => "trace_steps",
            MergeSql::Evals => "trace_evals",
        }
    }

    pub(super) fn doing(self) -> &'static str {
        match self {
            MergeSql::Traces => "merging traces",
            MergeSql::Steps => "merging steps",
            MergeSql::Evals => "merging verdicts",
        }
    }

    fn staging(self) -> &'static str {
        match self {
            MergeSql::Traces => "push_traces",
            MergeSql::Steps => "push_steps",
            MergeSql::Evals => "push_evals",
        }
    }

    /// The staged rows' key, and which of a repeated key's rows is kept:
    /// a trace's first row (as the analysis of the file reads it), a step's
    /// or verdict's last.
    fn key_and_keep(self) -> (&'static str, &'static str) {
        match self {
            MergeSql::Traces => ("trace_id", "src_rowid"),
            MergeSql::Steps | MergeSql::Evals => ("trace_id, step_seq", "src_rowid DESC"),
        }
    }

    pub(super) fn repeat_reason(self) -> &'static str {
        match self {
            MergeSql::Traces => "the trace id is written more than once",
            MergeSql::Steps => "another step of the trace has the same step_seq",
            MergeSql::Evals => "another verdict of the trace has the same step_seq",
        }
    }

    /// The staged rows a merge of unique keys leaves out: rowid, trace id,
    /// and the rowid of the row kept.
    pub(super) fn repeats_sql(self) -> &'static str {
        match self {
            MergeSql::Traces => {
                "SELECT src_rowid, trace_id, kept FROM (SELECT src_rowid, trace_id, \
                 first_value(src_rowid) OVER (PARTITION BY trace_id ORDER BY src_rowid) AS kept \
                 FROM push_traces) AS r WHERE src_rowid <> kept ORDER BY src_rowid"
            }
            MergeSql::Steps => {
                "SELECT src_rowid, trace_id, kept FROM (SELECT src_rowid, trace_id, \
                 first_value(src_rowid) OVER (PARTITION BY trace_id, step_seq ORDER BY src_rowid DESC) AS kept \
                 FROM push_steps) AS r WHERE src_rowid <> kept ORDER BY src_rowid"
            }
            MergeSql::Evals => {
                "SELECT src_rowid, trace_id, kept FROM (SELECT src_rowid, trace_id, \
                 first_value(src_rowid) OVER (PARTITION BY trace_id, step_seq ORDER BY src_rowid DESC) AS kept \
                 FROM push_evals) AS r WHERE src_rowid <> kept ORDER BY src_rowid"
            }
        }
    }

    /// The merge, answering with the rows created and updated. In
    /// insertion order, so the database's `seq` keeps the file's order.
    pub(super) fn sql(self, dedupe: bool) -> String {
        let (columns, compared): (&str, &[&str]) = match self {
            MergeSql::Traces => (
                "trace_id, status, mode, user_input, config_json, model, provider, final_answer, \
                 error, created_at, finished_at",
                &[
                    "status",
                    "mode",
                    "user_input",
                    "config_json",
                    "model",
                    "provider",
                    "final_answer",
                    "error",
                    "created_at",
                    "finished_at",
                ],
            ),
            MergeSql::Steps => (
                "trace_id, step_seq, node_name, input_json, output_json, tokens, latency_ms, \
                 cost_usd, error, cache_hit, created_at",
                &[
                    "node_name",
                    "input_json",
                    "output_json",
                    "tokens",
                    "latency_ms",
                    "cost_usd",
                    "error",
                    "cache_hit",
                    "created_at",
                ],
            ),
            MergeSql::Evals => (
                "trace_id, step_seq, decision, reasons_json, scores_json, revision_instructions, \
                 created_at",
                &[
                    "decision",
                    "reasons_json",
                    "scores_json",
                    "revision_instructions",
                    "created_at",
                ],
            ),
        };
        let (key, keep) = self.key_and_keep();
        let staging = self.staging();
        let table = self.table();
        let rows = if dedupe {
            format!(
                "SELECT * FROM (SELECT DISTINCT ON ({key}) * FROM {staging} ORDER BY {key}, {keep}) AS d \
                 ORDER BY src_rowid"
            )
        } else {
            format!("SELECT * FROM {staging} ORDER BY src_rowid")
        };
        let set: Vec<String> = compared
            .iter()
            .map(|c| format!("{c} = EXCLUDED.{c}"))
            .collect();
        let old: Vec<String> = compared.iter().map(|c| format!("{table}.{c}")).collect();
        let new: Vec<String> = compared.iter().map(|c| format!("EXCLUDED.{c}")).collect();
        format!(
            "WITH merged AS (INSERT INTO {table} ({columns}) SELECT {columns} FROM ({rows}) AS s \
             ON CONFLICT ({key}) DO UPDATE SET {}, updated_db_at = now() \
             WHERE ({}) IS DISTINCT FROM ({}) RETURNING (xmax = 0) AS created) \
             SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) FROM merged",
            set.join(", "),
            old.join(", "),
            new.join(", "),
        )
    }
}
