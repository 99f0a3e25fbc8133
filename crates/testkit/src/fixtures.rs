//! The repository's fixtures (`tests/fixtures/`, see its README).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures").join(name)
}

/// A store TraceFlow Lite's own SDK wrote: `main.db`, `early.db` or
/// `wal/traceflow.db` (with its `-wal`), under `tests/fixtures/tfl-sdk/`.
pub fn sdk_store(name: &str) -> PathBuf {
    let path = fixture("tfl-sdk").join(name);
    assert!(
        path.is_file(),
        "{} is missing from the repository's fixtures",
        path.display()
    );
    path
}

/// `python3`, which the interoperability tests run; a failure naming it
/// when it is missing.
pub fn python3() -> &'static str {
    let works = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(works, "this test needs python3 on PATH");
    "python3"
}
