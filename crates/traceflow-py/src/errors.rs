//! The library's errors as the package's exceptions (`traceflow/errors.py`
//! defines them, each also deriving the matching built-in), with the
//! command's one-line messages.

use std::io;
use std::path::{Path, PathBuf};

use pyo3::prelude::*;
use traceflow::cases::CaseError;
use traceflow::compare::CompareError;
use traceflow::error::ErrorKind;
use traceflow::report::file::OutputError;
use traceflow::report::terminal::printable_lines;
use traceflow::store::{ConnectError, StoreError, StoreSpec};
use traceflow::trend::TrendError;

/// The exception classes, by their names in `traceflow.errors`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// `TraceflowError`: the base (an internal error).
    Base,
    /// `StoreNotFoundError` (`FileNotFoundError`).
    StoreNotFound,
    /// `StoreError` (`OSError`): the store could not be opened or read.
    Store,
    /// `StoreConnectionError` (`ConnectionError`): the server.
    Connection,
    /// `InvalidArgumentError` (`ValueError`).
    InvalidArgument,
    /// `NotEnoughDataError` (`ValueError`): too few traces.
    NotEnoughData,
    /// The built-in `OSError` a report's file met, as `open` raises it:
    /// by its code when known (Python picks the subclass), else by kind.
    Os {
        kind: io::ErrorKind,
        errno: Option<i32>,
    },
}

impl Kind {
    /// The class of each kind of the library's failures.
    fn of(kind: ErrorKind) -> Kind {
        match kind {
            ErrorKind::NotFound => Kind::StoreNotFound,
            ErrorKind::InvalidInput => Kind::InvalidArgument,
            ErrorKind::NotEnoughData => Kind::NotEnoughData,
            ErrorKind::Store => Kind::Store,
            ErrorKind::Connection => Kind::Connection,
            // A file the system refused: the built-in `OSError` (a report's
            // file is raised by its code, `Error::output`).
            ErrorKind::Io => Kind::Os {
                kind: io::ErrorKind::Other,
                errno: None,
            },
        }
    }

    /// The class in `traceflow.errors` (`Os` is the built-in, raised by
    /// [`os_error`]).
    fn class_name(self) -> &'static str {
        match self {
            Kind::Base => "TraceflowError",
            Kind::StoreNotFound => "StoreNotFoundError",
            Kind::Store => "StoreError",
            Kind::Connection => "StoreConnectionError",
            Kind::InvalidArgument => "InvalidArgumentError",
            Kind::NotEnoughData => "NotEnoughDataError",
            Kind::Os { .. } => "OSError",
        }
    }
}

/// An error on its way to Python: its class and the command's line for it.
#[derive(Debug)]
pub(crate) struct Error {
    kind: Kind,
    message: String,
    /// The file an `OSError` is about.
    filename: Option<PathBuf>,
}

impl Error {
    pub(crate) fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            filename: None,
        }
    }

    /// A failed analysis of `spec`, worded as the command words it: an
    /// error about the store names it already, the others are put in its
    /// context.
    fn analysis(
        spec: &StoreSpec,
        kind: ErrorKind,
        err: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        if kind.names_the_store() {
            Error::new(Kind::of(kind), traceflow::error::one_line(&err))
        } else {
            Error::in_store(spec, Kind::of(kind), err)
        }
    }

    /// A failed trend of `spec`.
    pub(crate) fn trend(spec: &StoreSpec, err: TrendError) -> Self {
        Error::analysis(spec, err.kind(), err)
    }

    /// Arguments the analysis would refuse, found before any store is
    /// opened: the library's message, about no store.
    pub(crate) fn argument(err: TrendError) -> Self {
        Error::new(Kind::of(err.kind()), err.to_string())
    }

    /// A failed case analysis of `spec`.
    pub(crate) fn cases(spec: &StoreSpec, err: CaseError) -> Self {
        Error::analysis(spec, err.kind(), err)
    }

    /// A failed comparison in `spec`.
    pub(crate) fn compare(spec: &StoreSpec, err: CompareError) -> Self {
        Error::analysis(spec, err.kind(), err)
    }

    /// `err` about `spec`'s data, named as the command names it.
    fn in_store(
        spec: &StoreSpec,
        kind: Kind,
        err: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        let err = InStore {
            spec: spec.to_string(),
            err,
        };
        Error::new(kind, traceflow::error::one_line(&err))
    }

    /// A store that could not be opened.
    pub(crate) fn store(err: StoreError) -> Self {
        let kind = Kind::of(err.kind());
        Error::new(kind, traceflow::error::one_line(&err))
    }

    /// A store name that does not parse (a PostgreSQL URL with a typo).
    pub(crate) fn spec(err: ConnectError) -> Self {
        let kind = Kind::of(err.kind());
        Error::new(kind, traceflow::error::one_line(&err))
    }

    /// A report that could not be written to `path`: a file the system
    /// refused (a missing directory, no permission) is the `OSError` that
    /// Python's `open` raises for it, naming `path`; a path that names the
    /// store is an argument to change.
    pub(crate) fn output(err: &OutputError, path: &Path) -> Self {
        let line = traceflow::error::one_line(err);
        // The system's errors behind it, outermost first.
        let mut system: Vec<&io::Error> = Vec::new();
        let mut next = std::error::Error::source(err);
        while let Some(cause) = next {
            system.extend(cause.downcast_ref::<io::Error>());
            next = cause.source();
        }
        let Some(io) = system.last() else {
            return Error::new(Kind::of(err.kind()), line);
        };
        // The code, where the error kept it (a scratch file's error is
        // reworded without it).
        let errno = system.iter().find_map(|e| e.raw_os_error());
        Error {
            kind: Kind::Os {
                kind: io.kind(),
                errno,
            },
            message: line,
            filename: Some(path.to_path_buf()),
        }
    }

    /// The Python exception: store text in the message made printable, as
    /// every other output makes it.
    pub(crate) fn into_py(self, py: Python<'_>) -> PyErr {
        let message = printable_lines(&self.message).into_owned();
        let name = match self.kind {
            Kind::Os { kind, errno } => return os_error(py, kind, errno, message, self.filename),
            kind => kind.class_name(),
        };
        let class = py
            .import("traceflow.errors")
            .and_then(|module| module.getattr(name));
        match class {
            Ok(class) => match class.call1((message,)) {
                Ok(instance) => PyErr::from_value(instance),
                Err(err) => err,
            },
            Err(err) => err,
        }
    }
}

/// An error in its store's context: `spec: the error: its causes`, as the
/// command words it.
#[derive(Debug)]
struct InStore<E> {
    spec: String,
    err: E,
}

impl<E> std::fmt::Display for InStore<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.spec)
    }
}

impl<E: std::error::Error + 'static> std::error::Error for InStore<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.err)
    }
}

/// `OSError(errno, os.strerror(errno), filename)`, which Python makes the
/// subclass for the code (`FileNotFoundError` for `ENOENT`), as `open`
/// raises it. A code not kept (tempfile's errors keep only the kind) is
/// the kind's; without one, the subclass for the kind with `message`.
fn os_error(
    py: Python<'_>,
    kind: io::ErrorKind,
    errno: Option<i32>,
    message: String,
    filename: Option<PathBuf>,
) -> PyErr {
    let code = errno.or_else(|| {
        let name = errno_name(kind)?;
        py.import("errno").ok()?.getattr(name).ok()?.extract().ok()
    });
    let Some(code) = code else {
        // pyo3 picks the subclass for the kind.
        return io::Error::new(kind, message).into();
    };
    let built = || -> PyResult<PyErr> {
        let strerror = py.import("os")?.call_method1("strerror", (code,))?;
        let instance = py.get_type::<pyo3::exceptions::PyOSError>().call1((
            code,
            strerror,
            filename.map(PathBuf::into_os_string),
        ))?;
        Ok(PyErr::from_value(instance))
    };
    built().unwrap_or_else(|err| err)
}

/// The code of the kinds a report's file meets, by its name in `errno`.
fn errno_name(kind: io::ErrorKind) -> Option<&'static str> {
    use io::ErrorKind as K;
    Some(match kind {
        K::NotFound => "ENOENT",
        K::PermissionDenied => "EACCES",
        K::AlreadyExists => "EEXIST",
        K::IsADirectory => "EISDIR",
        K::NotADirectory => "ENOTDIR",
        K::ReadOnlyFilesystem => "EROFS",
        K::StorageFull => "ENOSPC",
        K::QuotaExceeded => "EDQUOT",
        K::FileTooLarge => "EFBIG",
        K::InvalidFilename => "ENAMETOOLONG",
        _ => return None,
    })
}
