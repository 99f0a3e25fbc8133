//! What the readers' tests share: the files the tools wrote
//! (`tests/fixtures/import/`) and the history they hold.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The folder of the tools' files.
pub(super) const FIXTURES: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/import");

/// A file under it, by its path there (`promptfoo/run-01.json`).
pub(super) fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{path}")).unwrap()
}

/// The design's failing cases in run `run` (1-based): case-03, case-07
/// and case-11 from run 7 on, case-05 in runs 2, 5 and 9 only.
pub(super) fn failing(run: usize) -> BTreeSet<String> {
    let mut cases = BTreeSet::new();
    if run >= 7 {
        cases.extend(["case-03", "case-07", "case-11"].map(String::from));
    }
    if [2, 5, 9].contains(&run) {
        cases.insert("case-05".to_owned());
    }
    cases
}

/// Every file under the folders of the tools other than `tool`
/// (recursively).
pub(super) fn other_tools_files(tool: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    for other in ["promptfoo", "inspect", "deepeval", "junit", "otlp"] {
        if other != tool {
            walk(&Path::new(FIXTURES).join(other), &mut files);
        }
    }
    files
}
