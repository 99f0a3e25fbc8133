//! `traceflow db init` and `traceflow db migrate`: a team database's schema.

use std::path::Path;

use traceflow::store::postgres::{self, Migration};
use traceflow::store::{PgTarget, StoreSpec};

use crate::args::DbCommand;
use crate::exit_codes;

pub(super) fn run(command: &DbCommand) -> anyhow::Result<u8> {
    let (args, migrated) = match command {
        DbCommand::Init(args) => (args, postgres::init as fn(&PgTarget) -> _),
        DbCommand::Migrate(args) => (args, postgres::migrate as fn(&PgTarget) -> _),
    };
    let target = postgres_target(&args.db, args.from_env, "a schema")?;
    let Migration { from, to } = crate::args::named_by_env(migrated(&target), args.from_env)?;
    let line = if from == to {
        format!("{target}: traceflow's schema is at version {to}; nothing to do")
    } else if from == 0 {
        format!("{target}: created traceflow's schema, version {to}")
    } else {
        format!("{target}: moved traceflow's schema from version {from} to {to}")
    };
    super::print(&format!("{line}\n"))?;
    Ok(exit_codes::SUCCESS)
}

/// A `--db`/`--to` that must name a PostgreSQL database.
/// `from_env`: it came from `$TRACEFLOW_DB`, which an error says.
pub(super) fn postgres_target(spec: &Path, from_env: bool, what: &str) -> anyhow::Result<PgTarget> {
    let not_postgres = |path: &Path| {
        anyhow::anyhow!(
            "{}: not a PostgreSQL database; {what} needs a postgres:// URL or a key=value \
             string such as \"host=... dbname=...\"",
            path.display()
        )
    };
    let target = match crate::args::named_by_env(StoreSpec::parse(spec.as_os_str()), from_env)? {
        StoreSpec::Postgres(target) => Ok(*target),
        StoreSpec::File(path) => Err(not_postgres(&path)),
    };
    target.map_err(|err| {
        if from_env {
            err.context("$TRACEFLOW_DB")
        } else {
            err
        }
    })
}
