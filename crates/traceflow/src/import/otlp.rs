//! OTLP/JSON as the Collector's file exporter writes it: JSON lines, each a
//! `TracesData` (`resourceSpans[].scopeSpans[].spans[]`) or a `LogsData`
//! (`resourceLogs[].scopeLogs[].logRecords[]`); a single (even
//! pretty-printed) object reads too.
//!
//! An evaluation is a `gen_ai.evaluation.result`: a log record with that
//! `eventName` (older SDKs: the attribute `event.name`) or a span event of
//! that name. It belongs to the span it is parented to (its trace and span
//! id; a span event, to its span): from that span up its parents (at most
//! 64 of them), the
//! nearest `invoke_agent`, else the nearest inference span (`chat`,
//! `text_completion`, `generate_content`, `create_agent`); else the span
//! whose `gen_ai.response.id` is the record's (and up from it the same
//! way); else the span it names, even if neither file holds it.
//!
//! A result per such span, its evaluations in the files' order: case =
//! `test.case.id` (else `test.case.name`), run = `test.suite.run.id`, each
//! from the span, its ancestors, then its resource; without a case, case =
//! the span id and run = the trace id, with a note. A record that names no
//! span and no known `gen_ai.response.id` is a result of its own: case =
//! its `gen_ai.response.id` (records sharing one are one result), else
//! `line N` of its file (the records of one line are one result), run = its own or its resource's
//! `test.suite.run.id`, else `otlp`, with a note.
//!
//! Time = the span's start (else the first evaluation's time, else the
//! file's modification time, else 1970); model = `gen_ai.response.model`, else `gen_ai.request.model`
//! (the span, then its ancestors); latency = its end − start. Tokens =
//! input + output tokens of the span (`gen_ai.usage.input_tokens` already
//! counts cached tokens, so `cache_read` and `cache_creation`/`cache_write`
//! are added only when `input_tokens` is absent, and `cache_write` only
//! without `cache_creation`: two spellings of one count); a span with no
//! usage sums its children's. An evaluation's score is
//! `gen_ai.evaluation.score.value`; it passed as its
//! `gen_ai.evaluation.score.label` says ([`label_passes`]), else unsaid.
//! The case passes when no evaluation failed and there is no error: an
//! `error.type` on an evaluation or the span, or the span's status `ERROR`.
//!
//! Spans and logs usually come in separate files: [`parse_many`] reads
//! them together (the CLI passes every OTLP file of one import), [`parse`]
//! one file alone.
//!
//! The files are read line by line ([`Reader`]): each line (a record may
//! span lines, up to [`MAX_RECORD`] bytes) is deserialized into the few
//! fields the join uses, borrowing its strings, and what the join needs is
//! kept compactly (strings interned, a span's attributes as a handful of
//! symbols): memory grows with the spans and evaluations read, not with the
//! files' size. [`Joined::results`] then makes the results one at a time,
//! so that an import writes each as it is made.

use std::borrow::Cow;
use std::fmt;
use std::hash::BuildHasher;
use std::io::BufRead;
use std::marker::PhantomData;

use hashbrown::HashTable;
use jiff::Timestamp;
use rustc_hash::{FxBuildHasher, FxHashMap};
use serde::de::{self, Deserializer, IgnoredAny, Visitor};
use serde::Deserialize;

use super::{label_passes, CaseResult, Evaluation, Invalid, Parsed, Source};

const EVENT: &str = "gen_ai.evaluation.result";

/// The longest record read: a line, or a value spread over lines (a
/// pretty-printed file). The Collector's file exporter writes one export
/// batch a line, far below; a longer record is refused, naming its line,
/// rather than read into memory whole.
pub(crate) const MAX_RECORD: usize = 64 << 20;

/// Whether the file is in this format: its first JSON value has
/// `resourceSpans` or `resourceLogs`.
pub(crate) fn sniff(source: Source<'_>) -> bool {
    super::first_object(source.bytes)
        .is_some_and(|o| o.contains_key("resourceSpans") || o.contains_key("resourceLogs"))
}

/// Reads one file: its evaluations joined to the spans it holds.
pub(crate) fn parse(source: Source<'_>) -> Result<Parsed, Invalid> {
    parse_many(&[source])
}

/// Reads several files together: the spans of every file (`traces.jsonl`)
/// are the ones the evaluations of every file (`logs.jsonl`) are joined to.
/// Errors name the record as `line N` (with the file's name when there is
/// more than one file).
pub fn parse_many(sources: &[Source<'_>]) -> Result<Parsed, Invalid> {
    let mut reader = Reader::new(sources.len() > 1);
    for source in sources {
        reader
            .add(source.name, source.modified, source.bytes)
            .map_err(|err| match err {
                ReadError::Invalid(invalid) => invalid,
                // Reading a slice cannot fail.
                ReadError::Io(io) => Invalid::file(io.to_string()),
            })?;
    }
    let joined = reader.finish()?;
    let results = joined.results().collect::<Result<Vec<_>, _>>()?;
    Ok(Parsed {
        results,
        notes: joined.notes,
    })
}

// ---------------------------------------------------------------- the wire

/// A string, borrowed from the line when it has no escapes.
#[derive(Debug, Default)]
struct Str<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(V(PhantomData))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Batch<'a> {
    #[serde(default, borrow)]
    resource_spans: Vec<ResourceSpans<'a>>,
    #[serde(default, borrow)]
    resource_logs: Vec<ResourceLogs<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Resource<'a> {
    #[serde(default, borrow)]
    attributes: Vec<KeyValue<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceSpans<'a> {
    #[serde(default, borrow)]
    resource: Resource<'a>,
    #[serde(default, borrow)]
    scope_spans: Vec<ScopeSpans<'a>>,
}

#[derive(Debug, Deserialize)]
struct ScopeSpans<'a> {
    #[serde(default, borrow)]
    spans: Vec<WireSpan<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireSpan<'a> {
    #[serde(default, borrow)]
    trace_id: Str<'a>,
    #[serde(default, borrow)]
    span_id: Str<'a>,
    #[serde(default, borrow)]
    parent_span_id: Str<'a>,
    #[serde(default)]
    start_time_unix_nano: Option<Int>,
    #[serde(default)]
    end_time_unix_nano: Option<Int>,
    #[serde(default, borrow)]
    attributes: Vec<KeyValue<'a>>,
    #[serde(default, borrow)]
    events: Vec<WireEvent<'a>>,
    #[serde(default, borrow)]
    status: Option<Status<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status<'a> {
    #[serde(default)]
    code: Option<Code>,
    #[serde(default, borrow)]
    message: Option<Str<'a>>,
}

/// A span status's code: whether it is `ERROR` (`2`, or its name); any
/// other JSON value is not.
#[derive(Debug, Clone, Copy)]
struct Code(bool);

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Code;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a status code")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Code, E> {
                Ok(Code(v == 2))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Code, E> {
                Ok(Code(v == 2))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Code, E> {
                Ok(Code(false))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Code, E> {
                Ok(Code(false))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Code, E> {
                Ok(Code(v == "STATUS_CODE_ERROR"))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Code, E> {
                Ok(Code(false))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Code, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Code(false))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Code, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Code(false))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireEvent<'a> {
    #[serde(default)]
    time_unix_nano: Option<Int>,
    #[serde(default, borrow)]
    name: Str<'a>,
    #[serde(default, borrow)]
    attributes: Vec<KeyValue<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceLogs<'a> {
    #[serde(default, borrow)]
    resource: Resource<'a>,
    #[serde(default, borrow)]
    scope_logs: Vec<ScopeLogs<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScopeLogs<'a> {
    #[serde(default, borrow)]
    log_records: Vec<LogRecord<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogRecord<'a> {
    #[serde(default)]
    time_unix_nano: Option<Int>,
    #[serde(default)]
    observed_time_unix_nano: Option<Int>,
    #[serde(default, borrow)]
    event_name: Str<'a>,
    #[serde(default, borrow)]
    attributes: Vec<KeyValue<'a>>,
    #[serde(default, borrow)]
    trace_id: Str<'a>,
    #[serde(default, borrow)]
    span_id: Str<'a>,
}

#[derive(Debug, Deserialize)]
struct KeyValue<'a> {
    #[serde(borrow)]
    key: Str<'a>,
    #[serde(default, borrow)]
    value: AnyValue<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnyValue<'a> {
    #[serde(default, borrow)]
    string_value: Option<Str<'a>>,
    #[serde(default)]
    bool_value: Option<bool>,
    #[serde(default)]
    int_value: Option<Int>,
    #[serde(default)]
    double_value: Option<Double>,
    #[serde(default)]
    array_value: Option<IgnoredAny>,
    #[serde(default)]
    kvlist_value: Option<IgnoredAny>,
    #[serde(default, borrow)]
    bytes_value: Option<Str<'a>>,
}

/// A 64-bit integer: protobuf's JSON writes a decimal string; a number
/// reads too.
#[derive(Debug, Clone, Copy)]
struct Int(i128);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Int;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a 64-bit integer (a number or a decimal string)")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Int, E> {
                Ok(Int(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Int, E> {
                Ok(Int(v.into()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Int, E> {
                v.trim()
                    .parse::<i128>()
                    .map(Int)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A double: a number, or protobuf's `"NaN"`, `"Infinity"`, `"-Infinity"`
/// (or a number as a string).
#[derive(Debug, Clone, Copy)]
struct Double(f64);

impl<'de> Deserialize<'de> for Double {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Double;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Double, E> {
                Ok(Double(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Double, E> {
                Ok(Double(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Double, E> {
                Ok(Double(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Double, E> {
                match v.trim() {
                    "NaN" => Ok(Double(f64::NAN)),
                    "Infinity" => Ok(Double(f64::INFINITY)),
                    "-Infinity" => Ok(Double(f64::NEG_INFINITY)),
                    other => other
                        .parse::<f64>()
                        .map(Double)
                        .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
        }
        deserializer.deserialize_any(V)
    }
}

// ----------------------------------------------------- attributes, on read

/// An attribute's value as the line holds it.
#[derive(Debug, Clone, Copy)]
enum Attr<'v> {
    Str(&'v str),
    Int(i128),
    Double(f64),
    Bool,
    /// An array, a key-value list or bytes: kept only to say its type.
    Other(Kind),
}

/// A type an attribute has that a key does not take (for the message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
enum Kind {
    Integer,
    Double,
    Bool,
    Array,
    KeyValueList,
    Bytes,
}

impl Kind {
    const ALL: [Kind; 6] = [
        Kind::Integer,
        Kind::Double,
        Kind::Bool,
        Kind::Array,
        Kind::KeyValueList,
        Kind::Bytes,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Integer => "an integer",
            Kind::Double => "a double",
            Kind::Bool => "a bool",
            Kind::Array => "an array",
            Kind::KeyValueList => "a key-value list",
            Kind::Bytes => "bytes",
        }
    }
}

impl Attr<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Attr::Str(_) => "a string",
            Attr::Int(_) => Kind::Integer.name(),
            Attr::Double(_) => Kind::Double.name(),
            Attr::Bool => Kind::Bool.name(),
            Attr::Other(kind) => kind.name(),
        }
    }
}

fn attr<'v>(value: &'v AnyValue<'_>) -> Option<Attr<'v>> {
    if let Some(s) = &value.string_value {
        Some(Attr::Str(&s.0))
    } else if let Some(i) = value.int_value {
        Some(Attr::Int(i.0))
    } else if let Some(d) = value.double_value {
        Some(Attr::Double(d.0))
    } else if value.bool_value.is_some() {
        Some(Attr::Bool)
    } else if value.array_value.is_some() {
        Some(Attr::Other(Kind::Array))
    } else if value.kvlist_value.is_some() {
        Some(Attr::Other(Kind::KeyValueList))
    } else if value.bytes_value.is_some() {
        Some(Attr::Other(Kind::Bytes))
    } else {
        None
    }
}

/// The attributes the reader uses, by their index in [`KEYS`]; the first
/// six are the ones looked up a span's lineage and its resource.
const KEYS: [&str; 19] = [
    "test.case.id",
    "test.case.name",
    "test.suite.run.id",
    "gen_ai.response.model",
    "gen_ai.request.model",
    "test.suite.name",
    "gen_ai.operation.name",
    "error.type",
    "gen_ai.response.id",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_write.input_tokens",
    "event.name",
    "gen_ai.evaluation.name",
    "gen_ai.evaluation.score.label",
    "gen_ai.evaluation.score.value",
    "gen_ai.evaluation.explanation",
];
const CASE_ID: usize = 0;
const CASE_NAME: usize = 1;
const RUN_ID: usize = 2;
const RESPONSE_MODEL: usize = 3;
const REQUEST_MODEL: usize = 4;
const SUITE_NAME: usize = 5;
const OPERATION: usize = 6;
const ERROR_TYPE: usize = 7;
const RESPONSE_ID: usize = 8;
const INPUT_TOKENS: usize = 9;
const OUTPUT_TOKENS: usize = 10;
const CACHE_READ: usize = 11;
const CACHE_CREATION: usize = 12;
const CACHE_WRITE: usize = 13;
const EVENT_NAME: usize = 14;
const EVAL_NAME: usize = 15;
const EVAL_LABEL: usize = 16;
const EVAL_SCORE: usize = 17;
const EVAL_EXPLANATION: usize = 18;

fn key_index(key: &str) -> Option<usize> {
    Some(match key {
        "test.case.id" => CASE_ID,
        "test.case.name" => CASE_NAME,
        "test.suite.run.id" => RUN_ID,
        "gen_ai.response.model" => RESPONSE_MODEL,
        "gen_ai.request.model" => REQUEST_MODEL,
        "test.suite.name" => SUITE_NAME,
        "gen_ai.operation.name" => OPERATION,
        "error.type" => ERROR_TYPE,
        "gen_ai.response.id" => RESPONSE_ID,
        "gen_ai.usage.input_tokens" => INPUT_TOKENS,
        "gen_ai.usage.output_tokens" => OUTPUT_TOKENS,
        "gen_ai.usage.cache_read.input_tokens" => CACHE_READ,
        "gen_ai.usage.cache_creation.input_tokens" => CACHE_CREATION,
        "gen_ai.usage.cache_write.input_tokens" => CACHE_WRITE,
        "event.name" => EVENT_NAME,
        "gen_ai.evaluation.name" => EVAL_NAME,
        "gen_ai.evaluation.score.label" => EVAL_LABEL,
        "gen_ai.evaluation.score.value" => EVAL_SCORE,
        "gen_ai.evaluation.explanation" => EVAL_EXPLANATION,
        _ => return None,
    })
}

/// The attributes of [`KEYS`] a list has: the last of a key repeated wins,
/// and one without a value is absent, as in a map of the list.
fn scan<'v>(list: &'v [KeyValue<'_>]) -> [Option<Attr<'v>>; KEYS.len()] {
    let mut found = [None; KEYS.len()];
    for kv in list {
        if let Some(index) = key_index(&kv.key.0) {
            if let Some(value) = attr(&kv.value) {
                found[index] = Some(value);
            }
        }
    }
    found
}

/// A string attribute, or an error naming it when it has another type.
fn text<'v>(
    attrs: &[Option<Attr<'v>>],
    index: usize,
    record: impl FnOnce() -> String,
) -> Result<Option<Cow<'v, str>>, Invalid> {
    let key = KEYS[index];
    match attrs[index] {
        None => Ok(None),
        Some(Attr::Str(s)) => Ok(Some(Cow::Borrowed(s))),
        // Ids are text; an integer one reads as its digits.
        Some(Attr::Int(i)) if key.ends_with(".id") => Ok(Some(Cow::Owned(i.to_string()))),
        Some(other) => Err(Invalid::at(
            record(),
            format!("{key} must be a string, not {}", other.kind()),
        )),
    }
}

fn number(
    attrs: &[Option<Attr<'_>>],
    index: usize,
    record: impl FnOnce() -> String,
) -> Result<Option<f64>, Invalid> {
    let key = KEYS[index];
    match attrs[index] {
        None => Ok(None),
        Some(Attr::Double(d)) => Ok(Some(d)),
        Some(Attr::Int(i)) => Ok(Some(i as f64)),
        Some(other) => Err(Invalid::at(
            record(),
            format!("{key} must be a number, not {}", other.kind()),
        )),
    }
}

fn count(
    attrs: &[Option<Attr<'_>>],
    index: usize,
    record: &dyn Fn() -> String,
) -> Result<Option<i64>, Invalid> {
    let key = KEYS[index];
    match attrs[index] {
        None => Ok(None),
        Some(Attr::Int(i)) if i < 0 => {
            Err(Invalid::at(record(), format!("{key}: {i} is negative")))
        }
        Some(Attr::Int(i)) => i64::try_from(i)
            .map(Some)
            .map_err(|_| Invalid::at(record(), format!("{key} is out of range"))),
        Some(other) => Err(Invalid::at(
            record(),
            format!("{key} must be an integer, not {}", other.kind()),
        )),
    }
}

/// A span's own tokens: input + output (`input_tokens` already counts
/// cached tokens; without it, `cache_read` + `cache_creation`, else its
/// newer spelling `cache_write`); `None` when it says no usage.
fn own_tokens(
    attrs: &[Option<Attr<'_>>],
    record: &dyn Fn() -> String,
) -> Result<Option<i64>, Invalid> {
    let input = count(attrs, INPUT_TOKENS, record)?;
    let output = count(attrs, OUTPUT_TOKENS, record)?;
    let read = count(attrs, CACHE_READ, record)?;
    let created = match count(attrs, CACHE_CREATION, record)? {
        Some(c) => Some(c),
        None => count(attrs, CACHE_WRITE, record)?,
    };
    let input = input.or_else(|| match (read, created) {
        (None, None) => None,
        (r, c) => Some(r.unwrap_or(0).saturating_add(c.unwrap_or(0))),
    });
    if input.is_some() || output.is_some() {
        return Ok(Some(input.unwrap_or(0).saturating_add(output.unwrap_or(0))));
    }
    Ok(None)
}

// ------------------------------------------------------------ what is kept

/// An interned string.
type Sym = u32;
const NONE: u32 = u32::MAX;

/// Strings, each kept once: a span's ids, a run's, a model's name, an
/// explanation repeated by every case.
#[derive(Debug, Clone, Default)]
struct Interner {
    table: HashTable<Sym>,
    text: String,
    /// Where each string ends in `text`.
    ends: Vec<u32>,
}

impl Interner {
    fn get(&self, sym: Sym) -> &str {
        get(&self.text, &self.ends, sym)
    }

    fn intern(&mut self, s: &str) -> Result<Sym, Invalid> {
        let Interner { table, text, ends } = self;
        let hash = FxBuildHasher.hash_one(s);
        let entry = table.entry(
            hash,
            |&sym| get(text, ends, sym) == s,
            |&sym| FxBuildHasher.hash_one(get(text, ends, sym)),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(found) => Ok(*found.get()),
            hashbrown::hash_table::Entry::Vacant(vacant) => {
                let sym = Sym::try_from(ends.len())
                    .ok()
                    .filter(|&sym| sym < FIRST_BAD)
                    .ok_or_else(|| Invalid::file("too many distinct strings"))?;
                let end = u32::try_from(text.len() + s.len())
                    .map_err(|_| Invalid::file("more than 4 GiB of distinct strings"))?;
                text.push_str(s);
                ends.push(end);
                vacant.insert(sym);
                Ok(sym)
            }
        }
    }
}

fn get<'t>(text: &'t str, ends: &[u32], sym: Sym) -> &'t str {
    let sym = sym as usize;
    let start = if sym == 0 { 0 } else { ends[sym - 1] as usize };
    &text[start..ends[sym] as usize]
}

/// A string attribute looked up later (up a span's lineage): absent, a
/// string ([`Sym`]), or another type, whose error is raised only if it is
/// looked up (as a map of the attributes would).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Text(u32);

/// `Text`s from here up are a type a string attribute does not take.
const FIRST_BAD: u32 = NONE - Kind::ALL.len() as u32;

impl Text {
    const NONE: Text = Text(NONE);
}

/// The six attributes looked up a span's lineage and its resource.
type Texts = [Text; 6];

/// Where a record is: its file and the line its value starts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct At {
    source: u16,
    line: u32,
}

/// A time in nanoseconds: `i64::MIN` for none; the `u32::MAX` values
/// above it index `Data::far_times` (a time out of `i64`'s range, whose
/// `Timestamp` is still valid up to the year 9999), so that spans and
/// evaluations keep 8 bytes for a time, not an `Option<i128>`'s 32.
#[derive(Debug, Clone, Copy)]
struct Nanos(i64);

const NO_TIME: i64 = i64::MIN;
const NEAR_TIME: i64 = i64::MIN + u32::MAX as i64;

/// A span's own usage: tokens (never negative); `-1` for none; an error
/// raised if it is counted, as `-2 - index` into `Data::deferred`.
#[derive(Debug, Clone, Copy)]
struct Tokens(i64);

/// A span id: 16 hex digits (what OTLP writes) as their value, another
/// as an interned string ([`ID_INTERNED`] in the owner's flags).
type SpanId = u64;

/// A span's or an evaluation's id is a [`Sym`], not hex.
const ID_INTERNED: u8 = 1;
/// A span's parent id is a [`Sym`], not hex.
const PARENT_INTERNED: u8 = 2;
/// An evaluation is invalid: its `name` indexes `Data::deferred`.
const INVALID: u8 = 4;

/// What `gen_ai.operation.name` makes a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Agent,
    Inference,
    Other,
}

#[derive(Debug, Clone)]
struct Span {
    trace: Sym,
    id: SpanId,
    /// Its parent's span id (in its trace); `NONE` interned when none.
    parent: SpanId,
    start: Nanos,
    end: Nanos,
    texts: Texts,
    /// Its `gen_ai.response.id`, when a string.
    response: Sym,
    tokens: Tokens,
    /// Its `error.type`, else its status's message when it is `ERROR`.
    error: Sym,
    resource: u32,
    line: u32,
    source: u16,
    op: Op,
    flags: u8,
}

impl Span {
    fn at(&self) -> At {
        At {
            source: self.source,
            line: self.line,
        }
    }
}

#[derive(Debug, Clone)]
struct Eval {
    /// The span it names (trace id, span id); `NONE` interned when none.
    trace: Sym,
    span: SpanId,
    /// Its `gen_ai.response.id`, when a string.
    response: Sym,
    /// Its own `test.suite.run.id`, else its resource's.
    run: Text,
    /// Its name; with [`INVALID`], why it is not a valid evaluation (an
    /// index into `Data::deferred`, raised when its result is made).
    name: Sym,
    explanation: Sym,
    /// Its `gen_ai.evaluation.score.label`.
    label: Sym,
    /// Its `error.type`.
    error: Sym,
    /// Its score, if a finite number (`NaN` for none).
    score: f64,
    time: Nanos,
    line: u32,
    source: u16,
    passed: Option<bool>,
    flags: u8,
}

impl Eval {
    fn at(&self) -> At {
        At {
            source: self.source,
            line: self.line,
        }
    }

    fn names_a_span(&self) -> bool {
        !(self.flags & ID_INTERNED != 0 && self.span == SpanId::from(NONE))
    }
}

/// What the files held that the join uses.
#[derive(Debug, Clone, Default)]
struct Data {
    strings: Interner,
    spans: Vec<Span>,
    /// `spans` by their (trace, id).
    by_key: HashTable<u32>,
    /// Evaluations in the order read (results follow the files' order).
    evals: Vec<Eval>,
    resources: Vec<Texts>,
    resource_index: FxHashMap<Texts, u32>,
    /// Errors raised only if what they belong to is used.
    deferred: Vec<Invalid>,
    /// Times out of `i64`'s range ([`Nanos`]).
    far_times: Vec<i128>,
    /// Each file's name and modification time.
    sources: Vec<(String, Option<Timestamp>)>,
    /// Whether records are named with their file's name.
    named: bool,
}

impl Data {
    fn record(&self, at: At) -> String {
        match self.sources.get(at.source as usize) {
            Some((name, _)) if self.named => format!("{name} line {}", at.line),
            _ => format!("line {}", at.line),
        }
    }

    fn span(&self, trace: Sym, id: SpanId, interned: bool) -> Option<u32> {
        let hash = FxBuildHasher.hash_one((trace, id, interned));
        self.by_key
            .find(hash, |&i| {
                span_key(&self.spans[i as usize]) == (trace, id, interned)
            })
            .copied()
    }

    /// A span id as text (in lower case).
    fn id_text(&self, id: SpanId, interned: bool) -> String {
        if interned {
            self.strings.get(id as Sym).to_owned()
        } else {
            format!("{id:016x}")
        }
    }

    fn nanos(&mut self, value: Option<i128>) -> Result<Nanos, Invalid> {
        let Some(value) = value else {
            return Ok(Nanos(NO_TIME));
        };
        match i64::try_from(value) {
            Ok(near) if near > NEAR_TIME => Ok(Nanos(near)),
            _ => {
                let index = i64::try_from(self.far_times.len())
                    .ok()
                    .filter(|&i| NO_TIME + 1 + i <= NEAR_TIME)
                    .ok_or_else(|| Invalid::file("too many times out of range"))?;
                self.far_times.push(value);
                Ok(Nanos(NO_TIME + 1 + index))
            }
        }
    }

    fn time(&self, nanos: Nanos) -> Option<i128> {
        match nanos.0 {
            NO_TIME => None,
            far if far <= NEAR_TIME => self.far_times.get((far - NO_TIME - 1) as usize).copied(),
            near => Some(near.into()),
        }
    }

    /// A span read: a span read before with its ids is replaced.
    fn insert_span(&mut self, span: Span) {
        let Data { spans, by_key, .. } = self;
        let hash = FxBuildHasher.hash_one(span_key(&span));
        let entry = by_key.entry(
            hash,
            |&i| span_key(&spans[i as usize]) == span_key(&span),
            |&i| FxBuildHasher.hash_one(span_key(&spans[i as usize])),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(found) => spans[*found.get() as usize] = span,
            hashbrown::hash_table::Entry::Vacant(vacant) => {
                // Fewer spans than `u32::MAX`: each is far more than a byte.
                vacant.insert(spans.len() as u32);
                spans.push(span);
            }
        }
    }

    fn defer(&mut self, invalid: Invalid) -> u32 {
        self.deferred.push(invalid);
        (self.deferred.len() - 1) as u32
    }

    /// An attribute kept to be looked up later.
    fn keep(&mut self, attrs: &[Option<Attr<'_>>], index: usize) -> Result<Text, Invalid> {
        Ok(match attrs[index] {
            None => Text::NONE,
            Some(Attr::Str(s)) => Text(self.strings.intern(s)?),
            Some(Attr::Int(i)) if KEYS[index].ends_with(".id") => {
                Text(self.strings.intern(&i.to_string())?)
            }
            Some(Attr::Int(_)) => Text(FIRST_BAD + Kind::Integer as u32),
            Some(Attr::Double(_)) => Text(FIRST_BAD + Kind::Double as u32),
            Some(Attr::Bool) => Text(FIRST_BAD + Kind::Bool as u32),
            Some(Attr::Other(kind)) => Text(FIRST_BAD + kind as u32),
        })
    }

    fn texts(&mut self, attrs: &[Option<Attr<'_>>]) -> Result<Texts, Invalid> {
        let mut texts = [Text::NONE; 6];
        for (index, text) in texts.iter_mut().enumerate() {
            *text = self.keep(attrs, index)?;
        }
        Ok(texts)
    }

    fn resource(&mut self, attributes: &[KeyValue<'_>]) -> Result<u32, Invalid> {
        let texts = self.texts(&scan(attributes))?;
        if let Some(&index) = self.resource_index.get(&texts) {
            return Ok(index);
        }
        let index = self.resources.len() as u32;
        self.resources.push(texts);
        self.resource_index.insert(texts, index);
        Ok(index)
    }

    fn optional(&mut self, s: Option<&str>) -> Result<Sym, Invalid> {
        match s {
            Some(s) => self.strings.intern(s),
            None => Ok(NONE),
        }
    }

    /// The trace and the span of an id pair, trimmed and in lower case (the
    /// span's id, and whether it is interned); `None` when either is empty.
    fn ids(&mut self, trace: &str, span: &str) -> Result<Option<(Sym, SpanId, bool)>, Invalid> {
        let (trace, span) = (trace.trim(), span.trim());
        if trace.is_empty() || span.is_empty() {
            return Ok(None);
        }
        let trace = self.lower(trace)?;
        if span.len() == 16 && span.bytes().all(|b| b.is_ascii_hexdigit()) {
            if let Ok(id) = u64::from_str_radix(span, 16) {
                return Ok(Some((trace, id, false)));
            }
        }
        Ok(Some((trace, self.lower(span)?.into(), true)))
    }

    fn lower(&mut self, id: &str) -> Result<Sym, Invalid> {
        if id.bytes().any(|b| b.is_ascii_uppercase()) {
            self.strings.intern(&id.to_ascii_lowercase())
        } else {
            self.strings.intern(id)
        }
    }

    /// An evaluation from its attributes: what makes it invalid is kept,
    /// and raised when its result is made.
    fn eval(
        &mut self,
        ids: Option<(Sym, SpanId, bool)>,
        attrs: &[Option<Attr<'_>>],
        time: Option<i128>,
        resource: u32,
        at: At,
    ) -> Result<Eval, Invalid> {
        let record = || self.record(at);
        let checked = (|| {
            let name = text(attrs, EVAL_NAME, record)?.ok_or_else(|| {
                Invalid::at(
                    record(),
                    format!("a {EVENT} without gen_ai.evaluation.name"),
                )
            })?;
            let label = text(attrs, EVAL_LABEL, record)?;
            let error = text(attrs, ERROR_TYPE, record)?;
            let score = number(attrs, EVAL_SCORE, record)?;
            let explanation = text(attrs, EVAL_EXPLANATION, record)?;
            Ok::<_, Invalid>((name, label, error, score, explanation))
        })();
        let response = match attrs[RESPONSE_ID] {
            Some(Attr::Str(id)) => self.strings.intern(id)?,
            _ => NONE,
        };
        let (trace, span, interned) = ids.unwrap_or((NONE, NONE.into(), true));
        // A record's own run, else its resource's: what a result of its own
        // is named by (an error of either raised as the record's).
        let mut run = self.keep(attrs, RUN_ID)?;
        if run == Text::NONE {
            run = self
                .resources
                .get(resource as usize)
                .map_or(Text::NONE, |r| r[RUN_ID]);
        }
        let mut eval = Eval {
            trace,
            span,
            response,
            run,
            name: NONE,
            explanation: NONE,
            label: NONE,
            error: NONE,
            score: f64::NAN,
            time: self.nanos(time)?,
            line: at.line,
            source: at.source,
            passed: None,
            flags: if interned { ID_INTERNED } else { 0 },
        };
        match checked {
            Ok((name, label, error, score, explanation)) => {
                eval.name = self.strings.intern(&name)?;
                eval.passed = label.as_deref().and_then(label_passes);
                eval.label = self.optional(label.as_deref())?;
                eval.error = self.optional(error.as_deref())?;
                eval.score = score.filter(|v| v.is_finite()).unwrap_or(f64::NAN);
                eval.explanation = self.optional(explanation.as_deref())?;
            }
            Err(invalid) => {
                eval.name = self.defer(invalid);
                eval.flags |= INVALID;
            }
        }
        Ok(eval)
    }

    /// A batch's spans of one resource: each span by its key, and its
    /// `gen_ai.evaluation.result` events as evaluations.
    fn add_spans(&mut self, rs: &ResourceSpans<'_>, at: At) -> Result<(), Invalid> {
        let resource = self.resource(&rs.resource.attributes)?;
        for span in rs.scope_spans.iter().flat_map(|s| &s.spans) {
            let Some((trace, id, interned)) = self.ids(&span.trace_id.0, &span.span_id.0)? else {
                return Err(Invalid::at(
                    self.record(at),
                    "a span without traceId or spanId",
                ));
            };
            let attrs = scan(&span.attributes);
            let errored = span
                .status
                .as_ref()
                .and_then(|s| s.code)
                .is_some_and(|c| c.0);
            let error = match text(&attrs, ERROR_TYPE, || self.record(at))? {
                Some(kind) => Some(kind),
                None if errored => Some(
                    span.status
                        .as_ref()
                        .and_then(|s| s.message.as_ref())
                        .map(|m| Cow::Borrowed(&*m.0))
                        .filter(|m| !m.is_empty())
                        .unwrap_or(Cow::Borrowed("span status ERROR")),
                ),
                None => None,
            };
            for event in span.events.iter().filter(|e| e.name.0 == EVENT) {
                let eval = self.eval(
                    Some((trace, id, interned)),
                    &scan(&event.attributes),
                    event.time_unix_nano.map(|t| t.0),
                    resource,
                    at,
                )?;
                self.evals.push(eval);
            }
            let mut flags = if interned { ID_INTERNED } else { 0 };
            let parent = match self.ids(&span.trace_id.0, &span.parent_span_id.0)? {
                Some((_, parent, false)) => parent,
                Some((_, parent, true)) => {
                    flags |= PARENT_INTERNED;
                    parent
                }
                None => {
                    flags |= PARENT_INTERNED;
                    NONE.into()
                }
            };
            let own = own_tokens(&attrs, &|| self.record(at));
            let tokens = match own {
                Ok(Some(t)) => Tokens(t),
                Ok(None) => Tokens(-1),
                Err(invalid) => Tokens(-2 - i64::from(self.defer(invalid))),
            };
            let op = match attrs[OPERATION] {
                Some(Attr::Str("invoke_agent")) => Op::Agent,
                Some(Attr::Str(
                    "chat" | "text_completion" | "generate_content" | "create_agent",
                )) => Op::Inference,
                _ => Op::Other,
            };
            let span = Span {
                trace,
                id,
                parent,
                start: self.nanos(span.start_time_unix_nano.map(|t| t.0))?,
                end: self.nanos(span.end_time_unix_nano.map(|t| t.0))?,
                texts: self.texts(&attrs)?,
                response: match attrs[RESPONSE_ID] {
                    Some(Attr::Str(id)) => self.strings.intern(id)?,
                    _ => NONE,
                },
                tokens,
                error: self.optional(error.as_deref())?,
                resource,
                line: at.line,
                source: at.source,
                op,
                flags,
            };
            self.insert_span(span);
        }
        Ok(())
    }

    /// A batch's log records of one resource: those that are
    /// `gen_ai.evaluation.result` events (by `eventName`, or by the
    /// attribute `event.name` older SDKs set) as evaluations.
    fn add_logs(&mut self, rl: &ResourceLogs<'_>, at: At) -> Result<(), Invalid> {
        let resource = self.resource(&rl.resource.attributes)?;
        for log in rl.scope_logs.iter().flat_map(|s| &s.log_records) {
            let attrs = scan(&log.attributes);
            let named = log.event_name.0 == EVENT
                || (log.event_name.0.is_empty()
                    && text(&attrs, EVENT_NAME, || self.record(at))?.as_deref() == Some(EVENT));
            if named {
                let ids = self.ids(&log.trace_id.0, &log.span_id.0)?;
                let time = log
                    .time_unix_nano
                    .filter(|t| t.0 > 0)
                    .or(log.observed_time_unix_nano)
                    .map(|t| t.0);
                let eval = self.eval(ids, &attrs, time, resource, at)?;
                self.evals.push(eval);
            }
        }
        Ok(())
    }
}

/// serde_json's message without its ` at line L column C` (the record names
/// the line).
fn without_position(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message,
    }
}

// ---------------------------------------------------------------- reading

/// Why a file could not be read: its content, or the reading itself.
#[derive(Debug)]
pub(crate) enum ReadError {
    Invalid(Invalid),
    Io(std::io::Error),
}

impl From<Invalid> for ReadError {
    fn from(invalid: Invalid) -> Self {
        ReadError::Invalid(invalid)
    }
}

/// The OTLP files of an import, read one after the other, a record at a
/// time; [`Reader::finish`] joins them.
#[derive(Debug)]
pub(crate) struct Reader {
    data: Data,
    limit: usize,
}

impl Reader {
    /// A reader; `named`: whether records are named with their file (when
    /// an import has more than one).
    pub(crate) fn new(named: bool) -> Reader {
        Reader::with_limit(named, MAX_RECORD)
    }

    fn with_limit(named: bool, limit: usize) -> Reader {
        Reader {
            data: Data {
                named,
                ..Data::default()
            },
            limit,
        }
    }

    /// Reads a file, a line at a time. A value spread over lines is read
    /// whole (up to the limit), parsed again only once the lines gathered
    /// have doubled, so that a pretty-printed file is read in linear time.
    pub(crate) fn add(
        &mut self,
        name: &str,
        modified: Option<Timestamp>,
        mut input: impl BufRead,
    ) -> Result<(), ReadError> {
        let source = u16::try_from(self.data.sources.len())
            .map_err(|_| Invalid::file("more than 65,536 OTLP files in one import"))?;
        self.data.sources.push((name.to_owned(), modified));
        let at = |line: usize| At {
            source,
            line: u32::try_from(line).unwrap_or(u32::MAX),
        };
        // The bytes read and not yet parsed, and the line they start on.
        let mut buf: Vec<u8> = Vec::new();
        let mut line = 1usize;
        // Parse again once `buf` holds this many bytes (or at the end).
        let mut parse_at = 0usize;
        let mut first = true;
        let mut end = false;
        loop {
            if !end {
                let room = (self.limit + 1).saturating_sub(buf.len()) as u64;
                let n = std::io::Read::take(&mut input, room)
                    .read_until(b'\n', &mut buf)
                    .map_err(ReadError::Io)?;
                if first && n > 0 {
                    first = false;
                    if buf.starts_with(b"\xEF\xBB\xBF") {
                        buf.drain(..3);
                    }
                }
                end = n == 0;
                if buf.len() > self.limit {
                    // Values that ended before this line may be unparsed.
                    let (consumed, _) = self.parse(&buf, line, at, false)?;
                    line += newlines(&buf[..consumed]);
                    buf.drain(..consumed);
                    if buf.len() > self.limit {
                        let blank = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
                        let long = line + newlines(&buf[..blank]);
                        return Err(Invalid::at(
                            self.data.record(at(long)),
                            format!(
                                "a record longer than {}: not read (the OTLP file exporter writes a batch a line)",
                                size(self.limit)
                            ),
                        )
                        .into());
                    }
                    parse_at = 0;
                    continue;
                }
                if !end && buf.len() < parse_at {
                    continue;
                }
            }
            let (consumed, incomplete) = self.parse(&buf, line, at, end)?;
            line += newlines(&buf[..consumed]);
            buf.drain(..consumed);
            if end {
                return Ok(());
            }
            parse_at = if incomplete { buf.len() * 2 } else { 0 };
        }
    }

    /// Parses the values `buf` holds: how many bytes they took, and whether
    /// a value is left incomplete (then read on, unless at the `end`).
    fn parse(
        &mut self,
        buf: &[u8],
        line: usize,
        at: impl Fn(usize) -> At,
        end: bool,
    ) -> Result<(usize, bool), Invalid> {
        let mut stream = serde_json::Deserializer::from_slice(buf).into_iter::<Batch<'_>>();
        // The line the next value starts on, counted up to `counted`.
        let (mut counted, mut value_line) = (0usize, line);
        loop {
            let offset = stream.byte_offset();
            let rest = buf.get(offset..).unwrap_or_default();
            let skipped = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
            let upto = (offset + skipped).min(buf.len());
            value_line += newlines(buf.get(counted..upto).unwrap_or_default());
            counted = upto;
            match stream.next() {
                None => return Ok((buf.len(), false)),
                Some(Ok(batch)) => {
                    let at = at(value_line);
                    for rs in &batch.resource_spans {
                        self.data.add_spans(rs, at)?;
                    }
                    for rl in &batch.resource_logs {
                        self.data.add_logs(rl, at)?;
                    }
                }
                Some(Err(e)) if e.is_eof() && !end => return Ok((offset, true)),
                Some(Err(e)) => {
                    let at = at(if e.line() > 0 {
                        line + e.line() - 1
                    } else {
                        value_line
                    });
                    return Err(Invalid::at(self.data.record(at), without_position(&e)));
                }
            }
        }
    }

    /// Joins the evaluations read to their spans, and checks every result:
    /// what [`Joined::results`] makes cannot then fail.
    pub(crate) fn finish(mut self) -> Result<Joined, Invalid> {
        // Nothing is interned from here on: the strings are only read.
        self.data.strings.table = HashTable::new();
        let mut joined = Joined::new(self.data);
        let (mut no_case, mut unknown_spans, mut alone) = (0, 0, 0);
        for group in 0..joined.groups.len() {
            let (_, kind) = joined.result(group)?;
            match kind {
                Made::Span { case: true } => {}
                Made::Span { case: false } => no_case += 1,
                Made::UnknownSpan => unknown_spans += 1,
                Made::Alone => alone += 1,
            }
            joined.count += 1;
        }
        let notes = &mut joined.notes;
        if no_case > 0 {
            notes.push(format!(
                "{no_case} evaluated spans have no test.case.id or test.case.name: their case is the span id, their run the trace id"
            ));
        }
        if unknown_spans > 0 {
            notes.push(format!(
                "{unknown_spans} evaluated spans are in none of the files read (import the traces with the logs): their case is the span id, their run the trace id"
            ));
        }
        if alone > 0 {
            notes.push(format!(
                "{alone} evaluations name no span: each is a result of its own (case: its gen_ai.response.id, else its line)"
            ));
        }
        if joined.data.evals.is_empty() {
            notes.push(format!("no {EVENT} in the file(s)"));
        }
        Ok(joined)
    }
}

/// Each span's children: `children[start[i]..start[i + 1]]`.
fn children(parents: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let n = parents.len();
    let mut start = vec![0u32; n + 1];
    for &p in parents.iter().filter(|&&p| p != NONE) {
        start[p as usize + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut children = vec![0u32; start[n] as usize];
    for (child, &p) in parents.iter().enumerate() {
        if p != NONE {
            children[fill[p as usize] as usize] = child as u32;
            fill[p as usize] += 1;
        }
    }
    (start, children)
}

/// Spans by their `gen_ai.response.id`: the earliest keeps a shared one
/// (the first read, of those as early).
fn responses(data: &Data) -> FxHashMap<Sym, u32> {
    let mut by_response: FxHashMap<Sym, u32> = FxHashMap::default();
    for (i, span) in data.spans.iter().enumerate() {
        if span.response != NONE {
            by_response
                .entry(span.response)
                .and_modify(|k| {
                    if data.time(data.spans[*k as usize].start) > data.time(span.start) {
                        *k = i as u32;
                    }
                })
                .or_insert(i as u32);
        }
    }
    by_response
}

/// A span's key: its trace, its id, and whether the id is interned.
fn span_key(span: &Span) -> (Sym, SpanId, bool) {
    (span.trace, span.id, span.flags & ID_INTERNED != 0)
}

/// A limit in MiB, or in bytes below one MiB.
fn size(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

fn newlines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

// ------------------------------------------------------------- the joining

/// Where an evaluation belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Owner {
    /// A span the files hold.
    Span(u32),
    /// A span (trace, id, whether interned) none of the files holds.
    Unknown(Sym, SpanId, bool),
    /// A `gen_ai.response.id` no span has.
    Response(Sym),
    /// Nothing: the records of one line of one file.
    Alone(At),
}

/// What kind of result a group made (for the notes).
#[derive(Debug, Clone, Copy)]
enum Made {
    Span { case: bool },
    UnknownSpan,
    Alone,
}

/// How far up (lineage) or down (tokens) from a span the join looks: a
/// crafted file of one span chain thousands deep, each evaluated, is read
/// in linear time, not quadratic.
const MAX_DEPTH: usize = 64;

/// The files' evaluations, grouped by the result they belong to, ready to
/// make the results one at a time.
#[derive(Debug, Clone)]
pub(crate) struct Joined {
    data: Data,
    /// Each span's parent span, if the files hold it.
    parents: Vec<u32>,
    /// Each span's children: `children[child_start[i]..child_start[i + 1]]`.
    child_start: Vec<u32>,
    children: Vec<u32>,
    /// The results' owners, in the order first met, and each one's
    /// evaluations: `members[member_start[g]..member_start[g + 1]]`.
    groups: Vec<Owner>,
    member_start: Vec<u32>,
    members: Vec<u32>,
    count: usize,
    notes: Vec<String>,
}

impl Joined {
    fn new(data: Data) -> Joined {
        let n = data.spans.len();
        let parents: Vec<u32> = data
            .spans
            .iter()
            .map(|s| {
                let interned = s.flags & PARENT_INTERNED != 0;
                if interned && s.parent == SpanId::from(NONE) {
                    NONE
                } else {
                    data.span(s.trace, s.parent, interned).unwrap_or(NONE)
                }
            })
            .collect();
        // Children, grouped by parent (counting sort): only a span without
        // usage of its own sums theirs.
        let (child_start, children) = if data.spans.iter().any(|s| s.tokens.0 == -1) {
            children(&parents)
        } else {
            (Vec::new(), Vec::new())
        };
        let mut joined = Joined {
            data,
            parents,
            child_start,
            children,
            groups: Vec::new(),
            member_start: Vec::new(),
            members: Vec::new(),
            count: 0,
            notes: Vec::new(),
        };
        // Who each evaluation belongs to: the agent or inference span above
        // the span it is parented to, else the span with its
        // `gen_ai.response.id`, else the span it names, else its response
        // id or its line alone. Spans by response id are indexed only if an
        // evaluation needs them.
        let mut by_response: Option<FxHashMap<Sym, u32>> = None;
        // The group of each span that is an owner; of other owners.
        let mut span_group = vec![NONE; n];
        let mut index: FxHashMap<Owner, u32> = FxHashMap::default();
        let mut groups: Vec<Owner> = Vec::new();
        let mut group_of = Vec::with_capacity(joined.data.evals.len());
        for eval in &joined.data.evals {
            let interned = eval.flags & ID_INTERNED != 0;
            let named = eval
                .names_a_span()
                .then(|| joined.data.span(eval.trace, eval.span, interned))
                .flatten();
            let owner = match named.and_then(|s| joined.operation(s)) {
                Some(s) => Some(s),
                None if eval.response != NONE => by_response
                    .get_or_insert_with(|| responses(&joined.data))
                    .get(&eval.response)
                    .map(|&k| joined.operation(k).unwrap_or(k)),
                None => None,
            };
            let owner = owner.or(named).map(Owner::Span).unwrap_or_else(|| {
                if eval.names_a_span() {
                    Owner::Unknown(eval.trace, eval.span, interned)
                } else if eval.response != NONE {
                    Owner::Response(eval.response)
                } else {
                    Owner::Alone(eval.at())
                }
            });
            let next = groups.len() as u32;
            let group = match owner {
                Owner::Span(s) => {
                    let slot = &mut span_group[s as usize];
                    if *slot == NONE {
                        *slot = next;
                    }
                    *slot
                }
                other => *index.entry(other).or_insert(next),
            };
            if group == next {
                groups.push(owner);
            }
            group_of.push(group);
        }
        drop((index, span_group, by_response));
        // Spans are not looked up by their ids from here on.
        joined.data.by_key = HashTable::new();
        let mut member_start = vec![0u32; groups.len() + 1];
        for &g in &group_of {
            member_start[g as usize + 1] += 1;
        }
        for g in 0..groups.len() {
            member_start[g + 1] += member_start[g];
        }
        let mut fill = member_start.clone();
        let mut members = vec![0u32; group_of.len()];
        for (eval, &g) in group_of.iter().enumerate() {
            members[fill[g as usize] as usize] = eval as u32;
            fill[g as usize] += 1;
        }
        joined.groups = groups;
        joined.member_start = member_start;
        joined.members = members;
        joined
    }

    /// How many results there are.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// What the reader noticed.
    pub(crate) fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The results, in the order their first evaluation was read.
    pub(crate) fn results(&self) -> impl Iterator<Item = Result<CaseResult, Invalid>> + '_ {
        (0..self.groups.len()).map(|g| self.result(g).map(|(result, _)| result))
    }

    fn string(&self, sym: Sym) -> Option<String> {
        (sym != NONE).then(|| self.data.strings.get(sym).to_owned())
    }

    /// The span and its ancestors, nearest first, to [`MAX_DEPTH`] of them
    /// (a cycle ends the walk).
    fn lineage(&self, from: u32) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
        let mut at = from;
        while at != NONE {
            if out.contains(&at) || out.len() > MAX_DEPTH {
                break;
            }
            out.push(at);
            at = self.parents[at as usize];
        }
        out
    }

    /// The nearest `invoke_agent` up from the span, else the nearest
    /// inference span.
    fn operation(&self, from: u32) -> Option<u32> {
        let line = self.lineage(from);
        let op = |s: &u32| self.data.spans[*s as usize].op;
        line.iter()
            .find(|s| op(s) == Op::Agent)
            .or_else(|| line.iter().find(|s| op(s) == Op::Inference))
            .copied()
    }

    /// A kept string attribute; an error if it had another type.
    fn text(&self, text: Text, index: usize, at: At) -> Result<Option<String>, Invalid> {
        match text.0 {
            NONE => Ok(None),
            bad if bad >= FIRST_BAD => Err(Invalid::at(
                self.data.record(at),
                format!(
                    "{} must be a string, not {}",
                    KEYS[index],
                    Kind::ALL[(bad - FIRST_BAD) as usize].name()
                ),
            )),
            sym => Ok(Some(self.data.strings.get(sym).to_owned())),
        }
    }

    /// An attribute up the span's lineage, then its resource.
    fn inherited(&self, span: u32, keys: &[usize]) -> Result<Option<String>, Invalid> {
        let line = self.lineage(span);
        for &s in &line {
            let s = &self.data.spans[s as usize];
            for &key in keys {
                if let Some(v) = self.text(s.texts[key], key, s.at())? {
                    return Ok(Some(v));
                }
            }
        }
        if let Some(&s) = line.first() {
            let s = &self.data.spans[s as usize];
            if let Some(resource) = self.data.resources.get(s.resource as usize) {
                for &key in keys {
                    if let Some(v) = self.text(resource[key], key, s.at())? {
                        return Ok(Some(v));
                    }
                }
            }
        }
        Ok(None)
    }

    /// The span's tokens; a span with no usage sums its children's.
    fn tokens(&self, span: u32, depth: usize) -> Result<Option<i64>, Invalid> {
        match self.data.spans[span as usize].tokens.0 {
            -1 => {}
            own @ 0.. => return Ok(Some(own)),
            err => return Err(self.data.deferred[(-2 - err) as usize].clone()),
        }
        if depth > MAX_DEPTH {
            return Ok(None);
        }
        let i = span as usize;
        let children = match (self.child_start.get(i), self.child_start.get(i + 1)) {
            (Some(&from), Some(&to)) => &self.children[from as usize..to as usize],
            _ => &[],
        };
        let mut sum: Option<i64> = None;
        for &child in children {
            if let Some(t) = self.tokens(child, depth + 1)? {
                sum = Some(sum.unwrap_or(0).saturating_add(t));
            }
        }
        Ok(sum)
    }

    fn group(&self, group: usize) -> impl Iterator<Item = &Eval> + '_ {
        let (from, to) = (
            self.member_start[group] as usize,
            self.member_start[group + 1] as usize,
        );
        self.members[from..to]
            .iter()
            .map(|&e| &self.data.evals[e as usize])
    }

    fn evaluations(&self, group: usize) -> Result<(Vec<Evaluation>, Option<String>), Invalid> {
        let mut out = Vec::new();
        let mut error = None;
        for eval in self.group(group) {
            if eval.flags & INVALID != 0 {
                return Err(self.data.deferred[eval.name as usize].clone());
            }
            let name = self.data.strings.get(eval.name).to_owned();
            if eval.error != NONE {
                error.get_or_insert_with(|| {
                    format!("evaluation {name}: {}", self.data.strings.get(eval.error))
                });
            }
            out.push(Evaluation {
                score: Some(eval.score).filter(|v| v.is_finite()),
                passed: eval.passed,
                explanation: self.string(eval.explanation),
                label: self.string(eval.label),
                name,
            });
        }
        Ok((out, error))
    }

    /// The modification time of the file of the group's first evaluation.
    fn modified(&self, group: usize) -> Option<Timestamp> {
        self.group(group)
            .next()
            .and_then(|e| self.data.sources.get(usize::from(e.source)))
            .and_then(|(_, modified)| *modified)
    }

    fn result(&self, group: usize) -> Result<(CaseResult, Made), Invalid> {
        match self.groups[group] {
            Owner::Span(span) => self.span_result(span, group),
            Owner::Unknown(trace, span, interned) => {
                let case = self.data.id_text(span, interned);
                let trace = self.string(trace);
                Ok((self.alone_result(case, trace, group)?, Made::UnknownSpan))
            }
            Owner::Response(id) => {
                let case = self.data.strings.get(id).to_owned();
                Ok((self.alone_result(case, None, group)?, Made::Alone))
            }
            Owner::Alone(at) => Ok((
                self.alone_result(self.data.record(at), None, group)?,
                Made::Alone,
            )),
        }
    }

    /// The result of an evaluated span the files hold.
    fn span_result(&self, index: u32, group: usize) -> Result<(CaseResult, Made), Invalid> {
        let span = &self.data.spans[index as usize];
        let trace = self.data.strings.get(span.trace);
        let id = self.data.id_text(span.id, span.flags & ID_INTERNED != 0);
        let id = id.as_str();
        let case = self.inherited(index, &[CASE_ID, CASE_NAME])?;
        let run = self.inherited(index, &[RUN_ID])?;
        let found = case.is_some();
        let (case, run) = match case {
            Some(case) => (case, run.unwrap_or_else(|| trace.to_owned())),
            None => (id.to_owned(), trace.to_owned()),
        };
        let (evaluations, eval_error) = self.evaluations(group)?;
        let time = at(self.data.time(span.start))
            .or_else(|| self.group(group).find_map(|e| at(self.data.time(e.time))))
            .or(self.modified(group))
            .unwrap_or(Timestamp::UNIX_EPOCH);
        let mut result = CaseResult::new(run, case, time);
        let response_model = self.inherited(index, &[RESPONSE_MODEL])?;
        let request_model = self.inherited(index, &[REQUEST_MODEL])?;
        result.model = response_model.or(request_model);
        result.tokens = self.tokens(index, 0)?;
        result.latency_ms = match (self.data.time(span.start), self.data.time(span.end)) {
            (Some(s), Some(e)) if e >= s && s > 0 => Some((e - s) as f64 / 1e6),
            _ => None,
        };
        result.error = self.string(span.error).or(eval_error);
        result.evaluations = evaluations;
        result
            .labels
            .insert("trace_id".to_owned(), trace.to_owned());
        result.labels.insert("span_id".to_owned(), id.to_owned());
        if let Some(suite) = self.inherited(index, &[SUITE_NAME])? {
            result.labels.insert("test.suite.name".to_owned(), suite);
        }
        result.passed = result.passed_by_evaluations();
        Ok((result, Made::Span { case: found }))
    }

    /// The result of evaluations whose span no file holds.
    fn alone_result(
        &self,
        case: String,
        trace: Option<String>,
        group: usize,
    ) -> Result<CaseResult, Invalid> {
        let first = self
            .group(group)
            .next()
            .ok_or_else(|| Invalid::file("an empty group of evaluations"))?;
        let run = self.text(first.run, RUN_ID, first.at())?;
        let run = run.or(trace).unwrap_or_else(|| "otlp".to_owned());
        let time = self
            .group(group)
            .find_map(|e| at(self.data.time(e.time)))
            .or(self.modified(group))
            .unwrap_or(Timestamp::UNIX_EPOCH);
        let (evaluations, error) = self.evaluations(group)?;
        let mut result = CaseResult::new(run, case, time);
        result.error = error;
        result.evaluations = evaluations;
        result.passed = result.passed_by_evaluations();
        Ok(result)
    }
}

fn at(nanos: Option<i128>) -> Option<Timestamp> {
    nanos
        .filter(|n| *n > 0)
        .and_then(|n| Timestamp::from_nanosecond(n).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::fixtures::failing;

    const DIR: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/import/otlp"
    );

    fn read_fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{DIR}/{name}")).unwrap()
    }

    fn source<'a>(name: &'a str, bytes: &'a [u8]) -> Source<'a> {
        Source {
            name,
            modified: None,
            bytes,
        }
    }

    #[test]
    fn traces_and_logs_join_as_the_tool_wrote_them() {
        let traces = read_fixture("traces.jsonl");
        let logs = read_fixture("logs.jsonl");
        assert!(sniff(source("traces.jsonl", &traces)));
        assert!(sniff(source("logs.jsonl", &logs)));
        let parsed =
            parse_many(&[source("traces.jsonl", &traces), source("logs.jsonl", &logs)]).unwrap();
        assert!(parsed.notes.is_empty(), "{:?}", parsed.notes);
        assert_eq!(parsed.results.len(), 120);

        let expected: serde_json::Value =
            serde_json::from_slice(&read_fixture("expected.json")).unwrap();
        for (n, run) in expected["runs"].as_array().unwrap().iter().enumerate() {
            let id = run["run"].as_str().unwrap();
            let results: Vec<&CaseResult> = parsed.results.iter().filter(|r| r.run == id).collect();
            assert_eq!(results.len(), 12, "{id}");
            let evaluations: Vec<&Evaluation> =
                results.iter().flat_map(|r| &r.evaluations).collect();
            assert_eq!(
                evaluations.len() as u64,
                run["evaluations"].as_u64().unwrap(),
                "{id}"
            );
            let passes = evaluations
                .iter()
                .filter(|e| e.passed == Some(true))
                .count();
            let fails = evaluations
                .iter()
                .filter(|e| e.passed == Some(false))
                .count();
            assert_eq!(
                passes as u64,
                run["labels"]["pass"].as_u64().unwrap(),
                "{id}"
            );
            assert_eq!(
                fails as u64,
                run["labels"]["fail"].as_u64().unwrap_or(0),
                "{id}"
            );
            let mut failed: Vec<String> = results
                .iter()
                .filter(|r| !r.passed)
                .map(|r| r.case.clone())
                .collect();
            failed.sort();
            assert_eq!(
                failed,
                failing(n + 1).into_iter().collect::<Vec<_>>(),
                "{id}"
            );
            for r in &results {
                assert_eq!(r.model.as_deref(), Some("mock-agent-model-2026-11"));
                assert!(r.tokens.unwrap() > 0);
                assert!(r.latency_ms.unwrap() > 0.0);
                let names: Vec<&str> = r.evaluations.iter().map(|e| e.name.as_str()).collect();
                assert_eq!(names, ["correct", "quality"], "{id} {}", r.case);
                assert!(r.evaluations.iter().all(|e| e.score.is_some()));
            }
        }
        // Tokens are the agent span's input + output (cache reads are part of input).
        // Results follow the files' order: run 8's span events (traces.jsonl) first.
        assert_eq!(parsed.results[0].run, "run-08");
        let first = parsed
            .results
            .iter()
            .find(|r| r.run == "run-01" && r.case == "case-01")
            .unwrap();
        assert_eq!(
            (first.run.as_str(), first.case.as_str()),
            ("run-01", "case-01")
        );
        assert_eq!(first.tokens, Some(440));
        assert_eq!(first.latency_ms, Some(2100.0));
    }

    #[test]
    fn one_file_with_both_reads_alone_and_logs_alone_say_so() {
        let traces = read_fixture("traces.jsonl");
        let logs = read_fixture("logs.jsonl");
        let mut both = traces.clone();
        both.extend_from_slice(&logs);
        let joined = parse(source("both.jsonl", &both)).unwrap();
        let many =
            parse_many(&[source("traces.jsonl", &traces), source("logs.jsonl", &logs)]).unwrap();
        let key = |p: &Parsed| {
            let mut v: Vec<(String, String, bool, usize)> = p
                .results
                .iter()
                .map(|r| (r.run.clone(), r.case.clone(), r.passed, r.evaluations.len()))
                .collect();
            v.sort();
            v
        };
        assert_eq!(key(&joined), key(&many));

        // Logs without their spans: a result per span, by its ids, with a note.
        let alone = parse(source("logs.jsonl", &logs)).unwrap();
        assert_eq!(
            alone.results.len(),
            108,
            "run 8's evaluations are span events"
        );
        assert_eq!(alone.notes.len(), 1, "{:?}", alone.notes);
        assert!(alone
            .results
            .iter()
            .all(|r| r.run.len() == 32 && r.case.len() == 16));
    }

    #[test]
    fn a_record_naming_nothing_is_its_own_result() {
        let line = r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"test.suite.run.id","value":{"stringValue":"r1"}}]},"scopeLogs":[{"logRecords":[
            {"eventName":"gen_ai.evaluation.result","timeUnixNano":"1793523602000000000","attributes":[{"key":"gen_ai.evaluation.name","value":{"stringValue":"correct"}},{"key":"gen_ai.evaluation.score.label","value":{"stringValue":"fail"}},{"key":"gen_ai.response.id","value":{"stringValue":"resp-1"}}]},
            {"eventName":"gen_ai.evaluation.result","attributes":[{"key":"gen_ai.evaluation.name","value":{"stringValue":"quality"}},{"key":"gen_ai.evaluation.score.value","value":{"intValue":1}},{"key":"gen_ai.response.id","value":{"stringValue":"resp-1"}},{"key":"error.type","value":{"stringValue":"timeout"}}]}
        ]}]}]}"#;
        let parsed = parse(source("l.json", line.as_bytes())).unwrap();
        assert_eq!(parsed.results.len(), 1);
        let r = &parsed.results[0];
        assert_eq!((r.run.as_str(), r.case.as_str()), ("r1", "resp-1"));
        assert_eq!(r.evaluations.len(), 2);
        assert_eq!(r.evaluations[1].score, Some(1.0));
        assert_eq!(r.error.as_deref(), Some("evaluation quality: timeout"));
        assert!(!r.passed);
        assert_eq!(parsed.notes.len(), 1);
    }

    #[test]
    fn bad_input_is_invalid_and_names_the_line() {
        let traces = read_fixture("traces.jsonl");
        // Truncated last line.
        let cut = &traces[..traces.len() - 100];
        let err = parse(source("t.jsonl", cut)).unwrap_err();
        assert_eq!(err.record.as_deref(), Some("line 10"), "{err}");

        let wrong = br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"eventName":"gen_ai.evaluation.result","attributes":[{"key":"gen_ai.evaluation.name","value":{"intValue":"3"}}]}]}]}]}"#;
        let mut two = b"{}\n".to_vec();
        two.extend_from_slice(wrong);
        let err = parse(source("l.jsonl", &two)).unwrap_err();
        assert_eq!(err.record.as_deref(), Some("line 2"));
        assert!(
            err.message
                .contains("gen_ai.evaluation.name must be a string"),
            "{err}"
        );

        let score = br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"eventName":"gen_ai.evaluation.result","attributes":[{"key":"gen_ai.evaluation.name","value":{"stringValue":"q"}},{"key":"gen_ai.evaluation.score.value","value":{"stringValue":"high"}}]}]}]}]}"#;
        let err = parse(source("l.jsonl", score)).unwrap_err();
        assert!(
            err.message.contains("score.value must be a number"),
            "{err}"
        );

        let bad_int = br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"eventName":"x","attributes":[{"key":"n","value":{"intValue":"many"}}]}]}]}]}"#;
        let err = parse_many(&[source("a.jsonl", b"{}"), source("b.jsonl", bad_int)]).unwrap_err();
        assert_eq!(err.record.as_deref(), Some("b.jsonl line 1"));

        let tokens = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"aa","spanId":"bb","attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},{"key":"gen_ai.usage.input_tokens","value":{"stringValue":"ten"}}],"events":[{"name":"gen_ai.evaluation.result","attributes":[{"key":"gen_ai.evaluation.name","value":{"stringValue":"q"}}]}]}]}]}]}"#;
        let err = parse(source("t.jsonl", tokens)).unwrap_err();
        assert!(
            err.message.contains("input_tokens must be an integer"),
            "{err}"
        );

        assert!(parse(source("x", b"[1,2]")).is_err());
        assert!(parse(source("x", b"\xff\xfe")).is_err());
    }

    #[test]
    fn tokens_do_not_count_a_cache_twice() {
        let span = |attrs: &str| {
            format!(
                r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"aa","spanId":"bb","startTimeUnixNano":1,"endTimeUnixNano":"2000001","attributes":[{{"key":"gen_ai.operation.name","value":{{"stringValue":"chat"}}}},{{"key":"test.case.id","value":{{"stringValue":"c"}}}}{attrs}],"events":[{{"name":"gen_ai.evaluation.result","attributes":[{{"key":"gen_ai.evaluation.name","value":{{"stringValue":"q"}}}}]}}]}}]}}]}}]}}"#
            )
        };
        let kv = |k: &str, v: i64| {
            format!(r#",{{"key":"gen_ai.usage.{k}","value":{{"intValue":{v}}}}}"#)
        };
        let tokens = |attrs: String| {
            let text = span(&attrs);
            let parsed = parse(source("t", text.as_bytes())).unwrap();
            parsed.results[0].tokens
        };
        assert_eq!(
            tokens(
                kv("input_tokens", 10)
                    + &kv("output_tokens", 5)
                    + &kv("cache_read.input_tokens", 7)
            ),
            Some(15)
        );
        assert_eq!(
            tokens(
                kv("output_tokens", 5)
                    + &kv("cache_read.input_tokens", 7)
                    + &kv("cache_creation.input_tokens", 3)
                    + &kv("cache_write.input_tokens", 3)
            ),
            Some(15)
        );
        assert_eq!(tokens(String::new()), None);
        let text = span("");
        let parsed = parse(source("t", text.as_bytes())).unwrap();
        let r = &parsed.results[0];
        assert_eq!(r.latency_ms, Some(2.0));
        // No run anywhere: the trace id.
        assert_eq!((r.run.as_str(), r.case.as_str()), ("aa", "c"));
    }

    #[test]
    fn token_counts_near_the_limit_or_negative_neither_panic_nor_import() {
        let span = |attrs: &str| {
            format!(
                r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"aa","spanId":"bb","attributes":[{{"key":"gen_ai.operation.name","value":{{"stringValue":"chat"}}}}{attrs}],"events":[{{"name":"gen_ai.evaluation.result","attributes":[{{"key":"gen_ai.evaluation.name","value":{{"stringValue":"q"}}}}]}}]}}]}}]}}]}}"#
            )
        };
        let kv = |k: &str, v: &str| {
            format!(r#",{{"key":"gen_ai.usage.{k}","value":{{"intValue":"{v}"}}}}"#)
        };
        let max = i64::MAX.to_string();
        let text =
            span(&(kv("cache_read.input_tokens", &max) + &kv("cache_creation.input_tokens", &max)));
        let parsed = parse(source("t", text.as_bytes())).unwrap();
        assert_eq!(parsed.results[0].tokens, Some(i64::MAX));

        let text = span(&kv("input_tokens", "-5"));
        let err = parse(source("t", text.as_bytes())).unwrap_err();
        assert_eq!(err.record.as_deref(), Some("line 1"), "{err}");
        assert!(
            err.message.contains("input_tokens: -5 is negative"),
            "{err}"
        );
    }

    #[test]
    fn a_span_chain_thousands_deep_reads_in_linear_time() {
        let n = 3000;
        let id = |i: usize| format!("{i:016x}");
        let spans: Vec<String> = (0..n)
            .map(|i| {
                let parent = if i + 1 < n { id(i + 1) } else { String::new() };
                format!(
                    r#"{{"traceId":"aa","spanId":"{}","parentSpanId":"{parent}","attributes":[{{"key":"gen_ai.operation.name","value":{{"stringValue":"chat"}}}}],"events":[{{"name":"gen_ai.evaluation.result","attributes":[{{"key":"gen_ai.evaluation.name","value":{{"stringValue":"q"}}}}]}}]}}"#,
                    id(i)
                )
            })
            .collect();
        let text = format!(
            r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{}]}}]}}]}}"#,
            spans.join(",")
        );
        let started = std::time::Instant::now();
        let parsed = parse(source("t", text.as_bytes())).unwrap();
        assert_eq!(parsed.results.len(), n);
        // Unbounded, the walks up the chain took minutes here (debug build).
        assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    }

    /// Bytes that fail the test if read past `until`: what a reader that
    /// streams never does.
    struct Tripwire {
        bytes: Vec<u8>,
        at: usize,
        until: usize,
    }

    impl std::io::Read for Tripwire {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            assert!(self.at < self.until, "read past byte {}", self.until);
            let n = buf
                .len()
                .min(self.bytes.len() - self.at)
                .min(self.until - self.at);
            buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    #[test]
    fn a_line_over_the_limit_is_refused_by_its_line_without_reading_on() {
        let first = read_fixture("traces.jsonl");
        let first = first.split(|&b| b == b'\n').next().unwrap().to_vec();
        let limit = first.len() + 100;
        let mut bytes = first.clone();
        bytes.push(b'\n');
        // Line 2: a value that never ends, far over the limit.
        bytes.extend_from_slice(br#"{"resourceSpans":[{"scopeSpans":[{"spans":["#);
        let start = bytes.len();
        bytes.resize(start + 64 * limit, b' ');
        let until = first.len() + 1 + limit + 1 + 4096;
        let input = std::io::BufReader::with_capacity(
            4096,
            Tripwire {
                bytes,
                at: 0,
                until,
            },
        );
        let mut reader = Reader::with_limit(false, limit);
        let err = match reader.add("t.jsonl", None, input) {
            Err(ReadError::Invalid(err)) => err,
            other => panic!("{other:?}"),
        };
        assert_eq!(err.record.as_deref(), Some("line 2"), "{err}");
        assert!(err.message.contains("a record longer than"), "{err}");
        // The first line was read, and kept.
        assert!(!reader.data.spans.is_empty());
    }

    #[test]
    fn a_pretty_printed_file_reads_as_its_lines_do_and_names_its_lines() {
        let traces = read_fixture("traces.jsonl");
        let logs = read_fixture("logs.jsonl");
        let pretty = |bytes: &[u8]| {
            let mut out = String::new();
            for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let value: serde_json::Value = serde_json::from_slice(line).unwrap();
                out.push_str(&serde_json::to_string_pretty(&value).unwrap());
                out.push('\n');
            }
            out.into_bytes()
        };
        let (pretty_traces, pretty_logs) = (pretty(&traces), pretty(&logs));
        let lines =
            parse_many(&[source("traces.jsonl", &traces), source("logs.jsonl", &logs)]).unwrap();
        let pretty = parse_many(&[
            source("traces.jsonl", &pretty_traces),
            source("logs.jsonl", &pretty_logs),
        ])
        .unwrap();
        assert_eq!(lines, pretty);

        // Two values on a line, then a pretty one cut short: the error names
        // the line the parser stopped on, counted over the whole file.
        let mut text = b"{} {}\n".to_vec();
        text.extend_from_slice(&pretty_traces[..pretty_traces.len() / 2]);
        let err = parse(source("t.jsonl", &text)).unwrap_err();
        let total = text.iter().filter(|&&b| b == b'\n').count() + 1;
        assert_eq!(err.record, Some(format!("line {total}")), "{err}");
    }

    #[test]
    fn spans_sharing_a_response_id_and_a_start_give_it_to_the_first_read() {
        // Before, the span was the first met in a HashMap's order: either.
        let span = |id: &str, case: &str| {
            format!(
                r#"{{"traceId":"aa","spanId":"{id}","startTimeUnixNano":5,"attributes":[{{"key":"gen_ai.operation.name","value":{{"stringValue":"chat"}}}},{{"key":"gen_ai.response.id","value":{{"stringValue":"r"}}}},{{"key":"test.case.id","value":{{"stringValue":"{case}"}}}}]}}"#
            )
        };
        let log = r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"eventName":"gen_ai.evaluation.result","attributes":[{"key":"gen_ai.evaluation.name","value":{"stringValue":"q"}},{"key":"gen_ai.response.id","value":{"stringValue":"r"}}]}]}]}]}"#;
        for (first, second) in [("b1", "b2"), ("b2", "b1")] {
            let text = format!(
                "{{\"resourceSpans\":[{{\"scopeSpans\":[{{\"spans\":[{},{}]}}]}}]}}\n{log}\n",
                span(first, &format!("case-{first}")),
                span(second, &format!("case-{second}")),
            );
            let parsed = parse(source("t.jsonl", text.as_bytes())).unwrap();
            assert_eq!(parsed.results.len(), 1);
            assert_eq!(parsed.results[0].case, format!("case-{first}"));
        }
    }

    #[test]
    fn span_ids_in_hex_or_not_and_far_times_keep_their_text_and_value() {
        // A 16-hex id in capitals is the same span in lower case; a shorter
        // one is text; a time past 2262 (out of i64 nanoseconds) is kept.
        let far = "32503680000000000000"; // 3000-01-01, past i64 nanoseconds
        let text = format!(
            r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[
                {{"traceId":"AA","spanId":"00000000000000FF","startTimeUnixNano":"{far}","attributes":[{{"key":"gen_ai.operation.name","value":{{"stringValue":"chat"}}}}]}},
                {{"traceId":"aa","spanId":"ff","attributes":[{{"key":"gen_ai.operation.name","value":{{"stringValue":"chat"}}}}]}}]}}]}}]}}
            {{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[
                {{"eventName":"gen_ai.evaluation.result","traceId":"aa","spanId":"00000000000000ff","attributes":[{{"key":"gen_ai.evaluation.name","value":{{"stringValue":"q"}}}}]}},
                {{"eventName":"gen_ai.evaluation.result","traceId":"aa","spanId":"FF","attributes":[{{"key":"gen_ai.evaluation.name","value":{{"stringValue":"q"}}}}]}},
                {{"eventName":"gen_ai.evaluation.result","traceId":"aa","spanId":"0123456789abcdef","attributes":[{{"key":"gen_ai.evaluation.name","value":{{"stringValue":"q"}}}}]}}]}}]}}]}}"#
        );
        let parsed = parse(source("t.jsonl", text.as_bytes())).unwrap();
        let cases: Vec<(&str, &str)> = parsed
            .results
            .iter()
            .map(|r| (r.run.as_str(), r.case.as_str()))
            .collect();
        assert_eq!(
            cases,
            [
                ("aa", "00000000000000ff"),
                ("aa", "ff"),
                ("aa", "0123456789abcdef")
            ]
        );
        assert_eq!(parsed.results[0].at.to_string(), "3000-01-01T00:00:00Z");
        assert_eq!(parsed.results[0].labels["span_id"], "00000000000000ff");
        assert_eq!(parsed.notes.len(), 2, "{:?}", parsed.notes);
    }
}
