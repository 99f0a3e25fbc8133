//! An import of several files: each read and checked before anything is
//! written, then each written in its own transaction.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::{detect, parse, Format, Invalid, Parsed, Source, Written};
use crate::error::{ErrorKind, InvalidValue};
use crate::store::sqlite::SqliteStore;
use crate::store::StoreError;

/// A file to import: its name (a path, or `-` for stdin), its bytes, and
/// when it was modified, if known.
#[derive(Debug, Clone)]
pub struct Input {
    /// The name messages give it.
    pub name: String,
    /// Its content.
    pub bytes: Vec<u8>,
    /// Its modification time (the time of last resort of formats without
    /// one inside).
    pub modified: Option<Timestamp>,
}

impl Input {
    fn source(&self) -> Source<'_> {
        Source {
            name: &self.name,
            modified: self.modified,
            bytes: &self.bytes,
        }
    }
}

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The format of every file; detected per file when `None`.
    pub format: Option<Format>,
    /// Values attached to every result (`--label KEY=VALUE`).
    pub labels: BTreeMap<String, String>,
    /// Import the files that read and list the others, rather than refuse
    /// the whole import.
    pub keep_going: bool,
    /// Read and count, write nothing.
    pub dry_run: bool,
}

/// A file that cannot be imported, and why: the record and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {cause}")]
pub struct FileError {
    /// The file.
    pub name: String,
    /// What is wrong in it.
    pub cause: Invalid,
}

impl FileError {
    /// Bad input.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidInput
    }
}

/// What importing one file (or, for OTLP, the files whose spans and
/// evaluations join) did.
#[derive(Debug, Clone, PartialEq)]
pub struct FileReport {
    /// The file's name (the OTLP files', joined by ` + `).
    pub name: String,
    /// Its format.
    pub format: Format,
    /// Results read.
    pub results: usize,
    /// What was written (nothing on a dry run).
    pub written: Written,
    /// What the reader noticed.
    pub notes: Vec<String>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportReport {
    /// The files imported, in the order given.
    pub files: Vec<FileReport>,
    /// The files refused (with `keep_going`).
    pub refused: Vec<FileError>,
    /// What was written, over all files.
    pub total: Written,
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A file is in no known format or is malformed: nothing was written.
    #[error(transparent)]
    File(#[from] FileError),
    /// The store refused a write: the file being written left nothing
    /// behind (its transaction rolled back).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ImportError {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ImportError::File(err) => err.kind(),
            ImportError::Store(err) => err.kind(),
        }
    }
}

/// `KEY=VALUE` as `import --label` takes it; the keys an import sets
/// itself ([`super::RESERVED_KEYS`]) are refused.
pub fn parse_label(text: &str) -> Result<(String, String), InvalidValue> {
    let Some((key, value)) = text.split_once('=') else {
        return Err(InvalidValue::new(format!(
            "label {text:?} is not KEY=VALUE"
        )));
    };
    let key = key.trim();
    if key.is_empty() {
        return Err(InvalidValue::new(format!("label {text:?} has no key")));
    }
    if super::RESERVED_KEYS.contains(&key) {
        return Err(InvalidValue::new(format!(
            "label key {key:?} is the import's own (source, run, case, repeat)"
        )));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// Reads every input, then (unless a dry run) writes each file's results
/// in a transaction of its own. Without `keep_going`, one bad file refuses
/// the whole import before anything is written.
pub fn import(
    store: Option<&mut SqliteStore>,
    inputs: &[Input],
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport::default();
    let mut read: Vec<(FileReport, Parsed)> = Vec::new();
    let mut otlp: Vec<&Input> = Vec::new();
    for input in inputs {
        let format = match options.format.or_else(|| detect(input.source())) {
            Some(format) => format,
            None => {
                refuse(
                    &mut report,
                    options,
                    FileError {
                        name: input.name.clone(),
                        cause: Invalid::file(
                            "in no format import reads (otlp, promptfoo, inspect, deepeval, junit, jsonl)",
                        ),
                    },
                )?;
                continue;
            }
        };
        if format == Format::Otlp {
            // Spans and their evaluations may be in different files.
            otlp.push(input);
            continue;
        }
        match parse(format, input.source()) {
            Ok(parsed) => read.push((file_report(&input.name, format, &parsed), parsed)),
            Err(cause) => refuse(
                &mut report,
                options,
                FileError {
                    name: input.name.clone(),
                    cause,
                },
            )?,
        }
    }
    if !otlp.is_empty() {
        let name = otlp
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join(" + ");
        let sources: Vec<Source<'_>> = otlp.iter().map(|i| i.source()).collect();
        match super::otlp::parse_many(&sources) {
            Ok(parsed) => read.push((file_report(&name, Format::Otlp, &parsed), parsed)),
            Err(cause) => refuse(&mut report, options, FileError { name, cause })?,
        }
    }
    let store = if options.dry_run { None } else { store };
    if let Some(store) = store {
        for (file, parsed) in &mut read {
            file.written = super::write(store, file.format, &parsed.results, &options.labels)?;
            report.total.add(file.written);
        }
    }
    report.files = read.into_iter().map(|(file, _)| file).collect();
    Ok(report)
}

fn file_report(name: &str, format: Format, parsed: &Parsed) -> FileReport {
    FileReport {
        name: name.to_owned(),
        format,
        results: parsed.results.len(),
        written: Written::default(),
        notes: parsed.notes.clone(),
    }
}

/// Lists a bad file with `keep_going`, else stops the import.
fn refuse(
    report: &mut ImportReport,
    options: &ImportOptions,
    err: FileError,
) -> Result<(), ImportError> {
    if options.keep_going {
        report.refused.push(err);
        Ok(())
    } else {
        Err(err.into())
    }
}
