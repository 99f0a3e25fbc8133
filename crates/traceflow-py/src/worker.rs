//! Analyses run on a thread of their own with the GIL released, so other
//! Python threads run meanwhile and Ctrl-C interrupts the wait: the calling
//! thread wakes every [`POLL`] to let Python's signal handlers run. A panic
//! in the library becomes a `TraceflowError`, never a Rust panic in Python.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use pyo3::prelude::*;

use crate::errors::{Error, Kind};

/// How often the waiting thread checks for Ctrl-C.
const POLL: Duration = Duration::from_millis(50);

/// The main thread's stack size on Linux: the analysis was written for it.
const STACK: usize = 8 << 20;

/// Runs `job` on a new thread and waits for it with the GIL released.
///
/// On Ctrl-C (in the main thread) this returns `KeyboardInterrupt` at once;
/// the job, which only reads, runs to its end on its thread and its result
/// is dropped.
pub(crate) fn run<T: Send + 'static>(
    py: Python<'_>,
    job: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> PyResult<T> {
    run_stoppable(py, |_| job())
}

/// [`run`] for a job that stops once the flag it is given is set: on
/// Ctrl-C, before `KeyboardInterrupt` is returned.
pub(crate) fn run_stoppable<T: Send + 'static>(
    py: Python<'_>,
    job: impl FnOnce(&AtomicBool) -> Result<T, Error> + Send + 'static,
) -> PyResult<T> {
    let stop = Arc::new(AtomicBool::new(false));
    let (send, receive) = mpsc::sync_channel(1);
    let stopped = Arc::clone(&stop);
    thread::Builder::new()
        .name("traceflow".to_owned())
        .stack_size(STACK)
        .spawn(move || {
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| job(&stopped)));
            // The caller may have gone (Ctrl-C): nobody to tell.
            let _ = send.send(outcome);
        })
        .map_err(|err| {
            Error::new(Kind::Base, format!("cannot start the analysis: {err}")).into_py(py)
        })?;
    let mut receive = receive;
    loop {
        // The receiver goes with the wait and comes back (it is `Send`,
        // not `Sync`).
        let (got, back) = py.detach(move || (receive.recv_timeout(POLL), receive));
        receive = back;
        match got {
            Ok(Ok(result)) => return result.map_err(|err| err.into_py(py)),
            Ok(Err(panic)) => return Err(internal(py, &*panic)),
            Err(RecvTimeoutError::Timeout) => {
                if let Err(interrupted) = py.check_signals() {
                    stop.store(true, Ordering::Relaxed);
                    return Err(interrupted);
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(
                    Error::new(Kind::Base, "the analysis ended without a result").into_py(py),
                )
            }
        }
    }
}

fn internal(py: Python<'_>, panic: &(dyn Any + Send)) -> PyErr {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned());
    Error::new(
        Kind::Base,
        format!("internal error (a bug in traceflow; please report it): {what}"),
    )
    .into_py(py)
}
