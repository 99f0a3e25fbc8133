//! The team database's schema: TraceFlow Lite's three tables in
//! PostgreSQL's types, the keys that make a push idempotent, the indexes
//! the analysis and the push ask for, and a version that migrations move
//! forward.
//!
//! Versions are applied in order, each in the transaction that records it,
//! under an advisory lock, so two `db migrate`s (or a `db init` racing a
//! push) cannot interleave.

use postgres::{Client, GenericClient};

/// The schema this build reads and writes.
pub const SCHEMA_VERSION: i32 = 2;

/// The table that records the schema's version (one row).
pub(super) const VERSION_TABLE: &str = "traceflow_schema";

/// The advisory lock key migrations and pushes take (any fixed number:
/// "tflw" in ASCII).
pub(super) const MIGRATION_LOCK: i64 = 0x7466_6c77;

/// Each version's DDL, by version; version `n` is `MIGRATIONS[n - 1]`.
const MIGRATIONS: &[&str] = &[
    // 1: TraceFlow Lite's tables. A trace's `seq` is its insertion order in
    // this database (ties between equal start times break on it, as on
    // SQLite's rowid). Steps and verdicts are keyed by `(trace_id,
    // step_seq)`, the identity a push writes by. There are no foreign keys:
    // TraceFlow Lite's cascade is for deletes, which traceflow never does,
    // and a step is never read without its trace.
    "
    CREATE TABLE traces (
        seq bigint GENERATED ALWAYS AS IDENTITY,
        trace_id text PRIMARY KEY,
        status text NOT NULL CHECK (status IN ('running', 'done', 'failed')),
        mode text NOT NULL,
        user_input text NOT NULL,
        config_json jsonb,
        model text NOT NULL,
        provider text NOT NULL,
        final_answer text,
        error text,
        created_at timestamptz NOT NULL,
        finished_at timestamptz,
        updated_db_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX traces_seq ON traces (seq);
    CREATE INDEX traces_created_at ON traces (created_at);
    CREATE INDEX traces_running ON traces (trace_id) WHERE status = 'running';
    CREATE TABLE trace_steps (
        step_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        trace_id text NOT NULL,
        step_seq bigint NOT NULL,
        node_name text NOT NULL,
        input_json jsonb,
        output_json jsonb,
        tokens bigint NOT NULL DEFAULT 0,
        latency_ms double precision NOT NULL DEFAULT 0,
        cost_usd double precision NOT NULL DEFAULT 0,
        error text,
        cache_hit boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL,
        updated_db_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (trace_id, step_seq)
    );
    CREATE TABLE trace_evals (
        eval_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        trace_id text NOT NULL,
        step_seq bigint NOT NULL,
        decision text NOT NULL CHECK (decision IN ('pass', 'revise', 'fallback')),
        reasons_json jsonb,
        scores_json jsonb,
        revision_instructions text,
        created_at timestamptz NOT NULL,
        updated_db_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (trace_id, step_seq)
    );
    CREATE TABLE traceflow_push_sources (
        source_id text PRIMARY KEY,
        shown_as text NOT NULL,
        traces_rowid bigint NOT NULL,
        traces_anchor text,
        steps_rowid bigint NOT NULL,
        steps_anchor text,
        evals_rowid bigint NOT NULL,
        evals_anchor text,
        pushed_at timestamptz NOT NULL DEFAULT now()
    );
    ",
    // 2: each trace's facts, computed at push by the file's own reading
    // rules (the same code that reads the file), so the database's
    // analyses give the file's answer: the head's parts the raw columns
    // cannot say exactly (the start's nanoseconds below the microsecond,
    // the input as a case's identity, each config key's value as runs are
    // keyed on it) and the trace's decisions, scores and usage added up.
    // Named scores are parallel arrays (name, sum, count of finite values),
    // sums in double precision as the file adds them (an overflow is
    // infinity, never an error). Traces already there get facts from the
    // version-1 SQL rules (see `fill_facts`); `push --full` recomputes them.
    "
    CREATE TABLE trace_facts (
        trace_id text PRIMARY KEY,
        created_nsec integer NOT NULL DEFAULT 0,
        input text,
        config jsonb,
        source smallint NOT NULL DEFAULT 2,
        passes integer NOT NULL DEFAULT 0,
        revises integer NOT NULL DEFAULT 0,
        fallbacks integer NOT NULL DEFAULT 0,
        last_seq bigint,
        last_order bigint,
        last_decision smallint,
        score_sum double precision NOT NULL DEFAULT 0,
        score_n bigint NOT NULL DEFAULT 0,
        score_names text[] NOT NULL DEFAULT '{}',
        score_sums double precision[] NOT NULL DEFAULT '{}',
        score_counts integer[] NOT NULL DEFAULT '{}',
        steps integer,
        tokens double precision,
        latency_ms double precision,
        cost_usd double precision
    );
    ",
];

/// What a database holds, as far as traceflow's schema goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaState {
    /// No traceflow tables at all.
    Missing,
    /// The schema at this version.
    At(i32),
}

/// Reads the schema's version without creating anything.
pub(super) fn state(client: &mut impl GenericClient) -> Result<SchemaState, postgres::Error> {
    let exists: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&VERSION_TABLE])?
        .get(0);
    if !exists {
        return Ok(SchemaState::Missing);
    }
    let row = client.query_opt(&format!("SELECT max(version) FROM {VERSION_TABLE}"), &[])?;
    Ok(SchemaState::At(
        row.and_then(|r| r.get::<_, Option<i32>>(0)).unwrap_or(0),
    ))
}

/// What `init` or `migrate` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// The version found (0 when there was no schema).
    pub from: i32,
    /// The version now.
    pub to: i32,
}

/// Why the schema could not be moved.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// `init` on a database with an older schema: `migrate` moves it.
    #[error("the database has traceflow's schema version {found}; run `traceflow db migrate` to move it to {SCHEMA_VERSION}")]
    NeedsMigrate {
        /// The version found.
        found: i32,
    },
    /// The schema is newer than this build knows.
    #[error("the database has traceflow's schema version {found}, newer than this traceflow ({SCHEMA_VERSION}); upgrade traceflow")]
    Newer {
        /// The version found.
        found: i32,
    },
    /// `migrate` on a database without a schema.
    #[error("the database has no traceflow tables; run `traceflow db init` first")]
    Missing,
    /// The server refused a statement.
    #[error("{0}")]
    Server(String),
}

/// Creates the schema when there is none (`db init`), or moves an older
/// one forward (`db migrate`, `only_existing`). A schema already at this
/// version is left as it is.
pub(super) fn migrate(
    client: &mut Client,
    only_existing: bool,
) -> Result<Migration, MigrationError> {
    let server = |e: postgres::Error| MigrationError::Server(super::connect::describe(&e));
    let mut tx = client.transaction().map_err(server)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(server)?;
    let from = match state(&mut tx).map_err(server)? {
        SchemaState::Missing if only_existing => return Err(MigrationError::Missing),
        SchemaState::Missing => {
            tx.batch_execute(&format!(
                "CREATE TABLE {VERSION_TABLE} (version integer NOT NULL, \
                 migrated_at timestamptz NOT NULL DEFAULT now())"
            ))
            .map_err(server)?;
            0
        }
        SchemaState::At(found) if found > SCHEMA_VERSION => {
            return Err(MigrationError::Newer { found })
        }
        SchemaState::At(found) if found < SCHEMA_VERSION && !only_existing => {
            return Err(MigrationError::NeedsMigrate { found })
        }
        SchemaState::At(found) => found,
    };
    for (version, ddl) in (1..)
        .zip(MIGRATIONS)
        .skip(usize::try_from(from).unwrap_or(0))
    {
        tx.batch_execute(ddl).map_err(server)?;
        if version == 2 {
            super::facts::fill_facts(&mut tx).map_err(server)?;
        }
        tx.execute(
            &format!("INSERT INTO {VERSION_TABLE} (version) VALUES ($1)"),
            &[&version],
        )
        .map_err(server)?;
    }
    tx.commit().map_err(server)?;
    Ok(Migration {
        from,
        to: SCHEMA_VERSION,
    })
}
