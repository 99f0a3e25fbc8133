//! A team's shared store on a PostgreSQL server.
//!
//! The same three tables as TraceFlow Lite's file, in PostgreSQL's types
//! ([`schema`]), filled by `traceflow push` ([`push`]) from the files that
//! eval jobs and agent hosts write. An analysis asks the same facts seam
//! as of a file ([`FactsStore`](crate::store::FactsStore)): each trace's
//! facts, computed by the push with the file's own reading rules and kept
//! beside the raw rows (`trace_facts`), one row per trace, never a step. Connections follow libpq's conventions ([`connect`]).
//!
//! A store opened for reading holds one `REPEATABLE READ READ ONLY`
//! transaction for its life: every question an analysis asks sees the same
//! snapshot while pushes commit beside it, and a role with only `SELECT`
//! can run every reading command.

use std::cell::RefCell;

use postgres::Client;

use super::{Location, StoreError};

pub mod connect;
mod facts;
// It reads TraceFlow Lite's files: with the `sqlite` feature only.
#[cfg(feature = "sqlite")]
pub mod push;
mod records;
pub mod schema;
mod tls;

pub use connect::{ConnectError, PgTarget};
pub use facts::{facts_sql, heads_sql};
pub use schema::{Migration, MigrationError, SchemaState, SCHEMA_VERSION};

/// A traceflow database on a PostgreSQL server.
pub struct PostgresStore {
    client: RefCell<Client>,
    location: Location,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects for analysis: checks the schema, creates nothing, and reads
    /// one snapshot.
    pub fn open_read_only(target: &PgTarget) -> Result<Self, StoreError> {
        let location = Location::Server(target.to_string());
        let mut client = open_client(target, &location)?;
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .map_err(server_error(&location, "the schema"))?;
        check_schema(&mut client, &location)?;
        Ok(PostgresStore {
            client: RefCell::new(client),
            location,
        })
    }

    /// Where the store is, as messages name it (no password).
    pub fn location(&self) -> &Location {
        &self.location
    }
}

/// Creates traceflow's schema on an empty database (`traceflow db init`),
/// or says that one is there; an older schema is left to [`migrate`].
pub fn init(target: &PgTarget) -> Result<Migration, StoreError> {
    run_migration(target, false)
}

/// Moves an older schema forward (`traceflow db migrate`).
pub fn migrate(target: &PgTarget) -> Result<Migration, StoreError> {
    run_migration(target, true)
}

fn run_migration(target: &PgTarget, only_existing: bool) -> Result<Migration, StoreError> {
    let location = Location::Server(target.to_string());
    let mut client = open_client(target, &location)?;
    schema::migrate(&mut client, only_existing).map_err(|source| StoreError::Schema {
        location,
        source: source.into(),
    })
}

/// Connects to `target`, whose [`Location`] a failure names.
fn open_client(target: &PgTarget, location: &Location) -> Result<Client, StoreError> {
    target.connect().map_err(|source| StoreError::Connect {
        location: location.clone(),
        source: source.into(),
    })
}

/// A database a reading command can use: at this build's schema version.
fn check_schema(client: &mut Client, location: &Location) -> Result<(), StoreError> {
    let state = schema::state(client).map_err(server_error(location, "the schema"))?;
    let problem = match state {
        SchemaState::At(SCHEMA_VERSION) => return Ok(()),
        SchemaState::Missing => MigrationError::Missing,
        SchemaState::At(found) if found > SCHEMA_VERSION => MigrationError::Newer { found },
        SchemaState::At(found) => MigrationError::NeedsMigrate { found },
    };
    Err(StoreError::Schema {
        location: location.clone(),
        source: problem.into(),
    })
}

/// A server's error on a table, as a store error with a one-line cause.
fn server_error<'a>(
    location: &'a Location,
    table: &'static str,
) -> impl Fn(postgres::Error) -> StoreError + 'a {
    move |err| StoreError::Read {
        location: location.clone(),
        table,
        source: connect::describe(&err).into(),
    }
}

/// An instant as PostgreSQL's `timestamptz` holds it: microseconds since
/// 2000-01-01 UTC (finer parts truncated toward the past).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PgTime(pub(crate) jiff::Timestamp);

/// Microseconds from the Unix epoch to PostgreSQL's, 2000-01-01 UTC.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

impl postgres::types::ToSql for PgTime {
    fn to_sql(
        &self,
        _: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let micros = i64::try_from(self.0.as_nanosecond().div_euclid(1000))?;
        bytes::BufMut::put_i64(out, micros - PG_EPOCH_MICROS);
        Ok(postgres::types::IsNull::No)
    }

    postgres::types::accepts!(TIMESTAMPTZ);
    postgres::types::to_sql_checked!();
}

impl<'a> postgres::types::FromSql<'a> for PgTime {
    fn from_sql(
        _: &postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let bytes: [u8; 8] = raw.try_into()?;
        let micros = i64::from_be_bytes(bytes).saturating_add(PG_EPOCH_MICROS);
        Ok(PgTime(jiff::Timestamp::from_microsecond(micros)?))
    }

    postgres::types::accepts!(TIMESTAMPTZ);
}
