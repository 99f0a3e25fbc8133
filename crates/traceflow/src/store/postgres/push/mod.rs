//! `traceflow push`: a local TraceFlow Lite file into the team database.
//!
//! One push is one transaction: the rows are streamed with binary `COPY`
//! into temporary tables, then merged into the shared ones by their keys (a
//! trace by `trace_id`, a step and a verdict by `(trace_id, step_seq)`): a
//! row not there is inserted, a row there with other content is updated, an
//! equal row is left alone. A push killed at any moment leaves nothing
//! behind, and the next one does it all.
//!
//! **Incremental.** The database remembers, per source file, the highest
//! rowid of each table it has taken and the key of the row there. When the
//! file still has that row at that rowid, the next push sends only the rows
//! after it, and the traces the database has as `running` (a run's status
//! and finish time change after it is written; its steps arrive as new
//! rows). When the file is not the one seen (rebuilt, or another copy that
//! went its own way) or with `full`, every row is sent and compared.
//!
//! **A source that repeats a key.** Two steps (or verdicts) of a trace at
//! one `step_seq`: the later-written row is kept and the others are listed
//! as left out. A trace id written twice (a table without its primary key):
//! the first row is kept, as the analysis of the file keeps it.
//!
//! **Rows kept out** are those the analysis of the file cannot use (an
//! unknown status or decision, a start time that does not parse, a usage
//! value that is not finite); they are listed, with the notes on columns
//! pushed as NULL (a config or finish time that does not parse).

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::{Client, Transaction};
use sha2::Digest as _;

use super::connect::describe;
use super::schema::MIGRATION_LOCK;
use super::{check_schema, PgTarget};
use crate::store::sqlite::{ExportEval, ExportStep, ExportTrace, Exported};

mod merge;
mod rows;

use crate::store::{FactsStore, Location, RowIssue, SqliteStore, StoreError};
use merge::MergeSql;
use rows::{write_facts, Scrub, Staged, StagedRead, FACT_TYPES, STAGING_DDL};
use rustc_hash::{FxHashMap, FxHashSet};

/// How to push.
#[derive(Default)]
pub struct PushOptions<'a> {
    /// Compare every row, even where the database has seen the file.
    pub full: bool,
    /// Do everything, then roll back: the report says what would move.
    pub dry_run: bool,
    /// Told of each table's rows as they are sent.
    pub progress: Option<&'a mut dyn FnMut(Progress)>,
}

/// Rows sent so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The table being sent.
    pub table: &'static str,
    /// Its rows sent so far.
    pub rows: u64,
    /// Its rows to send at the most (the file's rowid span past the mark).
    pub total: u64,
}

/// What a push did to one table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Moved {
    /// Rows sent to the server.
    pub sent: u64,
    /// Rows the database did not have.
    pub created: u64,
    /// Rows it had with other content, now updated.
    pub updated: u64,
}

impl Moved {
    /// Rows sent that changed nothing.
    pub fn unchanged(&self) -> u64 {
        self.sent.saturating_sub(self.created + self.updated)
    }
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PushReport {
    /// Whether only rows past the database's marks were sent.
    pub incremental: bool,
    /// Whether it was rolled back (`--dry-run`).
    pub dry_run: bool,
    /// Traces.
    pub traces: Moved,
    /// Steps.
    pub steps: Moved,
    /// Verdicts.
    pub evals: Moved,
    /// Rows kept out, and columns pushed as NULL, with why.
    pub left_out: Vec<RowIssue>,
}

/// Why a push did not happen (nothing was written).
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// Reading the file failed.
    #[error(transparent)]
    Source(StoreError),
    /// The database refused or went away; the transaction was rolled back.
    #[error("{location}: push failed while {doing}; nothing was written: {cause}")]
    Server {
        /// The database.
        location: Location,
        /// What the push was doing.
        doing: &'static str,
        /// The server's one-line cause.
        cause: String,
        /// A deadlock or serialization failure (another push at the same
        /// keys): the same push again may well succeed.
        transient: bool,
    },
    /// The database is not ready (no schema, another version), or could not
    /// be reached.
    #[error(transparent)]
    Target(StoreError),
}

impl PushError {
    /// What kind of failure this is (the server's refusal is the
    /// store's).
    pub fn kind(&self) -> crate::error::ErrorKind {
        match self {
            PushError::Source(err) | PushError::Target(err) => err.kind(),
            PushError::Server { .. } => crate::error::ErrorKind::Store,
        }
    }
}

/// The marks a database keeps for one source file.
#[derive(Debug, Clone, Default)]
struct Marks {
    traces: (i64, Option<String>),
    steps: (i64, Option<String>),
    evals: (i64, Option<String>),
}

/// Pushes `source` into the database at `target`.
pub fn push(
    source: &SqliteStore,
    target: &PgTarget,
    mut options: PushOptions<'_>,
) -> Result<PushReport, PushError> {
    let location = Location::Server(target.to_string());
    let mut client = super::open_client(target, &location).map_err(PushError::Target)?;
    check_schema(&mut client, &location).map_err(PushError::Target)?;
    let mut progress = options.progress.take();
    let mut attempt = 0u32;
    loop {
        let mut push = Push {
            location: location.clone(),
            source,
            report: PushReport {
                incremental: false,
                dry_run: options.dry_run,
                traces: Moved::default(),
                steps: Moved::default(),
                evals: Moved::default(),
                left_out: Vec::new(),
            },
            progress: progress.as_deref_mut(),
            touched: FxHashSet::default(),
            clashing: None,
        };
        match push.run(&mut client, options.full, options.dry_run) {
            Ok(()) => return Ok(push.report),
            // Two pushes of stores that share traces lock the same keys in
            // their files' orders; the server ends one of them, which has
            // written nothing and goes again after the other.
            Err(PushError::Server {
                transient: true, ..
            }) if attempt < MAX_RETRIES => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(
                    25 * u64::from(attempt) + u64::from(std::process::id() % 50),
                ));
            }
            Err(err) => return Err(err),
        }
    }
}

/// Merges `push_facts` into `trace_facts`: a trace's decisions, scores
/// and usage replaced where they changed, for traces the database has.
fn facts_merge_sql() -> String {
    const COLUMNS: &[&str] = &[
        "source",
        "passes",
        "revises",
        "fallbacks",
        "last_seq",
        "last_order",
        "last_decision",
        "score_sum",
        "score_n",
        "score_names",
        "score_sums",
        "score_counts",
        "steps",
        "tokens",
        "latency_ms",
        "cost_usd",
    ];
    let list = COLUMNS.join(", ");
    let set: Vec<String> = COLUMNS
        .iter()
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect();
    let old: Vec<String> = COLUMNS.iter().map(|c| format!("trace_facts.{c}")).collect();
    let new: Vec<String> = COLUMNS.iter().map(|c| format!("EXCLUDED.{c}")).collect();
    // In key order, as every push writes facts: two pushes sharing traces
    // take their rows' locks in one order.
    format!(
        "INSERT INTO trace_facts (trace_id, {list}) SELECT p.trace_id, {list} FROM push_facts p \
         WHERE EXISTS (SELECT 1 FROM traces t WHERE t.trace_id = p.trace_id) ORDER BY p.trace_id \
         ON CONFLICT (trace_id) DO UPDATE SET {} WHERE ({}) IS DISTINCT FROM ({})",
        set.join(", "),
        old.join(", "),
        new.join(", ")
    )
}

/// Named score sums a push's facts query holds at once, about: the traces
/// asked for at once are this over the score names (plus a few).
const FACTS_AT_ONCE: usize = 4_000_000;

/// Times a push that lost a deadlock or a serialization conflict is tried
/// again.
const MAX_RETRIES: u32 = 8;

struct Push<'s, 'p, 'q> {
    location: Location,
    source: &'s SqliteStore,
    report: PushReport,
    progress: Option<&'p mut (dyn FnMut(Progress) + 'q)>,
    /// The traces (ids as the file has them) a row of which was sent:
    /// their facts are computed again.
    touched: FxHashSet<String>,
    /// The file's ids with a NUL that PostgreSQL's form of (the NUL as
    /// U+FFFD) is shared with another of its ids: read when the push meets
    /// its first NUL id, or why they could not be.
    clashing: Option<Result<FxHashSet<String>, StoreError>>,
}

/// Rows between progress reports.
const PROGRESS_EVERY: u64 = 10_000;

impl Push<'_, '_, '_> {
    fn server(&self, doing: &'static str) -> impl Fn(postgres::Error) -> PushError {
        let location = self.location.clone();
        move |err| PushError::Server {
            location: location.clone(),
            doing,
            cause: describe(&err),
            transient: matches!(
                err.code(),
                Some(&postgres::error::SqlState::T_R_DEADLOCK_DETECTED)
                    | Some(&postgres::error::SqlState::T_R_SERIALIZATION_FAILURE)
            ),
        }
    }

    fn run(&mut self, client: &mut Client, full: bool, dry_run: bool) -> Result<(), PushError> {
        let Some(first) = self.source.first_trace_key().map_err(PushError::Source)? else {
            return Ok(());
        };
        let source_id = hex_digest(&first);
        let mut tx = client.transaction().map_err(self.server("starting"))?;
        // Migrations wait for pushes; pushes run side by side.
        tx.execute(
            "SELECT pg_advisory_xact_lock_shared($1)",
            &[&MIGRATION_LOCK],
        )
        .map_err(self.server("starting"))?;
        let marks = if full {
            None
        } else {
            self.marks_that_hold(&mut tx, &source_id)?
        };
        self.report.incremental = marks.is_some();
        let marks = marks.unwrap_or_default();
        // The file's marks now, before any row is read: the push sends the
        // rows up to them and the next push those after, so a row a live
        // writer commits meanwhile is sent once, by the next push, and
        // never skipped (a mark read after the rows could pass over rows
        // committed between the two).
        let new_marks = self.current_marks()?;
        tx.batch_execute(STAGING_DDL)
            .map_err(self.server("making staging tables"))?;

        // Traces: those past the mark, and those the database has running.
        let mut running = Vec::new();
        if self.report.incremental {
            let rows = tx
                .query("SELECT trace_id FROM traces WHERE status = 'running'", &[])
                .map_err(self.server("reading running traces"))?;
            running = rows.iter().map(|r| r.get::<_, String>(0)).collect();
        }
        self.copy_traces(&mut tx, (marks.traces.0, new_marks.traces.0), &running)?;
        self.copy_steps(&mut tx, (marks.steps.0, new_marks.steps.0))?;
        self.copy_evals(&mut tx, (marks.evals.0, new_marks.evals.0))?;
        self.check_clashes()?;

        self.report.traces = Moved {
            sent: self.report.traces.sent,
            ..self.merge(&mut tx, MergeSql::Traces)?
        };
        self.report.steps = Moved {
            sent: self.report.steps.sent,
            ..self.merge(&mut tx, MergeSql::Steps)?
        };
        self.report.evals = Moved {
            sent: self.report.evals.sent,
            ..self.merge(&mut tx, MergeSql::Evals)?
        };
        self.write_facts(&mut tx)?;

        tx.execute(
            "INSERT INTO traceflow_push_sources (source_id, shown_as, traces_rowid, traces_anchor, \
             steps_rowid, steps_anchor, evals_rowid, evals_anchor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (source_id) DO UPDATE SET shown_as = EXCLUDED.shown_as, \
             traces_rowid = EXCLUDED.traces_rowid, traces_anchor = EXCLUDED.traces_anchor, \
             steps_rowid = EXCLUDED.steps_rowid, steps_anchor = EXCLUDED.steps_anchor, \
             evals_rowid = EXCLUDED.evals_rowid, evals_anchor = EXCLUDED.evals_anchor, pushed_at = now()",
            &[
                &source_id,
                &self.source.path().display().to_string(),
                &new_marks.traces.0,
                &new_marks.traces.1,
                &new_marks.steps.0,
                &new_marks.steps.1,
                &new_marks.evals.0,
                &new_marks.evals.1,
            ],
        )
        .map_err(self.server("recording the marks"))?;
        if dry_run {
            tx.rollback()
                .map_err(self.server("rolling back the dry run"))?;
        } else {
            tx.commit().map_err(self.server("committing"))?;
        }
        Ok(())
    }

    /// The marks the database keeps for this file, when the file still has
    /// each marked row at its rowid.
    fn marks_that_hold(
        &self,
        tx: &mut Transaction<'_>,
        source_id: &str,
    ) -> Result<Option<Marks>, PushError> {
        let row = tx
            .query_opt(
                "SELECT traces_rowid, traces_anchor, steps_rowid, steps_anchor, evals_rowid, \
                 evals_anchor FROM traceflow_push_sources WHERE source_id = $1 FOR UPDATE",
                &[&source_id],
            )
            .map_err(self.server("reading the marks"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let marks = Marks {
            traces: (row.get(0), row.get(1)),
            steps: (row.get(2), row.get(3)),
            evals: (row.get(4), row.get(5)),
        };
        for (table, (rowid, anchor)) in [
            ("traces", &marks.traces),
            ("trace_steps", &marks.steps),
            ("trace_evals", &marks.evals),
        ] {
            if *rowid == 0 {
                continue;
            }
            let key = self
                .source
                .row_key(table, *rowid)
                .map_err(PushError::Source)?;
            if key.as_ref() != anchor.as_ref() {
                return Ok(None);
            }
        }
        Ok(Some(marks))
    }

    /// Each table's highest rowid and the key there, for the next push.
    fn current_marks(&self) -> Result<Marks, PushError> {
        let mark = |table: &'static str| -> Result<(i64, Option<String>), PushError> {
            let rowid = self.source.last_rowid(table).map_err(PushError::Source)?;
            let key = self
                .source
                .row_key(table, rowid)
                .map_err(PushError::Source)?;
            Ok((rowid, key))
        };
        Ok(Marks {
            traces: mark("traces")?,
            steps: mark("trace_steps")?,
            evals: mark("trace_evals")?,
        })
    }

    /// Rows in a rowid span, at the most (for progress).
    fn span((after, upto): (i64, i64)) -> u64 {
        u64::try_from(upto.saturating_sub(after)).unwrap_or(0)
    }

    fn tick(&mut self, table: &'static str, rows: u64, total: u64) {
        if rows.is_multiple_of(PROGRESS_EVERY) || rows == total {
            if let Some(progress) = self.progress.as_mut() {
                progress(Progress { table, rows, total });
            }
        }
    }

    /// Keeps a row, or lists why not; a note comes along either way. A NUL
    /// character, which PostgreSQL's text and jsonb cannot hold (SQLite's
    /// can), is replaced and noted rather than failing the whole push.
    fn keep<T: Scrub>(&mut self, (row, note): Exported<T>) -> Option<T> {
        self.report.left_out.extend(note);
        match row {
            Ok(mut row) => {
                if row.trace_id().contains('\0') && self.clashes(row.trace_id()) {
                    self.report.left_out.push(row.issue(
                        "its trace id holds a NUL character, which PostgreSQL's text cannot hold, \
                         and with U+FFFD in its place it is another trace's id: kept out, not merged \
                         into that trace",
                    ));
                    return None;
                }
                if !self.touched.contains(row.trace_id()) {
                    self.touched.insert(row.trace_id().to_owned());
                }
                if row.scrub() {
                    self.report.left_out.push(row.issue(
                        "NUL characters replaced by U+FFFD (PostgreSQL's text cannot hold them)",
                    ));
                }
                match row.fit() {
                    Ok(None) => Some(row),
                    Ok(Some(note)) => {
                        self.report.left_out.push(row.issue(&note));
                        Some(row)
                    }
                    Err(why) => {
                        self.report.left_out.push(row.issue(&why));
                        None
                    }
                }
            }
            Err(issue) => {
                self.report.left_out.push(issue);
                None
            }
        }
    }

    /// Whether the file id `trace_id` (which holds a NUL) would become
    /// another of the file's ids on the server. The ids are read once, at
    /// the first NUL id; when they cannot be, every NUL id is kept out and
    /// the push fails after the stage ([`Self::check_clashes`]).
    fn clashes(&mut self, trace_id: &str) -> bool {
        let clashing = self.clashing.get_or_insert_with(|| {
            let ids = self.source.ids_with_nul_or_replacement()?;
            // The ids each server form stands for.
            let mut forms: FxHashMap<String, Vec<&String>> = FxHashMap::default();
            for id in &ids {
                forms
                    .entry(id.replace('\0', "\u{FFFD}"))
                    .or_default()
                    .push(id);
            }
            Ok(forms
                .into_values()
                .filter(|same| same.len() > 1)
                .flatten()
                .filter(|id| id.contains('\0'))
                .cloned()
                .collect())
        });
        clashing.as_ref().map_or(true, |ids| ids.contains(trace_id))
    }

    /// Fails the push if the file's ids could not be read to find NUL ids
    /// that clash.
    fn check_clashes(&mut self) -> Result<(), PushError> {
        match self.clashing.take() {
            Some(Err(err)) => Err(PushError::Source(err)),
            other => {
                self.clashing = other;
                Ok(())
            }
        }
    }

    /// Traces between the marks, then the ones the database has running
    /// that the file may have finished since.
    fn copy_traces(
        &mut self,
        tx: &mut Transaction<'_>,
        rows: (i64, i64),
        running: &[String],
    ) -> Result<(), PushError> {
        let total = Self::span(rows);
        self.report.traces.sent = self.stage::<ExportTrace>(tx, total, &mut |source, each| {
            if let Err(stopped) = source.export_traces(rows, each)? {
                return Ok(Err(stopped));
            }
            source.export_traces_by_id(running, &mut |row| {
                if matches!(&row.0, Ok(t) if t.rowid > rows.0 && t.rowid <= rows.1) {
                    // Sent above.
                    return Ok(());
                }
                each(row)
            })
        })?;
        Ok(())
    }

    fn copy_steps(&mut self, tx: &mut Transaction<'_>, rows: (i64, i64)) -> Result<(), PushError> {
        let total = Self::span(rows);
        self.report.steps.sent = self.stage::<ExportStep>(tx, total, &mut |source, each| {
            source.export_steps(rows, each)
        })?;
        Ok(())
    }

    fn copy_evals(&mut self, tx: &mut Transaction<'_>, rows: (i64, i64)) -> Result<(), PushError> {
        let total = Self::span(rows);
        self.report.evals.sent = self.stage::<ExportEval>(tx, total, &mut |source, each| {
            source.export_evals(rows, each)
        })?;
        Ok(())
    }

    /// Streams the rows `read` gives into `T`'s staging table with binary
    /// COPY, keeping out what cannot be used; the rows sent.
    fn stage<T: Staged>(
        &mut self,
        tx: &mut Transaction<'_>,
        total: u64,
        read: &mut StagedRead<'_, T>,
    ) -> Result<u64, PushError> {
        let sink = tx
            .copy_in(&format!("COPY {} FROM STDIN (FORMAT binary)", T::STAGING))
            .map_err(self.server(T::DOING))?;
        let mut writer = BinaryCopyInWriter::new(sink, T::TYPES);
        let mut sent = 0u64;
        let mut failed = None;
        let source = self.source;
        let result = read(source, &mut |exported| {
            let Some(row) = self.keep(exported) else {
                return Ok(());
            };
            row.write(&mut writer).map_err(|e| failed = Some(e))?;
            sent += 1;
            self.tick(T::TABLE, sent, total);
            Ok(())
        });
        finish_read(result, failed).map_err(|e| self.fail(T::DOING, e))?;
        writer.finish().map_err(self.server(T::DOING))?;
        Ok(sent)
    }

    fn fail(&self, doing: &'static str, err: ReadOrSend) -> PushError {
        match err {
            ReadOrSend::Read(err) => PushError::Source(err),
            ReadOrSend::Send(err) => (self.server(doing))(err),
        }
    }

    /// Merges a staging table into its shared one; the rows created and
    /// updated. A source that repeats a step's key is merged again with
    /// the later-written row of each key, the others listed.
    fn merge(&mut self, tx: &mut Transaction<'_>, which: MergeSql) -> Result<Moved, PushError> {
        let doing = which.doing();
        let first = if which == MergeSql::Traces && !self.source.unique_trace_ids() {
            self.list_repeats(tx, which)?;
            which.sql(true)
        } else {
            which.sql(false)
        };
        let mut savepoint = tx.transaction().map_err(self.server(doing))?;
        let merged = savepoint.query_one(first.as_str(), &[]);
        let row = match merged {
            Ok(row) => {
                savepoint.commit().map_err(self.server(doing))?;
                row
            }
            // 21000: a key twice in one merge (ON CONFLICT cannot update a
            // row twice): the source repeats it.
            Err(err) if err.code() == Some(&postgres::error::SqlState::CARDINALITY_VIOLATION) => {
                savepoint.rollback().map_err(self.server(doing))?;
                self.list_repeats(tx, which)?;
                tx.query_one(which.sql(true).as_str(), &[])
                    .map_err(self.server(doing))?
            }
            Err(err) => return Err((self.server(doing))(err)),
        };
        let count = |i: usize| u64::try_from(row.get::<_, i64>(i)).unwrap_or(0);
        Ok(Moved {
            sent: 0,
            created: count(0),
            updated: count(1),
        })
    }

    /// Writes the facts of every trace a row of which was sent, computed
    /// from the file by the rules its own analysis reads it by: the head's
    /// from the staged traces, the decisions', scores' and usage's from a
    /// facts query on the file (in parts, so that a store with many score
    /// names holds a bounded number of traces' facts at once).
    fn write_facts(&mut self, tx: &mut Transaction<'_>) -> Result<(), PushError> {
        tx.batch_execute(
            "INSERT INTO trace_facts (trace_id, created_nsec, input, config) \
             SELECT DISTINCT ON (trace_id) trace_id, created_nsec, input, config_facts \
             FROM push_traces ORDER BY trace_id, src_rowid \
             ON CONFLICT (trace_id) DO UPDATE SET created_nsec = EXCLUDED.created_nsec, \
             input = EXCLUDED.input, config = EXCLUDED.config \
             WHERE (trace_facts.created_nsec, trace_facts.input, trace_facts.config) \
             IS DISTINCT FROM (EXCLUDED.created_nsec, EXCLUDED.input, EXCLUDED.config)",
        )
        .map_err(self.server("writing the traces' facts"))?;
        if self.touched.is_empty() {
            return Ok(());
        }
        let names = self.source.score_names().map_err(PushError::Source)?;
        let mut ids: Vec<&str> = self.touched.iter().map(String::as_str).collect();
        ids.sort_unstable();
        let part = (FACTS_AT_ONCE / (names.len() + 4)).clamp(1_000, 1_000_000);
        let sink = tx
            .copy_in("COPY push_facts FROM STDIN (FORMAT binary)")
            .map_err(self.server("sending the traces' facts"))?;
        let mut writer = BinaryCopyInWriter::new(sink, FACT_TYPES);
        for ids in ids.chunks(part) {
            let facts = self
                .source
                .trace_facts(&crate::store::FactsQuery {
                    traces: ids,
                    score_names: &names,
                    usage: true,
                })
                .map_err(PushError::Source)?;
            for (id, facts) in ids.iter().zip(&facts.rows) {
                let mut key = (*id).to_owned();
                rows::scrub_text(&mut key);
                write_facts(&mut writer, &key, facts, &names)
                    .map_err(self.server("sending the traces' facts"))?;
            }
        }
        writer
            .finish()
            .map_err(self.server("sending the traces' facts"))?;
        tx.batch_execute(&facts_merge_sql())
            .map_err(self.server("writing the traces' facts"))?;
        Ok(())
    }

    /// Lists the staged rows a merge leaves out because their key repeats.
    fn list_repeats(&mut self, tx: &mut Transaction<'_>, which: MergeSql) -> Result<(), PushError> {
        let rows = tx
            .query(which.repeats_sql(), &[])
            .map_err(self.server(which.doing()))?;
        for row in rows {
            let rowid: i64 = row.get(0);
            let trace_id: String = row.get(1);
            let kept: i64 = row.get(2);
            self.report.left_out.push(RowIssue {
                at: crate::store::Locator::Row {
                    table: which.table(),
                    rowid,
                },
                trace_id: Some(trace_id),
                reason: format!("{} (row {kept} is kept)", which.repeat_reason()),
            });
        }
        Ok(())
    }
}

/// Reading the file, or sending to the server, failed.
enum ReadOrSend {
    Read(StoreError),
    Send(postgres::Error),
}

fn finish_read(
    read: Result<Result<(), ()>, StoreError>,
    failed: Option<postgres::Error>,
) -> Result<(), ReadOrSend> {
    match read {
        Err(err) => Err(ReadOrSend::Read(err)),
        Ok(_) => match failed {
            Some(err) => Err(ReadOrSend::Send(err)),
            None => Ok(()),
        },
    }
}

fn hex_digest(text: &str) -> String {
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}
