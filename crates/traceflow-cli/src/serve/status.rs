//! Failures as HTTP answers: one status per kind of failure (an exhaustive
//! match, as the exit codes are chosen), a JSON body with the one-line
//! cause, and the headers every answer carries.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use traceflow::error::{kind_of, ErrorKind};

use crate::commands::show::NoSuchTrace;

/// The status of each kind of failure.
pub(crate) fn for_kind(kind: ErrorKind) -> StatusCode {
    match kind {
        // The store the server reads is gone: not the client's doing.
        ErrorKind::NotFound => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
        ErrorKind::NotEnoughData => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Store | ErrorKind::Io => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorKind::Connection => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The kind's name in an error body.
fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::NotFound => "store_not_found",
        ErrorKind::InvalidInput => "invalid_input",
        ErrorKind::NotEnoughData => "not_enough_data",
        ErrorKind::Store => "store",
        ErrorKind::Connection => "connection",
        ErrorKind::Io => "io",
    }
}

/// The answer to a command that failed: by its library error's kind; a
/// trace that is not there is a 404; an error of the command's own (an
/// option's value) a 400.
pub(crate) fn failure(err: &anyhow::Error) -> Response {
    let line = crate::commands::one_line(err);
    if err.downcast_ref::<NoSuchTrace>().is_some() {
        return error_response(StatusCode::NOT_FOUND, "not_found", &line);
    }
    let cause: &(dyn std::error::Error + 'static) = err.as_ref();
    match kind_of(cause) {
        Some(kind) => error_response(for_kind(kind), kind_name(kind), &line),
        None => error_response(StatusCode::BAD_REQUEST, "invalid_input", &line),
    }
}

/// `{"error": "...", "kind": "..."}` with `status`.
pub(crate) fn error_response(status: StatusCode, kind: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": message, "kind": kind }).to_string();
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    secure(headers);
    response
}

/// The headers every answer carries: no script, nothing fetched, no
/// framing, no sniffing (the pages are the self-contained HTML reports).
pub(crate) fn secure(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_status() {
        assert_eq!(for_kind(ErrorKind::InvalidInput), StatusCode::BAD_REQUEST);
        assert_eq!(
            for_kind(ErrorKind::NotEnoughData),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            for_kind(ErrorKind::Connection),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
