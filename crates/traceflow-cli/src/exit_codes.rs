//! Exit codes: a contract with CI pipelines and scripts.
//!
//! Chosen by an exhaustive match on the error, so a new error variant has to
//! pick one.

use traceflow::cases::CaseError;
use traceflow::compare::CompareError;
use traceflow::store::postgres::push::PushError;
use traceflow::store::{ConnectError, StoreError};
use traceflow::trend::TrendError;

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

/// The exit code for an error that ended a command.
pub fn for_error(err: &anyhow::Error) -> u8 {
    if let Some(err) = err.downcast_ref::<TrendError>() {
        return for_trend_error(err);
    }
    if let Some(err) = err.downcast_ref::<CaseError>() {
        return match err {
            CaseError::Trend(err) => for_trend_error(err),
            CaseError::InvalidFdr(_) | CaseError::SplitOutside { .. } => ERROR,
        };
    }
    if let Some(err) = err.downcast_ref::<CompareError>() {
        return match err {
            CompareError::Trend(err) => for_trend_error(err),
            CompareError::Empty { .. } | CompareError::Overlap { .. } => ERROR,
        };
    }
    if let Some(err) = err.downcast_ref::<StoreError>() {
        return for_store_error(err);
    }
    if let Some(err) = err.downcast_ref::<PushError>() {
        return match err {
            PushError::Source(err) | PushError::Target(err) => for_store_error(err),
            PushError::Server { .. } => ERROR,
        };
    }
    if err.downcast_ref::<ConnectError>().is_some() {
        return ERROR;
    }
    ERROR
}

fn for_trend_error(err: &TrendError) -> u8 {
    match err {
        TrendError::Store(err) => for_store_error(err),
        TrendError::TooFewTraces { .. }
        | TrendError::WindowTooSmall(_)
        | TrendError::InvalidThreshold(_)
        | TrendError::Options(_)
        | TrendError::EmptyTimeRange { .. }
        | TrendError::NoMetric
        | TrendError::TooManySegments { .. }
        | TrendError::UnknownConfigKey { .. }
        | TrendError::UnknownScore { .. } => ERROR,
    }
}

fn for_store_error(err: &StoreError) -> u8 {
    match err {
        StoreError::NotFound { .. }
        | StoreError::NotAFile { .. }
        | StoreError::Open { .. }
        | StoreError::NotSqlite { .. }
        | StoreError::NotTraceflowStore { .. }
        | StoreError::Read { .. }
        | StoreError::ReaderPanicked { .. }
        | StoreError::Write { .. }
        | StoreError::ReadOnly { .. }
        | StoreError::NoSuchTrace { .. }
        | StoreError::BadRow { .. }
        | StoreError::Connect { .. }
        | StoreError::Schema { .. } => ERROR,
    }
}
