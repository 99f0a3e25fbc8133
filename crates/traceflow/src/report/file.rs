//! Where a report file is written (the command's `--output`, the Python
//! package's `to_html(path)`): never over the store, through symbolic
//! links, never half a report.

use std::ffi::OsString;
use std::fs::{self, Permissions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use super::{Document, Format};

/// Streams a report to `out`, buffered; the table goes through the
/// terminal sanitizer, wherever it goes.
pub fn write_to(doc: Document<'_>, format: Format, out: &mut dyn Write) -> io::Result<()> {
    let out = io::BufWriter::with_capacity(1 << 16, out);
    if format == Format::Table {
        let mut out = super::terminal::Sanitized::new(out);
        super::write(doc, format, &mut out)?;
        out.flush()
    } else {
        let mut out = out;
        super::write(doc, format, &mut out)?;
        out.flush()
    }
}

/// Streams a report to the file `output`: a regular file is written to a
/// temporary file beside it and renamed into place, so a reader never sees
/// half a report and two runs never share a scratch file; anything else
/// (`/dev/stdout`, a pipe) is written directly.
///
/// The store `store_file` and the files SQLite keeps beside it are never
/// the output, however spelled. A file replaced keeps its permissions; a
/// symbolic link is written through (its target is replaced, the link
/// stays).
///
/// Once `stop` is set (an interrupted caller) the write is abandoned: a
/// regular file is left as it was.
pub fn write_file(
    doc: Document<'_>,
    format: Format,
    output: &Path,
    store_file: Option<&Path>,
    stop: &AtomicBool,
) -> Result<(), OutputError> {
    let target = resolve(output, store_file)?;
    let path = target.path.as_path();
    let write = |out: &mut dyn Write| write_to(doc, format, &mut Stoppable { out, stop });
    let written = if target.special {
        fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut file| write(&mut file))
    } else {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        // A new file as File::create makes it (0666 less the umask, not
        // tempfile's 0600); a replaced one keeps its mode.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            builder.permissions(
                target
                    .permissions
                    .clone()
                    .unwrap_or_else(|| Permissions::from_mode(0o666)),
            );
        }
        // Dropped unpersisted (on any error), the temporary file is removed.
        builder
            .tempfile_in(dir)
            // Its error names the random scratch name; the directory says more.
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot create a file in {}: {}", dir.display(), e.kind()),
                )
            })
            .and_then(|mut file| {
                write(file.as_file_mut())?;
                // tempfile applies the mode at creation, through the umask;
                // a replaced file's mode is restored exactly.
                if let Some(permissions) = &target.permissions {
                    file.as_file().set_permissions(permissions.clone())?;
                }
                file.as_file().sync_all()?;
                if stop.load(Ordering::Relaxed) {
                    return Err(stopped());
                }
                file.persist(path).map(drop).map_err(|e| e.error)
            })
    };
    written.map_err(|source| OutputError::Write {
        path: output.to_path_buf(),
        source,
    })
}

/// Why a report file was not written (nothing was: a file it would have
/// replaced is as it was).
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A symbolic link to nothing: which file was meant is not known.
    #[error("{}: a symbolic link to a file that does not exist; name the file itself", .path.display())]
    DanglingLink {
        /// The path given.
        path: PathBuf,
    },
    /// The store itself, or a file SQLite keeps beside it.
    #[error("{}: is the store's file {}; the report would replace it (write it elsewhere)", .path.display(), .store.display())]
    IsTheStore {
        /// The path given.
        path: PathBuf,
        /// The store's file it names.
        store: PathBuf,
    },
    /// The system refused the write (no such directory, no permission, a
    /// full disk), or the caller stopped it.
    #[error("writing {}", .path.display())]
    Write {
        /// The path given.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: io::Error,
    },
}

impl OutputError {
    /// What kind of failure this is.
    pub fn kind(&self) -> crate::error::ErrorKind {
        match self {
            OutputError::DanglingLink { .. } | OutputError::IsTheStore { .. } => {
                crate::error::ErrorKind::InvalidInput
            }
            OutputError::Write { .. } => crate::error::ErrorKind::Io,
        }
    }
}

/// A writer that fails once `stop` is set.
struct Stoppable<'a> {
    out: &'a mut dyn Write,
    stop: &'a AtomicBool,
}

impl Write for Stoppable<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(stopped());
        }
        self.out.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(stopped());
        }
        self.out.flush()
    }
}

/// Not `Interrupted`: `write_all` retries that.
fn stopped() -> io::Error {
    io::Error::other("interrupted; the report was not written")
}

/// The file a report is written to.
#[derive(Debug)]
pub struct Target {
    /// The path to write: `--output`, or the target of the link it names.
    pub path: PathBuf,
    /// Not a regular file (`/dev/stdout`, a pipe): written in place.
    pub special: bool,
    /// The permissions of the regular file it replaces, if one exists.
    pub permissions: Option<Permissions>,
}

/// Files SQLite keeps beside a store, by suffix.
const COMPANIONS: [&str; 4] = ["", "-wal", "-shm", "-journal"];

/// Resolves `--output` and refuses the store `db` and its companions
/// (`-wal`, `-shm`, `-journal`), by device and inode when the file exists
/// and by directory and name when it does not, through any spelling:
/// `./x.db`, `../dir/x.db`, a symbolic or a hard link.
pub fn resolve(output: &Path, db: Option<&Path>) -> Result<Target, OutputError> {
    let link = fs::symlink_metadata(output).is_ok_and(|m| m.file_type().is_symlink());
    let path = if link {
        fs::canonicalize(output).map_err(|_| OutputError::DanglingLink {
            path: output.to_path_buf(),
        })?
    } else {
        output.to_path_buf()
    };
    if let Some(store) = db.and_then(|db| store_file_named(&path, db)) {
        return Err(OutputError::IsTheStore {
            path: output.to_path_buf(),
            store,
        });
    }
    let metadata = fs::metadata(&path).ok();
    Ok(Target {
        special: metadata.as_ref().is_some_and(|m| !m.is_file()),
        permissions: metadata
            .filter(fs::Metadata::is_file)
            .map(|m| m.permissions()),
        path,
    })
}

/// The store file (or companion) that `path` names, if any.
fn store_file_named(path: &Path, db: &Path) -> Option<PathBuf> {
    let mut spellings = vec![db.to_path_buf()];
    if let Ok(real) = fs::canonicalize(db) {
        spellings.push(real);
    }
    let out_id = identity(path);
    let out_abs = absolute(path);
    for spelling in &spellings {
        for suffix in COMPANIONS {
            let mut name = OsString::from(spelling.as_os_str());
            name.push(suffix);
            let companion = PathBuf::from(name);
            let same_inode = out_id.is_some() && out_id == identity(&companion);
            let same_name = out_abs.is_some() && out_abs == absolute(&companion);
            if same_inode || same_name {
                return Some(companion);
            }
        }
    }
    None
}

/// Device and inode of an existing file.
#[cfg(unix)]
fn identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt as _;
    fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Elsewhere, the canonical path stands in for the file's identity.
#[cfg(not(unix))]
fn identity(path: &Path) -> Option<PathBuf> {
    fs::canonicalize(path).ok()
}

/// The path with its directory resolved (links, `..`), the file need not
/// exist.
fn absolute(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    Some(fs::canonicalize(dir).ok()?.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_and_its_companions_are_refused_in_any_spelling() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("traceflow.db");
        fs::write(&db, b"x").unwrap();
        fs::write(dir.path().join("traceflow.db-wal"), b"w").unwrap();
        let sub = dir.path().join("sub");
        fs::create_dir(&sub).unwrap();
        let refused = [
            db.clone(),
            sub.join("../traceflow.db"),
            dir.path().join("traceflow.db-wal"),
            // Not there yet: SQLite would take it for the store's.
            dir.path().join("traceflow.db-shm"),
            sub.join("..").join("traceflow.db-journal"),
        ];
        for output in &refused {
            let err = resolve(output, Some(&db)).unwrap_err().to_string();
            assert!(err.contains("is the store's file"), "{output:?}: {err}");
        }
        #[cfg(unix)]
        {
            let hard = sub.join("hard.db");
            fs::hard_link(&db, &hard).unwrap();
            let soft = sub.join("soft.html");
            std::os::unix::fs::symlink(&db, &soft).unwrap();
            for output in [&hard, &soft] {
                assert!(resolve(output, Some(&db)).is_err(), "{output:?}");
            }
            // The store reached through a link is still the store.
            let db_link = sub.join("link.db");
            std::os::unix::fs::symlink(&db, &db_link).unwrap();
            assert!(resolve(&db, Some(&db_link)).is_err());
            assert!(resolve(&dir.path().join("traceflow.db-wal"), Some(&db_link)).is_err());
        }
        let fine = resolve(&dir.path().join("report.html"), Some(&db)).unwrap();
        assert!(!fine.special && fine.permissions.is_none());
    }

    #[cfg(unix)]
    #[test]
    fn a_link_is_written_through_and_a_dangling_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("traceflow.db");
        fs::write(&db, b"x").unwrap();
        let real = dir.path().join("real.md");
        fs::write(&real, b"old").unwrap();
        let link = dir.path().join("link.md");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let target = resolve(&link, Some(&db)).unwrap();
        assert_eq!(target.path, fs::canonicalize(&real).unwrap());
        assert!(target.permissions.is_some());
        let dangling = dir.path().join("dangling.md");
        std::os::unix::fs::symlink(dir.path().join("missing.md"), &dangling).unwrap();
        let err = resolve(&dangling, Some(&db)).unwrap_err().to_string();
        assert!(err.contains("does not exist"), "{err}");
    }
}
