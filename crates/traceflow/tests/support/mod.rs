//! What the tests that run TraceFlow Lite's Python side share.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `../shared/tools/<name>` beside the repository, when python3 can run
/// it; `None` (locally, after a note) when either is missing. Under CI
/// (`CI` set) a missing one fails instead of being skipped silently.
pub fn shared_script(name: &str) -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/tools")
        .join(name);
    let works = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if works && script.is_file() {
        return Some(script);
    }
    let why = format!(
        "needs python3 and {} (found python3: {works}, script: {})",
        script.display(),
        script.is_file()
    );
    assert!(std::env::var_os("CI").is_none(), "{why}");
    eprintln!("skipped: {why}");
    None
}
