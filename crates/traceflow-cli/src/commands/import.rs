//! `traceflow import`: other eval tools' results into a store.

use std::collections::HashSet;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use traceflow::import::{Content, ImportOptions, ImportReport, Input};
use traceflow::store::{SqliteStore, StoreSpec};

use crate::args::ImportArgs;
use crate::exit_codes;

pub(super) fn run(args: &ImportArgs) -> anyhow::Result<u8> {
    if let Ok(StoreSpec::Postgres(_)) = StoreSpec::parse(args.db.as_os_str()) {
        anyhow::bail!(
            "import writes a SQLite store: import into a file, then `traceflow push` it to the team database"
        );
    }
    let inputs = read_inputs(&args.paths)?;
    let options = ImportOptions {
        format: args.format,
        labels: args.labels.iter().cloned().collect(),
        keep_going: args.keep_going,
        dry_run: args.dry_run,
        judging: args.judging()?,
    };
    // A file that exists is written only if it is a TraceFlow store (an
    // empty file becomes one): never another program's database. What it
    // imported before is not read again.
    let known = if std::fs::metadata(&args.db).is_ok_and(|m| m.is_file() && m.len() > 0) {
        let store =
            crate::args::named_by_env(SqliteStore::open_read_only(&args.db), args.from_env)?;
        store.imported_files()?
    } else {
        traceflow::import::Known::new()
    };
    // Every file is read and checked before the store is opened for
    // writing: a refused import leaves no new file behind.
    let spinner = crate::progress::Spinner::on_terminal(&args.db.display().to_string());
    let hook = spinner.as_ref().map(crate::progress::Spinner::hook);
    let progress = hook.as_ref().map(|h| h as &traceflow::progress::Progress);
    let read = traceflow::import::read_with(&inputs, &options, &known, progress)?;
    let mut store = if args.dry_run {
        None
    } else {
        Some(crate::args::named_by_env(
            SqliteStore::open_writable(&args.db),
            args.from_env,
        )?)
    };
    let report = read.write_with(store.as_mut(), &options, progress)?;
    // Its line cleared before the report is written.
    drop(spinner);
    super::print(&text(&report, &args.db, args.dry_run))?;
    if report.refused.is_empty() {
        Ok(exit_codes::SUCCESS)
    } else {
        Ok(exit_codes::ERROR)
    }
}

/// Every file named: a file, each file under a folder (recursively, in
/// name order), or stdin for `-` (read here, whole).
fn read_inputs(paths: &[PathBuf]) -> anyhow::Result<Vec<Input>> {
    let mut inputs = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("reading stdin")?;
            inputs.push(Input {
                name: "-".to_owned(),
                content: Content::Bytes(bytes),
                modified: None,
            });
            continue;
        }
        let mut files = Vec::new();
        collect(path, &mut files, &mut HashSet::new())?;
        // Read by the import, as it gets to them: an OTLP file a line at a
        // time.
        for file in files {
            let modified = std::fs::metadata(&file)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| jiff::Timestamp::try_from(t).ok());
            inputs.push(Input {
                name: file.display().to_string(),
                content: Content::File(file),
                modified,
            });
        }
    }
    Ok(inputs)
}

/// `path` if it is a file, else the files under it. A folder reached again
/// (a symlink loop, two links to one folder) is read once; anything else
/// (a FIFO, a device, a socket) is refused rather than read, which could
/// block forever or never end: pipe it to `-` instead.
fn collect(
    path: &Path,
    files: &mut Vec<PathBuf>,
    seen: &mut HashSet<PathBuf>,
) -> anyhow::Result<()> {
    let metadata = std::fs::metadata(path)
        .with_context(|| format!("{}: no such file or folder", path.display()))?;
    if metadata.is_file() {
        files.push(path.to_path_buf());
        return Ok(());
    }
    if !metadata.is_dir() {
        anyhow::bail!(
            "{}: not a file or a folder ({}): to import what it streams, pipe it to `-`",
            path.display(),
            special_kind(&metadata)
        );
    }
    let folder = std::fs::canonicalize(path)
        .with_context(|| format!("{}: cannot list the folder", path.display()))?;
    if !seen.insert(folder) {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("{}: cannot list the folder", path.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("{}: cannot list the folder", path.display()))?;
    entries.sort();
    for entry in entries {
        collect(&entry, files, seen)?;
    }
    Ok(())
}

/// What a path that is neither a file nor a folder is.
#[cfg(unix)]
fn special_kind(metadata: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    let kind = metadata.file_type();
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::Metadata) -> &'static str {
    "a special file"
}

fn text(report: &ImportReport, db: &Path, dry_run: bool) -> String {
    let mut out = String::new();
    if dry_run {
        out.push_str("Dry run: nothing written.\n");
    } else {
        out.push_str(&format!("Imported into {}:\n", db.display()));
    }
    for file in &report.files {
        let w = file.written;
        if dry_run {
            out.push_str(&format!(
                "  {} ({}): {} results\n",
                file.name, file.format, file.results
            ));
        } else {
            out.push_str(&format!(
                "  {} ({}): {} results: {} new, {} changed, {} unchanged\n",
                file.name, file.format, file.results, w.created, w.replaced, w.unchanged
            ));
        }
        for note in &file.notes {
            out.push_str(&format!("    note: {note}\n"));
        }
    }
    let results: usize = report.files.iter().map(|f| f.results).sum();
    let t = report.total;
    if dry_run {
        out.push_str(&format!(
            "Total: {results} results in {} files\n",
            report.files.len()
        ));
    } else {
        out.push_str(&format!(
            "Total: {results} results in {} files: {} new, {} changed, {} unchanged\n",
            report.files.len(),
            t.created,
            t.replaced,
            t.unchanged
        ));
    }
    if !report.refused.is_empty() {
        out.push_str(&format!(
            "Refused ({} files, nothing of them written):\n",
            report.refused.len()
        ));
        for err in &report.refused {
            out.push_str(&format!("  {err}\n"));
        }
    }
    out
}
