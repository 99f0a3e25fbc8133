//! Exit codes: a contract with CI pipelines and scripts.
//!
//! Chosen by an exhaustive match on the library's kinds of failure
//! ([`ErrorKind`]), so a new kind has to pick one.

use traceflow::error::{kind_of, ErrorKind};

use traceflow::trend::gate::exit_code;

/// The command did what was asked; for `gate`, no regression.
/// `gate` and `compare` exit 1 on a regression and 3 on too little data
/// under `--require-data`: the gate's codes, the library's
/// ([`exit_code`]), which the Python package reports too.
pub const SUCCESS: u8 = exit_code::PASS;

/// Nothing was judged (or pushed): a missing or unreadable store, a file
/// that is not a TraceFlow store, a database that cannot be reached, lacks
/// the schema or refuses (nothing is half-written), too few traces, bad
/// arguments (clap uses 2 as well).
pub const ERROR: u8 = 2;

/// The exit code for an error that ended a command: by the kind of the
/// library error behind it; an error of the command's own (an argument, a
/// report's file) is [`ERROR`].
pub fn for_error(err: &anyhow::Error) -> u8 {
    let cause: &(dyn std::error::Error + 'static) = err.as_ref();
    kind_of(cause).map_or(ERROR, for_kind)
}

/// The exit code of each kind of failure: nothing was judged.
pub fn for_kind(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::NotFound
        | ErrorKind::InvalidInput
        | ErrorKind::NotEnoughData
        | ErrorKind::Store
        | ErrorKind::Connection
        | ErrorKind::Io => ERROR,
    }
}
