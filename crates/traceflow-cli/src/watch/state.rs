//! Which regressions are open, kept between evaluations and restarts.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Context;

/// The state `--state` keeps.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct State {
    /// The keys of the regressions an alert said were open.
    pub(super) open: BTreeSet<String>,
}

impl State {
    /// The state at `path`; none yet when there is no file.
    pub(super) fn load(path: &Path) -> anyhow::Result<State> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("{}: not an alert state file", path.display())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(err) => Err(err).with_context(|| format!("{}", path.display())),
        }
    }

    /// Fails when the state could not be written at `path` (its folder
    /// missing or read-only), before any alert is sent.
    pub(super) fn check_writable(path: &Path) -> anyhow::Result<()> {
        tempfile::NamedTempFile::new_in(folder(path))
            .map(drop)
            .with_context(|| format!("--state {}: cannot be written", path.display()))
    }

    /// Writes the state whole, then renames it into place: a kill never
    /// leaves half a file.
    pub(super) fn save(&self, path: &Path) -> anyhow::Result<()> {
        let mut file = tempfile::NamedTempFile::new_in(folder(path))
            .with_context(|| format!("{}", path.display()))?;
        serde_json::to_writer_pretty(&mut file, self)?;
        file.persist(path)
            .with_context(|| format!("{}", path.display()))?;
        Ok(())
    }
}

/// The folder a state file is in.
fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}
