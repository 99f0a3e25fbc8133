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
    let target = postgres_target(&args.db, "a schema")?;
    let Migration { from, to } = migrated(&target)?;
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
pub(super) fn postgres_target(spec: &Path, what: &str) -> anyhow::Result<PgTarget> {
    match StoreSpec::parse(spec.as_os_str())? {
        StoreSpec::Postgres(target) => Ok(*target),
        StoreSpec::File(path) => anyhow::bail!(
            "{}: not a PostgreSQL database; {what} needs a postgres:// URL or a key=value \
             string such as \"host=... dbname=...\"",
            path.display()
        ),
    }
}
