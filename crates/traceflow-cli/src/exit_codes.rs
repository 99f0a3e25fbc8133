//! Exit codes: a contract with CI pipelines and scripts.
//!
//! Chosen by an exhaustive match on the library's kinds of failure
//! ([`ErrorKind`]), so a new kind has to pick one.

use traceflow::error::{kind_of, ErrorKind};

/// The command did what was asked; for `gate`, no regression.
pub const SUCCESS: u8 = 0;

/// `gate` and `compare` only: the trend (the candidate) is a regression.
pub const REGRESSION: u8 = 1;

/// `gate --require-data` only: too little data to judge (the verdict
/// "insufficient data"). Without `--require-data` that verdict exits 0.
pub const INSUFFICIENT_DATA: u8 = 3;

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
        | ErrorKind::Connection => ERROR,
    }
}
