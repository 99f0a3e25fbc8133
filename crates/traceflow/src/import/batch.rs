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
    /// The file as the readers see it: without a UTF-8 byte order mark
    /// (what Windows editors and PowerShell's `Out-File` start a file
    /// with), which would hide a JSON file's format.
    fn source(&self) -> Source<'_> {
        Source {
            name: &self.name,
            modified: self.modified,
            bytes: self
                .bytes
                .strip_prefix(b"\xEF\xBB\xBF")
                .unwrap_or(&self.bytes),
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
    let known = match &store {
        Some(store) => store.imported_files()?,
        None => Known::new(),
    };
    let read = read(inputs, options, &known)?;
    Ok(read.write(store, options)?)
}

/// The files of an import, read and checked, not yet written.
#[derive(Debug, Clone, Default)]
pub struct ReadFiles {
    /// Each file (or OTLP group) read, with its digests; `None` for one
    /// imported before as it is, not read again.
    files: Vec<(FileReport, Option<Parsed>, Vec<String>)>,
    refused: Vec<FileError>,
}

/// The files a store has imported, by digest: their format and results
/// ([`SqliteStore::imported_files`]).
pub type Known = std::collections::HashMap<String, (String, u64)>;

/// A file's digest as an import reads it: its name, its modification time
/// (some formats take their run or time from them), the import's format
/// and labels, and its bytes.
fn digest(input: &Input, options: &ImportOptions) -> String {
    let header = format!(
        "{:?}\0{:?}\0{}\0{:?}\0{}\0",
        options.format,
        options.labels,
        input.name,
        input.modified,
        input.bytes.len()
    );
    super::write::sha256_hex(&[header.as_bytes(), &input.bytes])
}

impl ReadFiles {
    /// Writes each file's results in a transaction of its own (nothing on a
    /// dry run, or without a store).
    pub fn write(
        self,
        store: Option<&mut SqliteStore>,
        options: &ImportOptions,
    ) -> Result<ImportReport, StoreError> {
        let mut report = ImportReport {
            refused: self.refused,
            ..ImportReport::default()
        };
        let mut files = self.files;
        if let Some(store) = store.filter(|_| !options.dry_run) {
            for (file, parsed, digests) in &mut files {
                file.written = match parsed {
                    Some(parsed) => super::write::write_file(
                        store,
                        file.format,
                        &parsed.results,
                        &options.labels,
                        digests,
                    )?,
                    None => Written {
                        unchanged: file.results,
                        ..Written::default()
                    },
                };
                report.total.add(file.written);
            }
        }
        report.files = files.into_iter().map(|(file, ..)| file).collect();
        Ok(report)
    }
}

/// Reads and checks every input: the files that read, and (with
/// `keep_going`) the files refused; without it, the first file refused. A
/// file the store imported before as it is (`known`, by its digest) is not
/// read again.
pub fn read(
    inputs: &[Input],
    options: &ImportOptions,
    known: &Known,
) -> Result<ReadFiles, ImportError> {
    let mut read = ReadFiles::default();
    let mut otlp: Vec<(&Input, String)> = Vec::new();
    for input in inputs {
        let digest = digest(input, options);
        let before = known
            .get(&digest)
            .and_then(|(format, results)| Some((format.parse::<Format>().ok()?, *results)));
        match before {
            // Spans and evaluations join across the OTLP files: a known one
            // is read again unless every one is known.
            Some((Format::Otlp, _)) => {
                otlp.push((input, digest));
                continue;
            }
            Some((format, results)) => {
                read.files
                    .push((known_report(&input.name, format, results), None, Vec::new()));
                continue;
            }
            None => {}
        }
        let Some(format) = options.format.or_else(|| detect(input.source())) else {
            let cause = Invalid::file(
                "in no format import reads (otlp, promptfoo, inspect, deepeval, junit, jsonl)",
            );
            refuse(&mut read, options, input.name.clone(), cause)?;
            continue;
        };
        if format == Format::Otlp {
            // Spans and their evaluations may be in different files.
            otlp.push((input, digest));
            continue;
        }
        match parse(format, input.source()) {
            Ok(parsed) => read.files.push((
                file_report(&input.name, format, &parsed),
                Some(parsed),
                vec![digest],
            )),
            Err(cause) => refuse(&mut read, options, input.name.clone(), cause)?,
        }
    }
    if !otlp.is_empty() {
        read_otlp(&mut read, &otlp, options, known)?;
    }
    Ok(read)
}

/// The OTLP files of an import, joined: not read again when every one was
/// imported before as it is.
fn read_otlp(
    read: &mut ReadFiles,
    otlp: &[(&Input, String)],
    options: &ImportOptions,
    known: &Known,
) -> Result<(), ImportError> {
    let name = otlp
        .iter()
        .map(|(i, _)| i.name.as_str())
        .collect::<Vec<_>>()
        .join(" + ");
    let digests: Vec<String> = otlp.iter().map(|(_, d)| d.clone()).collect();
    let before: Option<Vec<u64>> = digests
        .iter()
        .map(|d| known.get(d).map(|(_, results)| *results))
        .collect();
    if let Some(results) = before {
        let results = results.into_iter().max().unwrap_or(0) as usize;
        read.files.push((
            known_report(&name, Format::Otlp, results as u64),
            None,
            Vec::new(),
        ));
        return Ok(());
    }
    let sources: Vec<Source<'_>> = otlp.iter().map(|(i, _)| i.source()).collect();
    match super::otlp::parse_many(&sources) {
        Ok(parsed) => read.files.push((
            file_report(&name, Format::Otlp, &parsed),
            Some(parsed),
            digests,
        )),
        Err(cause) => refuse(read, options, name, cause)?,
    }
    Ok(())
}

/// The report of a file imported before as it is.
fn known_report(name: &str, format: Format, results: u64) -> FileReport {
    FileReport {
        name: name.to_owned(),
        format,
        results: usize::try_from(results).unwrap_or(usize::MAX),
        written: Written::default(),
        notes: vec!["imported before as it is: not read again".to_owned()],
    }
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
    read: &mut ReadFiles,
    options: &ImportOptions,
    name: String,
    cause: Invalid,
) -> Result<(), ImportError> {
    let err = FileError { name, cause };
    if options.keep_going {
        read.refused.push(err);
        Ok(())
    } else {
        Err(err.into())
    }
}
