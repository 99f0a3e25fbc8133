//! Reading values: SQLite's dynamic types coerced leniently into the
//! model's (every column can hold anything), rows mapped to records, and the
//! decoders of decision rows with their memo of parsed JSON.

// The backend's parts share its private helpers and imports.
use super::*;

/// Reads a timestamp column: text in any of TraceFlow Lite's spellings; an
/// INTEGER or REAL as seconds since the Unix epoch (the column's NUMERIC
/// affinity turns numeric text into numbers).
pub(super) fn timestamp_of(
    value: ValueRef<'_>,
) -> Result<jiff::Timestamp, timestamp::TimestampError> {
    match value {
        ValueRef::Text(bytes) => timestamp::parse_bytes(bytes),
        ValueRef::Integer(secs) => timestamp::from_unix_seconds(secs),
        ValueRef::Real(secs) => timestamp::from_unix_seconds_f64(secs),
        ValueRef::Null => Err(timestamp::not_a_timestamp("NULL")),
        ValueRef::Blob(_) => Err(timestamp::not_a_timestamp("a BLOB")),
    }
}

/// Text of a value for an issue message, if it is text.
pub(super) fn text_of(value: ValueRef<'_>) -> Option<String> {
    value.as_str().ok().map(str::to_owned)
}

pub(super) fn parse_enum<T: std::str::FromStr<Err = crate::model::UnknownValue>>(
    value: ValueRef<'_>,
) -> Result<T, String> {
    match value {
        ValueRef::Text(_) => value
            .as_str()
            .map_err(|_| "not UTF-8 text".to_owned())?
            .parse()
            .map_err(|e: crate::model::UnknownValue| e.to_string()),
        ValueRef::Null => Err("NULL".to_owned()),
        _ => Err("not text".to_owned()),
    }
}

pub(super) fn optional_text(value: ValueRef<'_>, column: &str) -> Result<Option<String>, String> {
    match value {
        ValueRef::Null => Ok(None),
        ValueRef::Text(bytes) => Ok(Some(String::from_utf8_lossy(bytes).into_owned())),
        ValueRef::Integer(i) => Ok(Some(i.to_string())),
        ValueRef::Real(r) => Ok(Some(r.to_string())),
        ValueRef::Blob(_) => Err(format!("{column}: a BLOB where text belongs")),
    }
}

pub(super) fn required_text(value: ValueRef<'_>, column: &str) -> Result<String, String> {
    optional_text(value, column)?.ok_or_else(|| format!("{column}: NULL"))
}

/// An INTEGER column, accepting what real stores hold there: REAL values
/// with no fraction (`30.0`), numeric text, and NULL as the default 0.
pub(super) fn lenient_int(value: ValueRef<'_>, column: &str) -> Result<i64, String> {
    let real = match value {
        ValueRef::Null => return Ok(0),
        ValueRef::Integer(i) => return Ok(i),
        ValueRef::Real(r) => r,
        ValueRef::Text(_) => {
            let text = value.as_str().unwrap_or("").trim();
            if let Ok(i) = text.parse::<i64>() {
                return Ok(i);
            }
            text.parse::<f64>()
                .map_err(|_| format!("{column}: {text:?} is not a number"))?
        }
        ValueRef::Blob(_) => return Err(format!("{column}: a BLOB where a number belongs")),
    };
    if real.fract() == 0.0 && real.abs() < 9.0e15 {
        Ok(real as i64)
    } else {
        Err(format!("{column}: {real} is not a whole number"))
    }
}

/// A REAL column, accepting INTEGER values and numeric text.
pub(super) fn lenient_real(value: ValueRef<'_>, column: &str) -> Result<f64, String> {
    match value {
        ValueRef::Null => Ok(0.0),
        ValueRef::Integer(i) => Ok(i as f64),
        ValueRef::Real(r) => Ok(r),
        ValueRef::Text(_) => {
            let text = value.as_str().unwrap_or("").trim();
            text.parse::<f64>()
                .map_err(|_| format!("{column}: {text:?} is not a number"))
        }
        ValueRef::Blob(_) => Err(format!("{column}: a BLOB where a number belongs")),
    }
}

pub(super) fn optional_json<T: serde::de::DeserializeOwned>(
    value: ValueRef<'_>,
    column: &str,
) -> Result<Option<T>, String> {
    match optional_text(value, column)? {
        None => Ok(None),
        Some(text) if text.trim().is_empty() => Ok(None),
        Some(text) => python_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("{column}: {e}")),
    }
}

pub(super) fn timestamp_column(
    value: ValueRef<'_>,
    column: &str,
) -> Result<jiff::Timestamp, String> {
    timestamp_of(value).map_err(|e| format!("{column}: {e}"))
}

/// An issue naming the row being mapped (rowid in column 0, trace_id in 1).
pub(super) fn issue_for(table: &'static str, row: &Row<'_>, reason: String) -> RowIssue {
    RowIssue {
        at: Locator::Row {
            table,
            rowid: row.get::<_, i64>(0).unwrap_or(-1),
        },
        trace_id: row.get_ref(1).ok().and_then(text_of),
        reason,
    }
}

pub(super) fn get<'r>(row: &'r Row<'_>, index: usize) -> Result<ValueRef<'r>, String> {
    row.get_ref(index).map_err(|e| e.to_string())
}

/// A column of a record's row, by its name: the record reads (`list`,
/// `show`) do not depend on the order their statements select in. (The
/// scans, a million rows each, read by position, beside their SQL.)
fn column<'r>(row: &'r Row<'_>, name: &str) -> Result<ValueRef<'r>, String> {
    row.get_ref(name).map_err(|e| e.to_string())
}

/// A `traces` row, with its rowid.
pub(super) fn trace_from_row(
    row: &Row<'_>,
) -> Result<((i64, TraceRecord), Option<RowIssue>), RowIssue> {
    with_problems("traces", row, |problems| {
        let config_text = required_text(column(row, "config_json")?, "config_json")?;
        let config: RunConfig =
            python_json::from_str(&config_text).map_err(|e| format!("config_json: {e}"))?;
        let rowid = row.get::<_, i64>(0).map_err(|e| e.to_string())?;
        let record = TraceRecord {
            trace_id: required_text(column(row, "trace_id")?, "trace_id")?,
            status: parse_enum::<RunStatus>(column(row, "status")?)
                .map_err(|e| format!("status: {e}"))?,
            mode: parse_enum::<Mode>(column(row, "mode")?).map_err(|e| format!("mode: {e}"))?,
            user_input: required_text(column(row, "user_input")?, "user_input")?,
            config,
            model: required_text(column(row, "model")?, "model")?,
            provider: required_text(column(row, "provider")?, "provider")?,
            final_answer: optional_text(column(row, "final_answer")?, "final_answer")?,
            error: optional_text(column(row, "error")?, "error")?,
            created_at: timestamp_column(column(row, "created_at")?, "created_at")?,
            // A finish time that does not read costs the record nothing
            // the analysis uses (the start orders runs): it reads as
            // absent, noted, as a push sends it.
            finished_at: match column(row, "finished_at")? {
                ValueRef::Null => None,
                value => match timestamp_column(value, "finished_at") {
                    Ok(at) => Some(at),
                    Err(reason) => {
                        problems.push(format!("{reason}; read as absent"));
                        None
                    }
                },
            },
        };
        Ok((rowid, record))
    })
}

/// An INTEGER column holding a REAL with a fraction (`2.5`): rounded, and
/// the rounding noted, rather than costing the row.
pub(super) fn rounded_int(
    value: ValueRef<'_>,
    column: &str,
    problems: &mut Vec<String>,
) -> Result<i64, String> {
    match value {
        ValueRef::Real(real) if real.is_finite() && real.fract() != 0.0 && real.abs() < 9.0e15 => {
            let rounded = real.round() as i64;
            problems.push(format!("{column}: {real} rounded to {rounded}"));
            Ok(rounded)
        }
        _ => lenient_int(value, column),
    }
}

/// A JSON column that does not parse costs only itself: `None`, and the
/// problem noted for the row's issue.
pub(super) fn lenient_json<T: serde::de::DeserializeOwned>(
    value: ValueRef<'_>,
    column: &str,
    problems: &mut Vec<String>,
) -> Option<T> {
    optional_json(value, column).unwrap_or_else(|problem| {
        problems.push(format!("{problem}; {column} left out"));
        None
    })
}

/// A row read with some JSON columns left out, as one issue.
pub(super) fn with_problems<T>(
    table: &'static str,
    row: &Row<'_>,
    read: impl FnOnce(&mut Vec<String>) -> Result<T, String>,
) -> Result<(T, Option<RowIssue>), RowIssue> {
    let mut problems = Vec::new();
    match read(&mut problems) {
        Ok(record) => {
            let issue = (!problems.is_empty()).then(|| issue_for(table, row, problems.join("; ")));
            Ok((record, issue))
        }
        Err(reason) => Err(issue_for(table, row, reason)),
    }
}

/// A `trace_steps` row; unparseable `input_json`/`output_json` are left out
/// and reported rather than costing the step.
pub(super) fn step_from_row(row: &Row<'_>) -> Result<(StepRecord, Option<RowIssue>), RowIssue> {
    with_problems("trace_steps", row, |problems| {
        Ok(StepRecord {
            trace_id: required_text(column(row, "trace_id")?, "trace_id")?,
            step_seq: rounded_int(column(row, "step_seq")?, "step_seq", problems)?,
            node_name: required_text(column(row, "node_name")?, "node_name")?,
            input: lenient_json(column(row, "input_json")?, "input_json", problems),
            output: lenient_json(column(row, "output_json")?, "output_json", problems),
            tokens: rounded_int(column(row, "tokens")?, "tokens", problems)?,
            latency_ms: lenient_real(column(row, "latency_ms")?, "latency_ms")?,
            cost_usd: lenient_real(column(row, "cost_usd")?, "cost_usd")?,
            error: optional_text(column(row, "error")?, "error")?,
            cache_hit: lenient_int(column(row, "cache_hit")?, "cache_hit")? != 0,
            created_at: timestamp_column(column(row, "created_at")?, "created_at")?,
        })
    })
}

/// A `trace_evals` row. As in the analysis, scores that are not an object of
/// numbers do not cost the verdict: they are left out and reported.
pub(super) fn eval_from_row(row: &Row<'_>) -> Result<(EvalRecord, Option<RowIssue>), RowIssue> {
    with_problems("trace_evals", row, |problems| {
        Ok(EvalRecord {
            trace_id: required_text(column(row, "trace_id")?, "trace_id")?,
            step_seq: rounded_int(column(row, "step_seq")?, "step_seq", problems)?,
            decision: parse_enum::<EvalDecision>(column(row, "decision")?)
                .map_err(|e| format!("decision: {e}"))?,
            reasons: lenient_json(column(row, "reasons_json")?, "reasons_json", problems),
            scores: lenient_json(column(row, "scores_json")?, "scores_json", problems),
            revision_instructions: optional_text(
                column(row, "revision_instructions")?,
                "revision_instructions",
            )?,
            created_at: timestamp_column(column(row, "created_at")?, "created_at")?,
        })
    })
}

/// Parsed JSON column values of one scan, by their text. A store holds few
/// distinct `scores_json` and gate reports (TraceFlow Lite's gate writes a
/// handful of score sets), so most rows are a lookup instead of a parse.
pub(super) struct Memo<V> {
    parsed: FxHashMap<Box<str>, V>,
}

impl<V: Clone> Memo<V> {
    /// Distinct texts kept; past that, rows are parsed as they come.
    const ENTRIES: usize = 1024;
    /// Longer texts are not kept (they are unlikely to repeat).
    const TEXT_BYTES: usize = 1024;

    pub(super) fn new() -> Self {
        Memo {
            parsed: FxHashMap::default(),
        }
    }

    pub(super) fn get(&mut self, text: &str, parse: impl FnOnce(&str) -> V) -> V {
        if let Some(value) = self.parsed.get(text) {
            return value.clone();
        }
        let value = parse(text);
        if self.parsed.len() < Self::ENTRIES && text.len() <= Self::TEXT_BYTES {
            self.parsed.insert(text.into(), value.clone());
        }
        value
    }
}

/// Turns decision rows into [`DecisionRow`]s, remembering parsed JSON.
pub(super) struct DecisionDecoder<'n> {
    scores: Memo<(ScoreSummary, Option<String>)>,
    reports: Memo<Result<Verdict, String>>,
    score_names: &'n [String],
    named: Memo<Vec<Option<f64>>>,
}

impl<'n> DecisionDecoder<'n> {
    pub(super) fn new(score_names: &'n [String]) -> Self {
        DecisionDecoder {
            scores: Memo::new(),
            reports: Memo::new(),
            score_names,
            named: Memo::new(),
        }
    }

    pub(super) fn decode(
        &mut self,
        table: DecisionTable,
        row: &Row<'_>,
        rowid: i64,
    ) -> Result<DecisionRow, String> {
        match table {
            DecisionTable::TraceEvals => self.eval_row(row, rowid),
            DecisionTable::EvaluatorSteps => self.step_row(row, rowid),
        }
    }

    /// The asked-for scores of a JSON text, found at `path` (`[]` for the
    /// text itself, `["scores"]` inside a gate report).
    pub(super) fn named_scores(
        &mut self,
        text: Option<&str>,
        inside: Option<&str>,
    ) -> Vec<Option<f64>> {
        let names = self.score_names;
        match text {
            Some(text) if !names.is_empty() => self
                .named
                .get(text, |text| named_scores(text, inside, names)),
            _ => vec![None; names.len()],
        }
    }

    pub(super) fn eval_row(&mut self, row: &Row<'_>, rowid: i64) -> Result<DecisionRow, String> {
        let decision =
            parse_enum::<EvalDecision>(get(row, 2)?).map_err(|e| format!("decision: {e}"))?;
        let step_seq = rounded_step_seq(get(row, 4)?);
        let (scores, scores_problem, named_scores) = match get(row, 3)? {
            ValueRef::Null => (ScoreSummary::default(), None, self.named_scores(None, None)),
            value => {
                let text = value
                    .as_str()
                    .map_err(|_| "scores_json: not UTF-8 text".to_owned())?;
                let (scores, problem) = self
                    .scores
                    .get(text, |text| scores_of(Some(text), "scores_json"));
                (scores, problem, self.named_scores(Some(text), None))
            }
        };
        Ok(DecisionRow {
            rowid,
            decision,
            scores,
            scores_problem,
            step_seq,
            named_scores,
        })
    }

    pub(super) fn step_row(&mut self, row: &Row<'_>, rowid: i64) -> Result<DecisionRow, String> {
        self.gate_report(row, rowid, (2, 3))
    }

    /// The verdict of an evaluator step whose `output_json` and `step_seq`
    /// are at these columns.
    pub(super) fn gate_report(
        &mut self,
        row: &Row<'_>,
        rowid: i64,
        (output, seq): (usize, usize),
    ) -> Result<DecisionRow, String> {
        let text = match get(row, output)? {
            ValueRef::Null => return Err("output_json: NULL (no gate report)".to_owned()),
            value => value
                .as_str()
                .map_err(|_| "output_json: not UTF-8 text".to_owned())?,
        };
        let step_seq = rounded_step_seq(get(row, seq)?);
        let (decision, scores, scores_problem) = self.reports.get(text, parse_gate_report)?;
        let named_scores = self.named_scores(Some(text), Some("scores"));
        Ok(DecisionRow {
            rowid,
            decision,
            scores,
            scores_problem,
            step_seq,
            named_scores,
        })
    }
}

/// A `step_seq` for ordering a trace's decisions: whole numbers as they
/// are, fractions rounded, anything else first (it orders, never rejects:
/// the decision still counts).
pub(super) fn rounded_step_seq(value: ValueRef<'_>) -> i64 {
    match value {
        ValueRef::Integer(i) => i,
        ValueRef::Real(r) if r.is_finite() => r.round() as i64,
        ValueRef::Text(_) => value
            .as_str()
            .ok()
            .and_then(|t| t.trim().parse::<f64>().ok())
            .filter(|r| r.is_finite())
            .map_or(i64::MIN, |r| r.round() as i64),
        _ => i64::MIN,
    }
}
