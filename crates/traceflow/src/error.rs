//! What kind of failure an error is, for every front end.
//!
//! Each module has its own error enum ([`StoreError`], [`WindowError`],
//! [`TrendError`], ...), worded for a reader and carrying its context.
//! Front ends do not match their variants: they ask each for its
//! [`ErrorKind`] and map the kind once — the command to an exit code, the
//! Python package to an exception class, a server to an HTTP status. The
//! match over the kinds is exhaustive, so a new kind must be given a
//! place in each.
//!
//! [`StoreError`]: crate::store::StoreError
//! [`WindowError`]: crate::window::WindowError
//! [`TrendError`]: crate::trend::TrendError

use serde::Serialize;

use crate::window::WindowError;

/// What kind of failure an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The store does not exist: no file at the path, no such database.
    NotFound,
    /// What was asked cannot be answered as asked: an option out of
    /// range, a key or score no trace has, selectors that overlap, a split
    /// outside the window, a store address that does not parse.
    InvalidInput,
    /// Too little data for what was asked (too few traces for a slope).
    NotEnoughData,
    /// The store could not be opened, read or written, or is not a
    /// TraceFlow store.
    Store,
    /// The database server could not be reached, or refused the
    /// connection (authentication, TLS).
    Connection,
    /// The system refused a file other than the store (a report's: no
    /// such directory, no permission, a full disk).
    Io,
}

impl ErrorKind {
    /// Whether an error of this kind names the store or file it is about
    /// already (a front end adds the store's name to the others).
    pub fn names_the_store(self) -> bool {
        match self {
            ErrorKind::NotFound | ErrorKind::Store | ErrorKind::Connection | ErrorKind::Io => true,
            ErrorKind::InvalidInput | ErrorKind::NotEnoughData => false,
        }
    }
}

/// A value given as text for an option that does not parse, with what was
/// expected. Worded without the option's name: a front end adds its own
/// (`--window`, `window=`, a query parameter).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(String);

impl InvalidValue {
    /// What was wrong, and what was expected.
    pub fn new(message: impl Into<String>) -> Self {
        InvalidValue(message.into())
    }

    /// The caller's to fix.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidInput
    }
}

/// An error and its causes on one line, each said once: `a: b: c`, as
/// every front end words a failure. A line break in one (a store path can
/// hold one) is written `\n`, not cut there: the rest is the cause.
/// Store text in it is not yet made printable
/// ([`crate::report::terminal::printable_lines`] does that).
pub fn one_line(err: &(dyn std::error::Error + 'static)) -> String {
    one_line_with(err, &|_| None)
}

/// [`one_line`], with a front end's own words for the errors `words`
/// rewords (the command names its flags where the library names an
/// option).
pub fn one_line_with(
    err: &(dyn std::error::Error + 'static),
    words: &dyn Fn(&(dyn std::error::Error + 'static)) -> Option<String>,
) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(cause) = next {
        next = cause.source();
        let text = words(cause).unwrap_or_else(|| cause.to_string());
        let text = text.replace('\r', "\\r").replace('\n', "\\n");
        let text = text.as_str();
        // SQLite's errors come twice (its message, then "Error code 26: "
        // and the same message): say each thing once.
        if parts
            .last()
            .is_some_and(|last| last.ends_with(text) || text.ends_with(last.as_str()))
        {
            continue;
        }
        parts.push(text.to_owned());
    }
    parts.join(": ")
}

/// The window's error an analysis's error is, if it is one (they wrap it
/// transparently, so it is not among their causes).
pub fn window_error<'e>(err: &'e (dyn std::error::Error + 'static)) -> Option<&'e WindowError> {
    use crate::cases::CaseError;
    use crate::compare::CompareError;
    use crate::trend::TrendError;
    match (
        err.downcast_ref::<WindowError>(),
        err.downcast_ref::<TrendError>(),
        err.downcast_ref::<CaseError>(),
        err.downcast_ref::<CompareError>(),
    ) {
        (Some(window), ..)
        | (_, Some(TrendError::Window(window)), ..)
        | (.., Some(CaseError::Window(window)), _)
        | (.., Some(CompareError::Window(window))) => Some(window),
        _ => None,
    }
}

/// Finds the kind of the first library error in an error's chain of
/// causes, outermost first: what a front end that wraps the library's
/// errors in its own context asks.
pub fn kind_of(err: &(dyn std::error::Error + 'static)) -> Option<ErrorKind> {
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(kind) = kind_of_one(err) {
            return Some(kind);
        }
        next = err.source();
    }
    None
}

fn kind_of_one(err: &(dyn std::error::Error + 'static)) -> Option<ErrorKind> {
    /// The kind of `err` if it is one of these types.
    macro_rules! first_of {
        ($($(#[$cfg:meta])* $error:ty),+ $(,)?) => {
            $(
                $(#[$cfg])*
                if let Some(err) = err.downcast_ref::<$error>() {
                    return Some(err.kind());
                }
            )+
        };
    }
    first_of!(
        crate::store::StoreError,
        WindowError,
        crate::trend::TrendError,
        crate::cases::CaseError,
        crate::compare::CompareError,
        crate::verdict::OptionsError,
        InvalidValue,
        crate::report::file::OutputError,
        #[cfg(feature = "postgres")]
        crate::store::ConnectError,
        #[cfg(all(feature = "postgres", feature = "sqlite"))]
        crate::store::postgres::push::PushError,
        #[cfg(feature = "import")]
        crate::import::ImportError,
        #[cfg(feature = "import")]
        crate::import::FileError,
    );
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Location, StoreError};
    use crate::trend::TrendError;
    use crate::window::WindowError;

    /// A front end's context around a library error, as `anyhow`'s
    /// `.context()` wraps it.
    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Context(&'static str, #[source] TrendError);

    fn missing() -> StoreError {
        StoreError::NotFound {
            location: Location::File("nowhere.db".into()),
        }
    }

    #[test]
    fn a_store_missing_under_a_trend_is_not_found_through_any_context() {
        let err = TrendError::Window(WindowError::Store(missing()));
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let wrapped = Context("the gate", err);
        assert_eq!(kind_of(&wrapped), Some(ErrorKind::NotFound));
        assert!(ErrorKind::NotFound.names_the_store());
    }

    #[test]
    fn a_key_no_trace_has_is_the_callers_to_fix_and_is_put_in_context() {
        let err = TrendError::Window(WindowError::UnknownConfigKey {
            key: "git_shaa".into(),
            known: vec!["git_sha".into()],
        });
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(!err.kind().names_the_store());
        let few = TrendError::TooFewTraces {
            found: 1,
            needed: 2,
            left_out_running: 0,
            skipped: 0,
        };
        assert_eq!(few.kind(), ErrorKind::NotEnoughData);
    }

    #[test]
    fn an_error_of_no_library_type_has_no_kind() {
        let io = std::io::Error::other("disk full");
        assert_eq!(kind_of(&io), None);
    }
}
