//! The library's layers, read from its source: each analysis module uses
//! only the layers below it, so a front end or a new analysis can take
//! one layer without the rest, and no two modules import each other.

use std::path::{Path, PathBuf};

/// Lowest first: a module may name a module listed before it, never one
/// after it (the statistics and the model name none).
const LAYERS: [&str; 11] = [
    "stats", "model", "store", "import", "metric", "verdict", "window", "cases", "trend",
    "compare", "report",
];

/// The Rust files of a module: `src/NAME.rs` or `src/NAME/**.rs`, its
/// tests left out (they may use anything).
fn files(src: &Path, module: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let single = src.join(format!("{module}.rs"));
    if single.is_file() {
        found.push(single);
    }
    let mut dirs = vec![src.join(module)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && path.file_name().is_some_and(|n| n != "tests.rs")
            {
                found.push(path);
            }
        }
    }
    found
}

/// The code of a file: comments and its `#[cfg(test)]` module left out.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn each_module_uses_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut wrong = Vec::new();
    for (rank, module) in LAYERS.iter().enumerate() {
        let files = files(&src, module);
        assert!(!files.is_empty(), "no source for module {module}");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let code = code(&text);
            for above in &LAYERS[rank + 1..] {
                if code.contains(&format!("crate::{above}::"))
                    || code.contains(&format!("crate::{above}::{{"))
                    || code.contains(&format!("crate::{above};"))
                {
                    wrong.push(format!(
                        "{} ({module}) uses {above}",
                        file.strip_prefix(&src).unwrap().display()
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
