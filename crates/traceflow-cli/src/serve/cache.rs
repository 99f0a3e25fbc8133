//! Answers kept per store version: a view asked again while the store is
//! unchanged costs a lookup, and a client that has it already (its
//! `If-None-Match`) gets a 304.
//!
//! A SQLite store's version is its file's and its `-wal`'s size and
//! modification time: a write changes one of them (a transaction appends
//! to the `-wal`, a checkpoint rewrites the file). A team database has no
//! such cheap mark: its answers are not kept.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use axum::body::Bytes;
use std::time::SystemTime;

/// How many answers are kept; past it the oldest goes.
const KEPT: usize = 64;
/// How many bytes of answers are kept at most; past it the oldest go. A
/// larger answer (a listing of a million traces) is not kept at all.
const KEPT_BYTES: usize = 128 << 20;

/// A store's version: what changes when it is written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Version(Vec<Option<(u64, SystemTime)>>);

impl Version {
    /// The version of the SQLite store at `path`, now; `None` for a store
    /// that is not a file (it is then never kept).
    pub(crate) fn of(path: Option<&Path>) -> Option<Version> {
        let path = path?;
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let stamp = |path: &Path| {
            std::fs::metadata(path)
                .ok()
                .map(|m| (m.len(), m.modified().unwrap_or(SystemTime::UNIX_EPOCH)))
        };
        Some(Version(vec![stamp(path), stamp(&PathBuf::from(wal))]))
    }

    /// An entity tag for an answer to `request` at this version.
    pub(super) fn etag(&self, request: &[String]) -> String {
        use std::hash::{Hash, Hasher};
        // Not a security boundary: two requests' tags only need to differ.
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.hash(&mut hasher);
        request.hash(&mut hasher);
        format!("\"{:016x}\"", hasher.finish())
    }
}

/// The answers kept.
#[derive(Default)]
pub(super) struct Cache {
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    answers: HashMap<Vec<String>, Entry>,
    clock: u64,
    bytes: usize,
}

/// An answer, the store's version it was made at, and when it was last
/// used (the kept answers' clock).
type Entry = (Version, Bytes, u64);

impl Cache {
    /// The kept answers, and the clock's next tick (a use's time).
    fn lock(&self) -> (std::sync::MutexGuard<'_, Kept>, u64) {
        let mut kept = self
            .kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        kept.clock += 1;
        let now = kept.clock;
        (kept, now)
    }

    /// The answer kept for `request` at `version`, if any.
    pub(super) fn get(&self, request: &[String], version: &Version) -> Option<Bytes> {
        let (mut kept, now) = self.lock();
        match kept.answers.get_mut(request) {
            Some((at, body, used)) if at == version => {
                *used = now;
                Some(body.clone())
            }
            _ => None,
        }
    }

    /// Keeps `body` as the answer to `request` at `version`.
    pub(super) fn put(&self, request: Vec<String>, version: Version, body: Bytes) {
        if body.len() > KEPT_BYTES / 4 {
            return;
        }
        let (mut kept, now) = self.lock();
        if let Some((_, old, _)) = kept.answers.remove(&request) {
            kept.bytes -= old.len();
        }
        while !kept.answers.is_empty()
            && (kept.answers.len() >= KEPT || kept.bytes + body.len() > KEPT_BYTES)
        {
            let oldest = kept
                .answers
                .iter()
                .min_by_key(|(_, (_, _, used))| *used)
                .map(|(key, _)| key.clone());
            if let Some((_, old, _)) = oldest.and_then(|key| kept.answers.remove(&key)) {
                kept.bytes -= old.len();
            }
        }
        kept.bytes += body.len();
        kept.answers.insert(request, (version, body, now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_kept_for_its_version_only_and_the_oldest_goes_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("s.db");
        std::fs::write(&store, b"one").unwrap();
        let v1 = Version::of(Some(&store)).unwrap();
        let cache = Cache::default();
        let request = vec!["trend".to_owned()];
        cache.put(request.clone(), v1.clone(), Bytes::from(b"a".to_vec()));
        assert_eq!(cache.get(&request, &v1).unwrap().as_ref(), b"a");
        std::fs::write(&store, b"one more").unwrap();
        let v2 = Version::of(Some(&store)).unwrap();
        assert_ne!(v1, v2);
        assert!(cache.get(&request, &v2).is_none());
        assert_ne!(v1.etag(&request), v2.etag(&request));

        for k in 0..KEPT + 1 {
            cache.put(vec![k.to_string()], v2.clone(), Bytes::from(Vec::new()));
        }
        assert!(cache.get(&request, &v1).is_none());
        assert!(cache.get(&[KEPT.to_string()], &v2).is_some());
        assert!(Version::of(None).is_none());

        // Bytes are bounded too: a large answer is not kept, and the
        // oldest go to make room.
        let cache = Cache::default();
        cache.put(
            vec!["huge".into()],
            v2.clone(),
            Bytes::from(vec![0; KEPT_BYTES / 4 + 1]),
        );
        assert!(cache.get(&["huge".to_owned()], &v2).is_none());
        for k in 0..5 {
            cache.put(
                vec![k.to_string()],
                v2.clone(),
                Bytes::from(vec![0; KEPT_BYTES / 4]),
            );
        }
        let kept = cache.kept.lock().unwrap();
        assert_eq!(kept.answers.len(), 4);
        assert_eq!(kept.bytes, KEPT_BYTES);
        assert!(!kept.answers.contains_key(&vec!["0".to_owned()]));
    }
}
