//! A store in memory: TraceFlow Lite's operations and the facts seam over
//! plain records, read by the same rules as every backend ([`super::tfl`]).
//! The analysis is tested on it without SQL; a front end that already holds
//! runs (in Python, say) can analyze them without a file.

use crate::store::Locator;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::tfl::{config_values, finite, is_evaluator, named_scores, parse_gate_report, scores_of};
use super::{
    DecisionSource, FactsQuery, FactsStore, HeadsQuery, Labels, ListFilter, Location, RecordStore,
    RowIssue, Rows, StoreError, TraceBundle, TraceFacts, TraceHead, WriteStore, WriteSummary,
};
use crate::model::{EvalRecord, StepRecord, TraceRecord, TraceUpdate};
use crate::python_json;

/// Runs, steps and verdicts in memory, in insertion order.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    traces: Vec<TraceRecord>,
    steps: Vec<StepRecord>,
    evals: Vec<EvalRecord>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn position(&self, trace_id: &str) -> Option<usize> {
        self.traces.iter().position(|t| t.trace_id == trace_id)
    }
}

/// The records of one trace by step position (stable: equal positions in
/// insertion order, as SQLite's `ORDER BY step_seq, rowid`).
fn of_trace<T: Clone>(
    records: &[T],
    trace_id: &str,
    key: impl Fn(&T) -> (&String, i64),
) -> Rows<T> {
    let mut rows: Vec<T> = records
        .iter()
        .filter(|r| key(r).0 == trace_id)
        .cloned()
        .collect();
    rows.sort_by_key(|r| key(r).1);
    Rows {
        rows,
        issues: Vec::new(),
    }
}

/// A record's JSON text, as a store file would hold it.
fn text_of<T: serde::Serialize>(value: &T) -> String {
    // Records are plain data: serializing them cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

impl RecordStore for MemoryStore {
    fn get_trace(&self, trace_id: &str) -> Result<Option<TraceRecord>, StoreError> {
        Ok(self.position(trace_id).map(|i| self.traces[i].clone()))
    }

    fn find_trace_ids(&self, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        Ok(self
            .traces
            .iter()
            .filter(|t| t.trace_id.starts_with(prefix))
            .take(limit)
            .map(|t| t.trace_id.clone())
            .collect())
    }

    fn list_traces_where(
        &self,
        limit: usize,
        filter: &ListFilter,
    ) -> Result<Rows<TraceRecord>, StoreError> {
        let mut kept: Vec<(usize, &TraceRecord)> = self
            .traces
            .iter()
            .enumerate()
            .filter(|(_, t)| {
                filter.status.is_none_or(|s| t.status == s)
                    && filter.model.as_ref().is_none_or(|m| &t.model == m)
                    && filter.since.is_none_or(|since| t.created_at >= since)
            })
            .collect();
        kept.sort_by_key(|&(i, t)| std::cmp::Reverse((t.created_at, i)));
        Ok(Rows {
            rows: kept
                .into_iter()
                .take(limit)
                .map(|(_, t)| t.clone())
                .collect(),
            issues: Vec::new(),
        })
    }

    fn get_steps(&self, trace_id: &str) -> Result<Rows<StepRecord>, StoreError> {
        Ok(of_trace(&self.steps, trace_id, |s| {
            (&s.trace_id, s.step_seq)
        }))
    }

    fn get_evals(&self, trace_id: &str) -> Result<Rows<EvalRecord>, StoreError> {
        Ok(of_trace(&self.evals, trace_id, |e| {
            (&e.trace_id, e.step_seq)
        }))
    }
}

impl WriteStore for MemoryStore {
    fn create_trace(&mut self, trace: &TraceRecord) -> Result<(), StoreError> {
        if self.position(&trace.trace_id).is_some() {
            return Err(StoreError::Write {
                location: Location::Memory,
                operation: format!("create_trace {}", trace.trace_id),
                source: "a trace with this id exists".into(),
            });
        }
        self.traces.push(trace.clone());
        Ok(())
    }

    fn update_trace(&mut self, trace_id: &str, update: &TraceUpdate) -> Result<(), StoreError> {
        let Some(i) = self.position(trace_id) else {
            return Err(StoreError::NoSuchTrace {
                location: Location::Memory,
                trace_id: trace_id.to_owned(),
            });
        };
        let trace = &mut self.traces[i];
        trace.status = update.status;
        trace.final_answer.clone_from(&update.final_answer);
        trace.error.clone_from(&update.error);
        if update.status.is_finished() {
            trace.finished_at = Some(crate::timestamp::now());
        }
        Ok(())
    }

    fn insert_step(&mut self, step: &StepRecord) -> Result<(), StoreError> {
        self.steps.push(step.clone());
        Ok(())
    }

    fn insert_eval(&mut self, eval: &EvalRecord) -> Result<(), StoreError> {
        self.evals.push(eval.clone());
        Ok(())
    }

    fn write_traces(&mut self, bundles: &[TraceBundle]) -> Result<WriteSummary, StoreError> {
        let mut summary = WriteSummary::default();
        for bundle in bundles {
            let id = bundle.trace.trace_id.as_str();
            match self.position(id) {
                Some(i) => {
                    self.traces[i] = bundle.trace.clone();
                    self.steps.retain(|s| s.trace_id != id);
                    self.evals.retain(|e| e.trace_id != id);
                    summary.replaced += 1;
                }
                None => {
                    self.traces.push(bundle.trace.clone());
                    summary.created += 1;
                }
            }
            self.steps.extend(bundle.steps.iter().cloned());
            self.evals.extend(bundle.evals.iter().cloned());
        }
        Ok(summary)
    }
}

impl FactsStore for MemoryStore {
    fn trace_heads(&self, query: &HeadsQuery<'_>) -> Result<Rows<TraceHead>, StoreError> {
        let mut out = Rows::default();
        for (i, t) in self.traces.iter().enumerate() {
            let rowid = i as i64 + 1;
            let config = if query.config_keys.is_empty() {
                Box::default()
            } else {
                let (values, problem) = config_values(&text_of(&t.config), query.config_keys);
                out.issues.extend(problem.map(|reason| RowIssue {
                    at: Locator::Row {
                        table: "traces",
                        rowid,
                    },
                    trace_id: Some(t.trace_id.clone()),
                    reason,
                }));
                values.into_boxed_slice()
            };
            out.rows.push(TraceHead {
                trace_id: t.trace_id.clone(),
                status: t.status,
                created_at: t.created_at,
                rowid,
                labels: (query.labels || query.inputs).then(|| {
                    Arc::new(Labels {
                        mode: t.mode.as_str().into(),
                        model: t.model.as_str().into(),
                        provider: t.provider.as_str().into(),
                        input: if query.inputs {
                            t.user_input.trim().into()
                        } else {
                            "".into()
                        },
                    })
                }),
                config,
            });
        }
        Ok(out)
    }

    fn trace_facts(&self, query: &FactsQuery<'_>) -> Result<Rows<TraceFacts>, StoreError> {
        let index: HashMap<&str, usize> = query
            .traces
            .iter()
            .enumerate()
            .map(|(i, &id)| (id, i))
            .collect();
        let names = query.score_names;
        let mut out = Rows {
            rows: vec![TraceFacts::empty(names.len()); query.traces.len()],
            issues: Vec::new(),
        };
        for (k, eval) in self.evals.iter().enumerate() {
            let Some(&i) = index.get(eval.trace_id.as_str()) else {
                continue;
            };
            let text = eval.scores.as_ref().map(text_of);
            let (scores, problem) = scores_of(text.as_deref(), "scores_json");
            out.issues.extend(problem.map(|reason| RowIssue {
                at: Locator::Row {
                    table: "trace_evals",
                    rowid: k as i64 + 1,
                },
                trace_id: Some(eval.trace_id.clone()),
                reason: format!("{reason}; scores ignored, decision counted"),
            }));
            let named = text.map_or_else(
                || vec![None; names.len()],
                |text| named_scores(&text, None, names),
            );
            out.rows[i].record(
                DecisionSource::TraceEvals,
                eval.decision,
                (eval.step_seq, k as i64 + 1),
                scores,
                &named,
            );
        }
        // Traces decided by trace_evals keep that record.
        let open: Vec<bool> = out.rows.iter().map(|f| !f.decided()).collect();
        for (k, step) in self.steps.iter().enumerate() {
            let Some(&i) = index.get(step.trace_id.as_str()) else {
                continue;
            };
            let issue = |reason: String| RowIssue {
                at: Locator::Row {
                    table: "trace_steps",
                    rowid: k as i64 + 1,
                },
                trace_id: Some(step.trace_id.clone()),
                reason,
            };
            if query.usage {
                let usage = finite(step.latency_ms, "latency_ms")
                    .and_then(|latency| Ok((latency, finite(step.cost_usd, "cost_usd")?)));
                match usage {
                    Ok((latency, cost)) => out.rows[i].add_usage(step.tokens as f64, latency, cost),
                    Err(reason) => out.issues.push(issue(reason)),
                }
            }
            if !open[i] || !is_evaluator(&step.node_name) {
                continue;
            }
            let Some(output) = &step.output else {
                out.issues
                    .push(issue("output_json: NULL (no gate report)".to_owned()));
                continue;
            };
            let text = text_of(output);
            match parse_gate_report(&text) {
                Ok((decision, scores, problem)) => {
                    out.issues.extend(problem.map(|reason| {
                        issue(format!("{reason}; scores ignored, decision counted"))
                    }));
                    let named = named_scores(&text, Some("scores"), names);
                    out.rows[i].record(
                        DecisionSource::EvaluatorSteps,
                        decision,
                        (step.step_seq, k as i64 + 1),
                        scores,
                        &named,
                    );
                }
                Err(reason) => out.issues.push(issue(reason)),
            }
        }
        Ok(out)
    }

    fn config_keys(&self) -> Result<Vec<String>, StoreError> {
        let mut keys = BTreeSet::new();
        for t in &self.traces {
            if let Ok(serde_json::Value::Object(map)) = python_json::from_str(&text_of(&t.config)) {
                keys.extend(map.keys().cloned());
            }
        }
        Ok(keys.into_iter().collect())
    }

    fn score_names(&self) -> Result<Vec<String>, StoreError> {
        let mut names: BTreeSet<String> = BTreeSet::new();
        for e in &self.evals {
            names.extend(e.scores.iter().flatten().map(|(k, _)| k.clone()));
        }
        for s in self.steps.iter().filter(|s| is_evaluator(&s.node_name)) {
            if let Some(serde_json::Value::Object(scores)) =
                s.output.as_ref().and_then(|o| o.get("scores"))
            {
                names.extend(scores.keys().cloned());
            }
        }
        Ok(names.into_iter().collect())
    }
}

/// Records for tests, built in one line each.
#[cfg(test)]
pub(crate) mod testing {
    use crate::model::{EvalDecision, EvalRecord, Mode, RunConfig, RunStatus, TraceRecord};

    /// A trace of `model` started at `at` (RFC 3339).
    pub(crate) fn trace(id: &str, status: RunStatus, at: &str, model: &str) -> TraceRecord {
        let created_at = crate::timestamp::parse(at).expect("a test's timestamp");
        TraceRecord {
            trace_id: id.to_owned(),
            status,
            mode: Mode::GroundedQa,
            user_input: "q".to_owned(),
            config: RunConfig::default(),
            model: model.to_owned(),
            provider: "p".to_owned(),
            final_answer: None,
            error: None,
            created_at,
            finished_at: None,
        }
    }

    /// A verdict of trace `id` at step `seq`, without scores.
    pub(crate) fn eval(id: &str, seq: i64, decision: EvalDecision) -> EvalRecord {
        EvalRecord {
            trace_id: id.to_owned(),
            step_seq: seq,
            decision,
            reasons: None,
            scores: None,
            revision_instructions: None,
            created_at: crate::timestamp::now(),
        }
    }
}
