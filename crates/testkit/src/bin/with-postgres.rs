//! Runs a command against a throwaway PostgreSQL cluster, for benchmarks
//! and trying things by hand; the cluster is removed when the command ends.
//!
//! ```sh
//! cargo run --release -p traceflow-testkit --bin with-postgres -- python3 bench/postgres.py ...
//! ```
//!
//! The command gets `TRACEFLOW_TEST_PG` (a role that may create databases
//! and roles), `TRACEFLOW_TEST_PG_ADMIN` (the cluster's superuser), and
//! `TRACEFLOW_TEST_PG_CA` / `TRACEFLOW_TEST_PG_OTHER_CA` (PEM files). The
//! cluster writes durably, as a real server does.

use std::process::{Command, ExitCode};

use traceflow_testkit::pg::{start, Durability};

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let Some((program, rest)) = args.split_first() else {
        eprintln!("usage: with-postgres COMMAND [ARG...]");
        return ExitCode::from(2);
    };
    let server = match start(Durability::On) {
        Ok(server) => server,
        Err(why) => {
            eprintln!("error: {why}");
            return ExitCode::from(2);
        }
    };
    let mut command = Command::new(program);
    command
        .args(rest)
        .env("TRACEFLOW_TEST_PG", &server.url)
        .env("TRACEFLOW_TEST_PG_CA", &server.ca)
        .env("TRACEFLOW_TEST_PG_OTHER_CA", &server.other_ca);
    if let Some(admin) = &server.admin_url {
        command.env("TRACEFLOW_TEST_PG_ADMIN", admin);
    }
    match command.status() {
        Ok(status) => ExitCode::from(status.code().map_or(1, |c| c.clamp(0, 255) as u8)),
        Err(e) => {
            eprintln!("error: cannot run {}: {e}", program.to_string_lossy());
            ExitCode::from(2)
        }
    }
}
