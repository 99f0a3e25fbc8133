//! An import of several files: each read and checked before anything is
//! written, then each written in its own transaction.

use crate::progress::{Progress, Stage};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::PathBuf;

use jiff::Timestamp;
use sha2::{Digest as _, Sha256};

use super::otlp::{self, Joined, ReadError};
use super::{detect, parse, Format, Invalid, Parsed, Source, Written};
use crate::error::{ErrorKind, InvalidValue};
use crate::store::sqlite::{Put, SqliteStore};
use crate::store::StoreError;

/// A file to import: its name (a path, or `-` for stdin), its content,
/// and when it was modified, if known.
#[derive(Debug, Clone)]
pub struct Input {
    /// The name messages give it.
    pub name: String,
    /// Its content.
    pub content: Content,
    /// Its modification time (the time of last resort of formats without
    /// one inside).
    pub modified: Option<Timestamp>,
}

/// Where an input's content is.
#[derive(Debug, Clone)]
pub enum Content {
    /// In memory (stdin).
    Bytes(Vec<u8>),
    /// A file, read when the import gets to it: an OTLP file a line at a
    /// time (its memory is then what the join keeps, not the file), any
    /// other whole.
    File(PathBuf),
}

/// A UTF-8 byte order mark (what Windows editors and PowerShell's
/// `Out-File` start a file with) would hide a JSON file's format: the
/// readers see the bytes after it.
fn without_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

impl Input {
    /// The input's content as the readers see it, from `bytes` (the
    /// input's own, or its file's).
    fn source<'a>(&'a self, bytes: &'a [u8]) -> Source<'a> {
        Source {
            name: &self.name,
            modified: self.modified,
            bytes: without_bom(bytes),
        }
    }

    fn read_error(&self, source: std::io::Error) -> ImportError {
        ImportError::Read {
            name: self.name.clone(),
            source,
        }
    }

    /// Its whole content.
    fn bytes(&self) -> Result<Cow<'_, [u8]>, ImportError> {
        match &self.content {
            Content::Bytes(bytes) => Ok(Cow::Borrowed(bytes)),
            Content::File(path) => std::fs::read(path)
                .map(Cow::Owned)
                .map_err(|e| self.read_error(e)),
        }
    }

    /// Whether its first line (a record of at most [`otlp::MAX_RECORD`])
    /// is OTLP: then the file is read a line at a time. A first value
    /// that the line holds whole is what every JSON format's sniffer
    /// looks at, so the line says OTLP only when the whole file would.
    fn starts_as_otlp(&self) -> Result<bool, ImportError> {
        let Content::File(path) = &self.content else {
            return Ok(false);
        };
        let file = File::open(path).map_err(|e| self.read_error(e))?;
        let mut line = Vec::new();
        BufReader::new(file)
            .take(otlp::MAX_RECORD as u64)
            .read_until(b'\n', &mut line)
            .map_err(|e| self.read_error(e))?;
        Ok(detect(self.source(&line)) == Some(Format::Otlp))
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
    /// Rules of one's own for evaluations' pass or fail
    /// (`--pass-at`, `--pass-label`, `--fail-label`).
    pub judging: super::Judging,
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
    /// A file could not be read (nothing was written).
    #[error("{name}: cannot read")]
    Read {
        /// The file.
        name: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl ImportError {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ImportError::File(err) => err.kind(),
            ImportError::Store(err) => err.kind(),
            ImportError::Read { source, .. } => match source.kind() {
                std::io::ErrorKind::NotFound => ErrorKind::NotFound,
                _ => ErrorKind::Io,
            },
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
    read.write(store, options)
}

/// The files of an import, read and checked, not yet written.
#[derive(Debug, Clone, Default)]
pub struct ReadFiles {
    /// Each file (or OTLP group) read, with its digests; `None` for one
    /// imported before as it is, not read again.
    files: Vec<(FileReport, Option<Results>, Vec<String>)>,
    refused: Vec<FileError>,
}

/// A file's results, read and checked.
#[derive(Debug, Clone)]
enum Results {
    /// Every result, made.
    Parsed(Parsed),
    /// The OTLP files' spans and evaluations, joined: each result is made
    /// as it is written.
    Otlp(Box<Joined>),
}

/// The files a store has imported, by digest: their format and results
/// ([`SqliteStore::imported_files`]).
pub type Known = std::collections::HashMap<String, (String, u64)>;

/// A file's digest as an import reads it: its name, its modification time
/// (some formats take their run or time from them), the import's format
/// and labels, and its bytes (a file's read through, not kept).
fn digest(input: &Input, options: &ImportOptions) -> Result<String, ImportError> {
    let header = |len: usize| {
        format!(
            "{:?}\0{:?}\0{}\0{:?}\0{}\0{}",
            options.format,
            options.labels,
            input.name,
            input.modified,
            len,
            // Other rules, another import: read again.
            if options.judging.is_empty() {
                String::new()
            } else {
                format!("{:?}\0", options.judging)
            }
        )
    };
    let mut hasher = Sha256::new();
    match &input.content {
        Content::Bytes(bytes) => {
            hasher.update(header(bytes.len()).as_bytes());
            hasher.update(bytes);
        }
        Content::File(path) => {
            let mut file = File::open(path).map_err(|e| input.read_error(e))?;
            let len = file.metadata().map_err(|e| input.read_error(e))?.len();
            hasher.update(header(usize::try_from(len).unwrap_or(usize::MAX)).as_bytes());
            let mut buf = vec![0u8; 1 << 20];
            let mut read = 0u64;
            loop {
                let n = match file.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(input.read_error(e)),
                };
                hasher.update(&buf[..n]);
                read += n as u64;
            }
            if read != len {
                return Err(input.read_error(std::io::Error::other("it changed while it was read")));
            }
        }
    }
    Ok(super::write::hex(&hasher.finalize()))
}

impl ReadFiles {
    /// Writes each file's results in a transaction of its own (nothing on a
    /// dry run, or without a store).
    pub fn write(
        self,
        store: Option<&mut SqliteStore>,
        options: &ImportOptions,
    ) -> Result<ImportReport, ImportError> {
        self.write_with(store, options, None)
    }

    /// [`ReadFiles::write`], telling `progress` of each file as it is
    /// written.
    pub fn write_with(
        self,
        store: Option<&mut SqliteStore>,
        options: &ImportOptions,
        progress: Option<&Progress<'_>>,
    ) -> Result<ImportReport, ImportError> {
        let mut report = ImportReport {
            refused: self.refused,
            ..ImportReport::default()
        };
        let mut files = self.files;
        let count = files.len();
        if let Some(store) = store.filter(|_| !options.dry_run) {
            for (k, (file, parsed, digests)) in files.iter_mut().enumerate() {
                if let Some(hook) = progress {
                    hook(Stage::WritingFile {
                        file: k + 1,
                        files: count,
                    });
                }
                file.written = match parsed {
                    Some(Results::Parsed(parsed)) => super::write::write_file(
                        store,
                        file.format,
                        &parsed.results,
                        &options.labels,
                        &options.judging,
                        digests,
                    )?,
                    Some(Results::Otlp(joined)) => {
                        write_joined(store, &file.name, joined, options, digests)?
                    }
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
    read_with(inputs, options, known, None)
}

/// [`read()`], telling `progress` of each file as it is read.
pub fn read_with(
    inputs: &[Input],
    options: &ImportOptions,
    known: &Known,
    progress: Option<&Progress<'_>>,
) -> Result<ReadFiles, ImportError> {
    let mut read = ReadFiles::default();
    let mut otlp: Vec<Otlp<'_>> = Vec::new();
    for (k, input) in inputs.iter().enumerate() {
        if let Some(hook) = progress {
            hook(Stage::ReadingFile {
                file: k + 1,
                files: inputs.len(),
            });
        }
        let digest = digest(input, options)?;
        let before = known
            .get(&digest)
            .and_then(|(format, results)| Some((format.parse::<Format>().ok()?, *results)));
        match before {
            // Spans and evaluations join across the OTLP files: a known one
            // is read again unless every one is known.
            Some((Format::Otlp, _)) => {
                otlp.push(Otlp {
                    input,
                    digest,
                    bytes: None,
                });
                continue;
            }
            Some((format, results)) => {
                read.files
                    .push((known_report(&input.name, format, results), None, Vec::new()));
                continue;
            }
            None => {}
        }
        // An OTLP file is read a line at a time: not whole, not here.
        if options.format == Some(Format::Otlp)
            || (options.format.is_none() && input.starts_as_otlp()?)
        {
            otlp.push(Otlp {
                input,
                digest,
                bytes: None,
            });
            continue;
        }
        let bytes = input.bytes()?;
        let source = input.source(&bytes);
        let Some(format) = options.format.or_else(|| detect(source)) else {
            let cause = Invalid::file(
                "in no format import reads (otlp, promptfoo, inspect, deepeval, junit, jsonl)",
            );
            refuse(&mut read, options, input.name.clone(), cause)?;
            continue;
        };
        if format == Format::Otlp {
            // Spans and their evaluations may be in different files (this
            // one, a value over several lines, is read whole).
            otlp.push(Otlp {
                input,
                digest,
                bytes: Some(bytes),
            });
            continue;
        }
        match parse(format, source) {
            Ok(parsed) => read.files.push((
                file_report(&input.name, format, &parsed.notes, parsed.results.len()),
                Some(Results::Parsed(parsed)),
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

/// An OTLP file of an import: its bytes when read whole already.
struct Otlp<'a> {
    input: &'a Input,
    digest: String,
    bytes: Option<Cow<'a, [u8]>>,
}

/// The OTLP files of an import, joined: not read again when every one was
/// imported before as it is.
fn read_otlp(
    read: &mut ReadFiles,
    otlp: &[Otlp<'_>],
    options: &ImportOptions,
    known: &Known,
) -> Result<(), ImportError> {
    let name = otlp
        .iter()
        .map(|o| o.input.name.as_str())
        .collect::<Vec<_>>()
        .join(" + ");
    let digests: Vec<String> = otlp.iter().map(|o| o.digest.clone()).collect();
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
    let mut reader = otlp::Reader::new(otlp.len() > 1);
    for file in otlp {
        let input = file.input;
        let added = match (&file.bytes, &input.content) {
            (Some(bytes), _) => reader.add(&input.name, input.modified, without_bom(bytes)),
            (None, Content::Bytes(bytes)) => {
                reader.add(&input.name, input.modified, without_bom(bytes))
            }
            (None, Content::File(path)) => {
                let file = File::open(path).map_err(|e| input.read_error(e))?;
                reader.add(
                    &input.name,
                    input.modified,
                    BufReader::with_capacity(1 << 20, file),
                )
            }
        };
        match added {
            Ok(()) => {}
            Err(ReadError::Invalid(cause)) => return refuse(read, options, name, cause),
            Err(ReadError::Io(e)) => return Err(input.read_error(e)),
        }
    }
    match reader.finish() {
        Ok(joined) => read.files.push((
            file_report(&name, Format::Otlp, joined.notes(), joined.len()),
            Some(Results::Otlp(Box::new(joined))),
            digests,
        )),
        Err(cause) => refuse(read, options, name, cause)?,
    }
    Ok(())
}

/// Writes the OTLP files' results in one transaction, each made as it is
/// written (so they are never all in memory at once). They were all made
/// once when read, to check them: that one fails here would be a bug, and
/// leaves nothing written.
fn write_joined(
    store: &mut SqliteStore,
    name: &str,
    joined: &Joined,
    options: &ImportOptions,
    digests: &[String],
) -> Result<Written, ImportError> {
    let batch = store.import_batch()?;
    let mut written = Written::default();
    for result in joined.results() {
        let result = result.map_err(|cause| FileError {
            name: name.to_owned(),
            cause,
        })?;
        let trace =
            super::write::trace_of(Format::Otlp, &result, &options.labels, &options.judging);
        match batch.put_imported(&trace)? {
            Put::Created => written.created += 1,
            Put::Replaced => written.replaced += 1,
            Put::Unchanged => written.unchanged += 1,
        }
    }
    for digest in digests {
        batch.put_imported_file(digest, Format::Otlp.as_str(), joined.len() as u64)?;
    }
    batch.commit()?;
    Ok(written)
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

fn file_report(name: &str, format: Format, notes: &[String], results: usize) -> FileReport {
    FileReport {
        name: name.to_owned(),
        format,
        results,
        written: Written::default(),
        notes: notes.to_vec(),
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

#[cfg(test)]
mod tests {
    use super::*;

    const DIR: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/import/otlp"
    );

    fn file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> Input {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        Input {
            name: name.to_owned(),
            content: Content::File(path),
            modified: None,
        }
    }

    #[test]
    fn progress_is_told_of_each_file_read_and_written() {
        let dir = tempfile::tempdir().unwrap();
        let line = |run: &str| {
            format!(
                r#"{{"run": "{run}", "case": "c", "time": "2026-12-01T00:00:00Z", "passed": true}}"#
            )
        };
        let inputs = [
            file(&dir, "a.jsonl", line("a").as_bytes()),
            file(&dir, "b.jsonl", line("b").as_bytes()),
        ];
        let stages = std::sync::Mutex::new(Vec::new());
        let hook = |stage: Stage| stages.lock().unwrap().push(stage);
        let options = ImportOptions::default();
        let read = read_with(&inputs, &options, &Known::new(), Some(&hook)).unwrap();
        let mut store = SqliteStore::open_writable(dir.path().join("s.db")).unwrap();
        let report = read
            .write_with(Some(&mut store), &options, Some(&hook))
            .unwrap();
        assert_eq!(report.total.created, 2);
        assert_eq!(
            *stages.lock().unwrap(),
            [
                Stage::ReadingFile { file: 1, files: 2 },
                Stage::ReadingFile { file: 2, files: 2 },
                Stage::WritingFile { file: 1, files: 2 },
                Stage::WritingFile { file: 2, files: 2 },
            ]
        );
    }

    #[test]
    fn a_file_read_through_has_the_digest_of_its_bytes_in_memory() {
        // What an import before files were streamed recorded: a file
        // imported then is still known.
        let dir = tempfile::tempdir().unwrap();
        let bytes = std::fs::read(format!("{DIR}/traces.jsonl")).unwrap();
        let on_disk = file(&dir, "traces.jsonl", &bytes);
        let in_memory = Input {
            content: Content::Bytes(bytes.clone()),
            ..on_disk.clone()
        };
        let options = ImportOptions::default();
        let header = format!(
            "{:?}\0{:?}\0{}\0{:?}\0{}\0",
            options.format,
            options.labels,
            "traces.jsonl",
            None::<Timestamp>,
            bytes.len()
        );
        let before = super::super::write::sha256_hex(&[header.as_bytes(), &bytes]);
        assert_eq!(digest(&on_disk, &options).unwrap(), before);
        assert_eq!(digest(&in_memory, &options).unwrap(), before);
    }

    #[test]
    fn otlp_files_stream_by_their_first_line_and_a_pretty_one_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let traces = std::fs::read(format!("{DIR}/traces.jsonl")).unwrap();
        let logs = std::fs::read(format!("{DIR}/logs.jsonl")).unwrap();
        let traces_in = file(&dir, "traces.jsonl", &traces);
        assert!(traces_in.starts_as_otlp().unwrap());
        // Pretty-printed: its first line (`{`) says nothing; read whole,
        // detected as before.
        let mut pretty = String::new();
        for line in logs.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let value: serde_json::Value = serde_json::from_slice(line).unwrap();
            pretty.push_str(&serde_json::to_string_pretty(&value).unwrap());
            pretty.push('\n');
        }
        let logs_in = file(&dir, "logs.json", pretty.as_bytes());
        assert!(!logs_in.starts_as_otlp().unwrap());
        let options = ImportOptions::default();
        let read = read(&[traces_in, logs_in], &options, &Known::new()).unwrap();
        let [(report, _, digests)] = &read.files[..] else {
            panic!("{:?}", read.files.len());
        };
        assert_eq!(report.format, Format::Otlp);
        assert_eq!(report.results, 120);
        assert!(report.notes.is_empty(), "{:?}", report.notes);
        assert_eq!(digests.len(), 2);
    }

    #[test]
    fn a_file_that_vanishes_is_a_read_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let input = file(&dir, "gone.jsonl", b"{}");
        std::fs::remove_file(dir.path().join("gone.jsonl")).unwrap();
        let err = read(&[input], &ImportOptions::default(), &Known::new()).unwrap_err();
        assert_eq!(err.to_string(), "gone.jsonl: cannot read");
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }
}
