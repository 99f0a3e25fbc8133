//! The `traceflow` command as a library function, so that every front end
//! runs one implementation: the binary (`src/main.rs`) and the Python
//! package's `python -m traceflow` call [`run`] with their arguments.
//! Everything the command does lives in the `traceflow` library; this crate
//! parses arguments, prints, and picks the exit code.

mod args;
mod commands;
mod exit_codes;
pub mod out_of_memory;
mod progress;
mod serve;
mod watch;

use std::ffi::OsString;

/// Runs the command line `args` (the program's name first, as
/// [`std::env::args_os`] gives it), printing to this process's stdout and
/// stderr, and returns the exit code (documented in `traceflow --help`): 0
/// done, 1 a regression, 2 an error or a bad argument, 3 too little data
/// for `gate --require-data`. `--help` and `--version` print and return 0.
pub fn run<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let parsed = <args::Cli as clap::CommandFactory>::command()
        .try_get_matches_from(args)
        .and_then(|matches| {
            let mut cli = <args::Cli as clap::FromArgMatches>::from_arg_matches(&matches)?;
            cli.mark_env(&matches);
            Ok(cli)
        });
    match parsed {
        Ok(cli) => commands::run(cli),
        Err(err) => {
            // Help and version go to stdout, usage errors to stderr; a
            // closed stream loses the text but not the code.
            let _ = err.print();
            u8::try_from(err.exit_code()).unwrap_or(exit_codes::ERROR)
        }
    }
}
