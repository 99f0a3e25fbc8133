//! The store files traceflow's own connections have open, so that the
//! package copies a store only when Python's sqlite3 has it open
//! ([`open_in_python`]). Two copies of SQLite share the process then, and
//! POSIX locks belong to the process: traceflow's closing the file would
//! release the locks of Python's connections. traceflow's connections to
//! one file are one SQLite's and coordinate; they need no copy (each copy
//! made for them was the whole store, and one per concurrent analysis).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use pyo3::prelude::*;

/// A file: its device and inode.
type FileId = (u64, u64);

/// The files analyses are reading, with how many analyses read each. An
/// analysis counts from before it opens the file until after it closed it,
/// so a file traceflow has open is always counted.
static READING: Mutex<BTreeMap<FileId, usize>> = Mutex::new(BTreeMap::new());

fn reading() -> MutexGuard<'static, BTreeMap<FileId, usize>> {
    // The map stays consistent whatever panicked while it was held.
    READING.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(unix)]
fn file_id(path: &Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.dev(), metadata.ino()))
}

#[cfg(not(unix))]
fn file_id(_path: &Path) -> Option<FileId> {
    None
}

/// An analysis reading a store file: counted while this lives. Make it
/// before opening the store and keep it until the store is closed.
pub(crate) struct Reading(Option<FileId>);

impl Reading {
    pub(crate) fn start(file: Option<&Path>) -> Self {
        let id = file.and_then(file_id);
        if let Some(id) = id {
            *reading().entry(id).or_default() += 1;
        }
        Reading(id)
    }
}

impl Drop for Reading {
    fn drop(&mut self) {
        let Some(id) = self.0 else { return };
        let mut files = reading();
        if let Some(count) = files.get_mut(&id) {
            *count -= 1;
            if *count == 0 {
                files.remove(&id);
            }
        }
    }
}

/// Whether this process has the store file at `path` open other than
/// through traceflow's analyses: through Python's sqlite3 (a TraceStore).
///
/// A descriptor of the file opened for writing is never traceflow's (it
/// only reads); one opened for reading is when an analysis of the file is
/// under way. The one case this cannot tell apart, a Python connection
/// opened read-only while traceflow reads the same file, is taken for
/// traceflow's. Only the `.db` is looked for: a connection always holds
/// it. Linux only (`/proc/self/fd`); elsewhere False.
#[pyfunction]
pub(crate) fn open_in_python(py: Python<'_>, path: PathBuf) -> bool {
    py.detach(|| {
        let Some(id) = file_id(&path) else {
            return false;
        };
        // Held while the descriptors are listed: an analysis that starts or
        // ends meanwhile waits, so the count matches what is open.
        let files = reading();
        let ours = files.get(&id).is_some_and(|&count| count > 0);
        let Ok(descriptors) = std::fs::read_dir("/proc/self/fd") else {
            return false;
        };
        descriptors.flatten().any(|fd| {
            if file_id(&fd.path()) != Some(id) {
                return false;
            }
            !ours || writable(&fd.file_name())
        })
    })
}

/// Whether descriptor `fd` of this process is open for writing (its
/// `/proc/self/fdinfo` flags).
fn writable(fd: &std::ffi::OsStr) -> bool {
    let info = Path::new("/proc/self/fdinfo").join(fd);
    let Ok(text) = std::fs::read_to_string(info) else {
        // Closed since it was listed: not open at all.
        return false;
    };
    text.lines()
        .find_map(|line| line.strip_prefix("flags:"))
        .and_then(|flags| u32::from_str_radix(flags.trim(), 8).ok())
        // O_ACCMODE: 0 is O_RDONLY.
        .is_some_and(|flags| flags & 0o3 != 0)
}
