//! The `traceflow` command. Everything it does lives in the `traceflow`
//! library; this crate parses arguments, prints, and picks the exit code.

mod args;
mod commands;
mod exit_codes;
mod output;

fn main() -> std::process::ExitCode {
    commands::run(<args::Cli as clap::Parser>::parse())
}
