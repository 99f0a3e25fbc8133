//! Errors in one line: a server error with its SQLSTATE's meaning, an OS
//! error in a few words, a client error with its causes.

use std::error::Error as StdError;
use std::io;

use postgres::error::DbError;

/// What a SQLSTATE means, in a few words: the code's own meaning, else its
/// class's.
pub(super) fn sqlstate_meaning(code: &str) -> &'static str {
    match code {
        "08000" => "connection exception",
        "08003" => "connection does not exist",
        "08006" => "connection failure",
        "08001" => "client unable to establish connection",
        "08004" => "server rejected the connection",
        "0A000" => "feature not supported",
        "22001" => "value too long",
        "22003" => "numeric value out of range",
        "22012" => "division by zero",
        "22P02" => "invalid text representation",
        "23502" => "not-null violation",
        "23503" => "foreign key violation",
        "23505" => "unique violation",
        "25006" => "read-only transaction",
        "25P02" => "transaction aborted",
        "28000" => "invalid authorization",
        "28P01" => "invalid password",
        "3D000" => "database does not exist",
        "3F000" => "schema does not exist",
        "40001" => "serialization failure",
        "40P01" => "deadlock detected",
        "42501" => "insufficient privilege",
        "42601" => "syntax error",
        "42703" => "undefined column",
        "42883" => "undefined function",
        "42P01" => "undefined table",
        "42P07" => "table already exists",
        "53100" => "disk full",
        "53200" => "out of memory",
        "53300" => "too many connections",
        "55P03" => "lock not available",
        "57014" => "query canceled",
        "57P01" => "server shutting down",
        "57P02" => "server crashed",
        "57P03" => "server not accepting connections yet",
        "58030" => "server I/O error",
        "XX000" => "internal error",
        "XX001" => "data corrupted",
        _ => match code.get(..2).unwrap_or("") {
            "08" => "connection exception",
            "0A" => "feature not supported",
            "22" => "data exception",
            "23" => "integrity constraint violation",
            "25" => "invalid transaction state",
            "28" => "invalid authorization",
            "40" => "transaction rolled back",
            "42" => "syntax error or access rule violation",
            "53" => "insufficient resources",
            "54" => "program limit exceeded",
            "55" => "object not in prerequisite state",
            "57" => "operator intervention",
            "58" => "system error",
            "XX" => "internal error",
            _ => "server error",
        },
    }
}

pub(super) fn describe_db(db: &DbError) -> String {
    let code = db.code().code();
    format!(
        "{} ({}, SQLSTATE {code})",
        db.message(),
        sqlstate_meaning(code)
    )
}

/// A one-line cause for an error from a query on a connected client: the
/// server's message with its SQLSTATE's meaning (`permission denied for
/// table traces (insufficient privilege, SQLSTATE 42501)`), that the
/// connection is closed, or the client's error with its causes. It never
/// includes a password: none is part of a query's error.
pub fn describe(err: &postgres::Error) -> String {
    if let Some(db) = err.as_db_error() {
        return describe_db(db);
    }
    if err.is_closed() {
        return "the connection to the server is closed".to_owned();
    }
    error_chain(err)
}

/// An OS error in a few lowercase words.
pub(super) fn io_cause(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        io::ErrorKind::HostUnreachable => "no route to host".to_owned(),
        io::ErrorKind::NetworkUnreachable => "network unreachable".to_owned(),
        io::ErrorKind::ConnectionReset => "connection reset by the server".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        io::ErrorKind::AddrNotAvailable => "address not available".to_owned(),
        _ => {
            let text = err.to_string();
            match text.find(" (os error") {
                Some(cut) => text[..cut].to_owned(),
                None => text,
            }
        }
    }
}

/// An error and its causes, joined by `: `.
fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(cause) = next {
        let more = cause.to_string();
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        next = cause.source();
    }
    text
}
