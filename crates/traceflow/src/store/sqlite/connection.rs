//! Opening SQLite for reading without writing: the read mode a store's files
//! call for, and the connections parallel readers open.

// The backend's parts share its private helpers and imports.
use super::*;

/// How read-only connections reach the file, chosen once at open from the
/// files beside it, so that reading never creates one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ReadMode {
    /// SQLite's own locking and, in WAL mode, its shared-memory index in
    /// the `-shm` file: for rollback-journal stores, and for WAL stores
    /// whose `-shm` exists (a writer may be live, and this is how readers
    /// and writers coordinate).
    Shared,
    /// A WAL store with a `-wal` but no `-shm`, as a copy of a store
    /// TraceFlow Lite left behind (its SDK never closes its connections)
    /// or a store in a read-only directory. The normal open would create a
    /// `-shm` beside it, and fails where it cannot (`unable to open database
    /// file` or `attempt to write a readonly database`). Instead: SQLite's
    /// `unix-none` VFS (no file locks, and no `-shm`) with `PRAGMA
    /// locking_mode = EXCLUSIVE` before the first read, which makes SQLite
    /// build the WAL index in heap memory from the `-wal` itself, so every
    /// committed frame in the `-wal` is read and no file is created; the
    /// connection is read-only and `SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE` is
    /// set, so neither the `.db` nor the `-wal` is written, even on close.
    ///
    /// Why this is safe: in WAL mode every connection that has the store
    /// open, writer or reader, holds the `-shm` (SQLite creates it on the
    /// first read and a process that ends without closing leaves it); no
    /// `-shm` means no connection was using the WAL when the store was
    /// opened, so nothing is changing the files the index was built from.
    /// What is not guarded: a writer that opens the store during the
    /// analysis takes no lock this reader could see, and its checkpoint
    /// could rewrite pages under the read (an analysis reads for seconds;
    /// a writer checkpoints every 1000 pages or on its last close).
    PrivateWalIndex,
    /// A WAL store with neither `-wal` nor `-shm` (a cleanly closed store,
    /// or a copy of its `.db`): the `.db` holds every committed row, and
    /// SQLite's `immutable=1` reads it without locks, without creating a
    /// `-wal` or `-shm` (the normal open creates both, and even
    /// `PrivateWalIndex` would create an empty `-wal`). Safe for the same
    /// reason: a live WAL connection would have a `-wal`.
    Immutable,
}

impl ReadMode {
    /// The mode for the regular file at `path`: its header says whether it
    /// is in WAL mode, the files beside it which way to read it.
    pub(super) fn for_file(path: &Path) -> ReadMode {
        use std::io::Read;
        let mut header = [0u8; 20];
        let wal_mode = std::fs::File::open(path)
            .and_then(|mut file| file.read_exact(&mut header))
            .is_ok()
            && header.starts_with(b"SQLite format 3\0")
            // File format write and read versions: 2 is WAL.
            && header[18] == 2
            && header[19] == 2;
        if !wal_mode || !cfg!(unix) {
            return ReadMode::Shared;
        }
        let beside = |suffix: &str| {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            // A link, a directory or anything unreadable there: let SQLite
            // decide, as it would anyway.
            std::fs::symlink_metadata(PathBuf::from(name)).is_ok()
        };
        match (beside("-wal"), beside("-shm")) {
            (_, true) => ReadMode::Shared,
            (true, false) => ReadMode::PrivateWalIndex,
            (false, false) => ReadMode::Immutable,
        }
    }
}

/// What a path is when it is not a regular file (symlinks followed).
pub(super) fn not_a_file(file_type: &std::fs::FileType) -> Option<&'static str> {
    if file_type.is_file() {
        return None;
    }
    if file_type.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return Some("a FIFO");
        }
        if file_type.is_socket() {
            return Some("a socket");
        }
        if file_type.is_block_device() || file_type.is_char_device() {
            return Some("a device");
        }
    }
    Some("not a regular file")
}

/// `file:` URI of a path with `immutable=1`: every byte but unreserved
/// ones and `/` percent-encoded, so `?`, `#` and `%` in names stay names.
pub(super) fn immutable_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for &byte in path.as_os_str().as_encoded_bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    uri
}

/// Opens a read-only connection: never creates a file, waits for a
/// writer's lock, and can take lists of ids (`rarray(?)`).
pub(super) fn open_reader(path: &Path, mode: ReadMode) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let open_error = |source: rusqlite::Error| StoreError::Open {
        location: Location::File(path.to_path_buf()),
        source: source.into(),
    };
    let conn = match mode {
        ReadMode::Shared => Connection::open_with_flags(path, flags),
        ReadMode::PrivateWalIndex => Connection::open_with_flags_and_vfs(path, flags, "unix-none"),
        ReadMode::Immutable => {
            Connection::open_with_flags(immutable_uri(path), flags | OpenFlags::SQLITE_OPEN_URI)
        }
    }
    .map_err(open_error)?;
    // A read-only connection cannot checkpoint; this says so to SQLite too.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .map_err(open_error)?;
    if mode == ReadMode::PrivateWalIndex {
        // Before the first read: the WAL index then lives in heap memory.
        conn.execute_batch("PRAGMA locking_mode = EXCLUSIVE")
            .map_err(open_error)?;
    }
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_error)?;
    rusqlite::vtab::array::load_module(&conn).map_err(open_error)?;
    Ok(conn)
}
