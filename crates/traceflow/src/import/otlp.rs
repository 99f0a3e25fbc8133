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

use std::collections::{HashMap, HashSet};
use std::fmt;

use jiff::Timestamp;
use serde::de::{self, Deserializer, IgnoredAny, Visitor};
use serde::Deserialize;

use super::{label_passes, CaseResult, Evaluation, Invalid, Parsed, Source};

const EVENT: &str = "gen_ai.evaluation.result";
const AGENT: &str = "invoke_agent";
const INFERENCE: &[&str] = &[
    "chat",
    "text_completion",
    "generate_content",
    "create_agent",
];

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
    let mut data = Data::default();
    for (index, source) in sources.iter().enumerate() {
        let name = (sources.len() > 1).then_some(source.name);
        read(&mut data, index, name, source.bytes)?;
    }
    join(data, sources)
}

// ---------------------------------------------------------------- the wire

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Batch {
    #[serde(default)]
    resource_spans: Vec<ResourceSpans>,
    #[serde(default)]
    resource_logs: Vec<ResourceLogs>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Resource {
    #[serde(default)]
    attributes: Vec<KeyValue>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceSpans {
    #[serde(default)]
    resource: Resource,
    #[serde(default)]
    scope_spans: Vec<ScopeSpans>,
}

#[derive(Debug, Deserialize)]
struct ScopeSpans {
    #[serde(default)]
    spans: Vec<WireSpan>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireSpan {
    #[serde(default)]
    trace_id: String,
    #[serde(default)]
    span_id: String,
    #[serde(default)]
    parent_span_id: String,
    #[serde(default)]
    start_time_unix_nano: Option<Int>,
    #[serde(default)]
    end_time_unix_nano: Option<Int>,
    #[serde(default)]
    attributes: Vec<KeyValue>,
    #[serde(default)]
    events: Vec<WireEvent>,
    #[serde(default)]
    status: Option<Status>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireEvent {
    #[serde(default)]
    time_unix_nano: Option<Int>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    attributes: Vec<KeyValue>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceLogs {
    #[serde(default)]
    resource: Resource,
    #[serde(default)]
    scope_logs: Vec<ScopeLogs>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScopeLogs {
    #[serde(default)]
    log_records: Vec<LogRecord>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogRecord {
    #[serde(default)]
    time_unix_nano: Option<Int>,
    #[serde(default)]
    observed_time_unix_nano: Option<Int>,
    #[serde(default)]
    event_name: String,
    #[serde(default)]
    attributes: Vec<KeyValue>,
    #[serde(default)]
    trace_id: String,
    #[serde(default)]
    span_id: String,
}

#[derive(Debug, Clone, Deserialize)]
struct KeyValue {
    key: String,
    #[serde(default)]
    value: AnyValue,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnyValue {
    #[serde(default)]
    string_value: Option<String>,
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
    #[serde(default)]
    bytes_value: Option<String>,
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

// ------------------------------------------------------------ what is kept

/// An attribute's value.
#[derive(Debug, Clone, PartialEq)]
enum Attr {
    Str(String),
    Int(i128),
    Double(f64),
    Bool(bool),
    /// An array, a key-value list or bytes: kept only to say its type.
    Other(&'static str),
}

impl Attr {
    fn kind(&self) -> &'static str {
        match self {
            Attr::Str(_) => "a string",
            Attr::Int(_) => "an integer",
            Attr::Double(_) => "a double",
            Attr::Bool(_) => "a bool",
            Attr::Other(kind) => kind,
        }
    }
}

fn attr(value: &AnyValue) -> Option<Attr> {
    if let Some(s) = &value.string_value {
        Some(Attr::Str(s.clone()))
    } else if let Some(i) = value.int_value {
        Some(Attr::Int(i.0))
    } else if let Some(d) = value.double_value {
        Some(Attr::Double(d.0))
    } else if let Some(b) = value.bool_value {
        Some(Attr::Bool(b))
    } else if value.array_value.is_some() {
        Some(Attr::Other("an array"))
    } else if value.kvlist_value.is_some() {
        Some(Attr::Other("a key-value list"))
    } else if value.bytes_value.is_some() {
        Some(Attr::Other("bytes"))
    } else {
        None
    }
}

type Attrs = HashMap<String, Attr>;

fn attrs(list: &[KeyValue]) -> Attrs {
    list.iter()
        .filter_map(|kv| attr(&kv.value).map(|v| (kv.key.clone(), v)))
        .collect()
}

/// A string attribute, or an error naming it when it has another type.
fn text(attrs: &Attrs, key: &str, record: &str) -> Result<Option<String>, Invalid> {
    match attrs.get(key) {
        None => Ok(None),
        Some(Attr::Str(s)) => Ok(Some(s.clone())),
        // Ids are text; an integer one reads as its digits.
        Some(Attr::Int(i)) if key.ends_with(".id") => Ok(Some(i.to_string())),
        Some(other) => Err(Invalid::at(
            record,
            format!("{key} must be a string, not {}", other.kind()),
        )),
    }
}

fn number(attrs: &Attrs, key: &str, record: &str) -> Result<Option<f64>, Invalid> {
    match attrs.get(key) {
        None => Ok(None),
        Some(Attr::Double(d)) => Ok(Some(*d)),
        Some(Attr::Int(i)) => Ok(Some(*i as f64)),
        Some(other) => Err(Invalid::at(
            record,
            format!("{key} must be a number, not {}", other.kind()),
        )),
    }
}

fn count(attrs: &Attrs, key: &str, record: &str) -> Result<Option<i64>, Invalid> {
    match attrs.get(key) {
        None => Ok(None),
        Some(Attr::Int(i)) if *i < 0 => Err(Invalid::at(record, format!("{key}: {i} is negative"))),
        Some(Attr::Int(i)) => i64::try_from(*i)
            .map(Some)
            .map_err(|_| Invalid::at(record, format!("{key} is out of range"))),
        Some(other) => Err(Invalid::at(
            record,
            format!("{key} must be an integer, not {}", other.kind()),
        )),
    }
}

type SpanKey = (String, String);

#[derive(Debug)]
struct Span {
    parent: Option<SpanKey>,
    start: Option<i128>,
    end: Option<i128>,
    attrs: Attrs,
    resource: usize,
    error: Option<String>,
    record: String,
}

#[derive(Debug)]
struct Eval {
    /// The span it names (trace id, span id), if any.
    span: Option<SpanKey>,
    attrs: Attrs,
    time: Option<i128>,
    resource: usize,
    record: String,
    /// The file it came from.
    source: usize,
}

#[derive(Debug, Default)]
struct Data {
    spans: HashMap<SpanKey, Span>,
    /// Evaluations in the order read (results follow the files' order).
    evals: Vec<Eval>,
    resources: Vec<Attrs>,
    notes: Vec<String>,
}

fn key(trace: &str, span: &str) -> Option<SpanKey> {
    let (trace, span) = (trace.trim(), span.trim());
    (!trace.is_empty() && !span.is_empty())
        .then(|| (trace.to_ascii_lowercase(), span.to_ascii_lowercase()))
}

fn read(data: &mut Data, source: usize, name: Option<&str>, bytes: &[u8]) -> Result<(), Invalid> {
    let prefix = name.map(|n| format!("{n} ")).unwrap_or_default();
    let record = |line: usize| format!("{prefix}line {line}");
    let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<Batch>();
    let (mut counted, mut line) = (0usize, 1usize);
    loop {
        // The line where the next value starts.
        let offset = stream.byte_offset();
        let rest = bytes.get(offset..).unwrap_or_default();
        let skipped = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let upto = (offset + skipped).min(bytes.len());
        line += bytes
            .get(counted..upto)
            .unwrap_or_default()
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        counted = upto;
        let Some(batch) = stream.next() else { break };
        let batch = batch.map_err(|e| {
            let at = if e.line() > 0 { e.line() } else { line };
            Invalid::at(record(at), without_position(&e))
        })?;
        let record = record(line);
        if batch.resource_spans.is_empty() && batch.resource_logs.is_empty() {
            continue;
        }
        for rs in batch.resource_spans {
            add_spans(data, rs, &record, source)?;
        }
        for rl in batch.resource_logs {
            add_logs(data, rl, &record, source)?;
        }
    }
    Ok(())
}

/// A batch's spans of one resource into `data`: each span by its key, and
/// its `gen_ai.evaluation.result` events as evaluations.
fn add_spans(
    data: &mut Data,
    rs: ResourceSpans,
    record: &str,
    source: usize,
) -> Result<(), Invalid> {
    data.resources.push(attrs(&rs.resource.attributes));
    let resource = data.resources.len() - 1;
    for span in rs.scope_spans.into_iter().flat_map(|s| s.spans) {
        let Some(span_key) = key(&span.trace_id, &span.span_id) else {
            return Err(Invalid::at(record, "a span without traceId or spanId"));
        };
        let span_attrs = attrs(&span.attributes);
        let errored = matches!(
            span.status.as_ref().and_then(|s| s.code.as_ref()),
            Some(code) if code == 2 || code == "STATUS_CODE_ERROR"
        );
        let error = match text(&span_attrs, "error.type", record)? {
            Some(kind) => Some(kind),
            None if errored => Some(
                span.status
                    .as_ref()
                    .and_then(|s| s.message.clone())
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| "span status ERROR".to_owned()),
            ),
            None => None,
        };
        for event in span.events.iter().filter(|e| e.name == EVENT) {
            data.evals.push(Eval {
                span: Some(span_key.clone()),
                attrs: attrs(&event.attributes),
                time: event.time_unix_nano.map(|t| t.0),
                resource,
                record: record.to_owned(),
                source,
            });
        }
        let parent = key(&span.trace_id, &span.parent_span_id);
        data.spans.insert(
            span_key,
            Span {
                parent,
                start: span.start_time_unix_nano.map(|t| t.0),
                end: span.end_time_unix_nano.map(|t| t.0),
                attrs: span_attrs,
                resource,
                error,
                record: record.to_owned(),
            },
        );
    }
    Ok(())
}

/// A batch's log records of one resource into `data`: those that are
/// `gen_ai.evaluation.result` events (by `eventName`, or by the attribute
/// `event.name` older SDKs set) as evaluations.
fn add_logs(data: &mut Data, rl: ResourceLogs, record: &str, source: usize) -> Result<(), Invalid> {
    data.resources.push(attrs(&rl.resource.attributes));
    let resource = data.resources.len() - 1;
    for log in rl.scope_logs.into_iter().flat_map(|s| s.log_records) {
        let log_attrs = attrs(&log.attributes);
        let named = log.event_name == EVENT
            || (log.event_name.is_empty()
                && text(&log_attrs, "event.name", record)?.as_deref() == Some(EVENT));
        if named {
            data.evals.push(Eval {
                span: key(&log.trace_id, &log.span_id),
                attrs: log_attrs,
                time: log
                    .time_unix_nano
                    .filter(|t| t.0 > 0)
                    .or(log.observed_time_unix_nano)
                    .map(|t| t.0),
                resource,
                record: record.to_owned(),
                source,
            });
        }
    }
    Ok(())
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

// ------------------------------------------------------------- the joining

/// Where an evaluation belongs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Owner {
    /// A span (that the files may not hold).
    Span(SpanKey),
    /// A `gen_ai.response.id` no span has.
    Response(String),
    /// Nothing: the records of one line of one file.
    Alone(usize, String),
}

fn op(span: &Span) -> Option<&str> {
    match span.attrs.get("gen_ai.operation.name") {
        Some(Attr::Str(op)) => Some(op),
        _ => None,
    }
}

/// How far up (lineage) or down (tokens) from a span the join looks: a
/// crafted file of one span chain thousands deep, each evaluated, is read
/// in linear time, not quadratic.
const MAX_DEPTH: usize = 64;

/// The span and its ancestors, nearest first, to [`MAX_DEPTH`] of them (a
/// cycle ends the walk).
fn lineage<'a>(spans: &'a HashMap<SpanKey, Span>, from: &SpanKey) -> Vec<(&'a SpanKey, &'a Span)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut at = spans.get_key_value(from);
    while let Some((key, span)) = at {
        if !seen.insert(key) || out.len() > MAX_DEPTH {
            break;
        }
        out.push((key, span));
        at = span.parent.as_ref().and_then(|p| spans.get_key_value(p));
    }
    out
}

/// The nearest `invoke_agent` up from the span, else the nearest inference
/// span.
fn operation(spans: &HashMap<SpanKey, Span>, from: &SpanKey) -> Option<SpanKey> {
    let line = lineage(spans, from);
    line.iter()
        .find(|(_, s)| op(s) == Some(AGENT))
        .or_else(|| {
            line.iter()
                .find(|(_, s)| op(s).is_some_and(|o| INFERENCE.contains(&o)))
        })
        .map(|(k, _)| (*k).clone())
}

/// Spans by their `gen_ai.response.id` (the earliest span keeps a shared
/// id), and each span's children.
fn index(
    spans: &HashMap<SpanKey, Span>,
) -> (HashMap<&str, &SpanKey>, HashMap<&SpanKey, Vec<&SpanKey>>) {
    let mut by_response: HashMap<&str, &SpanKey> = HashMap::new();
    for (key, span) in spans {
        if let Some(Attr::Str(id)) = span.attrs.get("gen_ai.response.id") {
            // The earliest span keeps a shared id (a stable choice).
            by_response
                .entry(id)
                .and_modify(|k| {
                    if spans.get(*k).and_then(|s| s.start) > span.start {
                        *k = key;
                    }
                })
                .or_insert(key);
        }
    }
    let mut children: HashMap<&SpanKey, Vec<&SpanKey>> = HashMap::new();
    for (key, span) in spans {
        if let Some(parent) = &span.parent {
            if let Some((parent, _)) = spans.get_key_value(parent) {
                children.entry(parent).or_default().push(key);
            }
        }
    }
    (by_response, children)
}

/// Who each evaluation belongs to, in the order first met: the agent or
/// inference span above the span it is parented to, else the span with its
/// `gen_ai.response.id`, else the span it names, else its response id or
/// its line alone.
fn owners<'e>(
    evals: &'e [Eval],
    spans: &HashMap<SpanKey, Span>,
    by_response: &HashMap<&str, &SpanKey>,
) -> (Vec<Owner>, HashMap<Owner, Vec<&'e Eval>>) {
    let mut order: Vec<Owner> = Vec::new();
    let mut groups: HashMap<Owner, Vec<&Eval>> = HashMap::new();
    for eval in evals {
        let response = match eval.attrs.get("gen_ai.response.id") {
            Some(Attr::Str(id)) => Some(id.as_str()),
            _ => None,
        };
        let owner = eval
            .span
            .as_ref()
            .and_then(|s| operation(spans, s))
            .or_else(|| {
                response
                    .and_then(|r| by_response.get(r))
                    .map(|k| operation(spans, k).unwrap_or_else(|| (*k).clone()))
            })
            .map(Owner::Span)
            .or_else(|| eval.span.clone().map(Owner::Span))
            .unwrap_or_else(|| match response {
                Some(r) => Owner::Response(r.to_owned()),
                None => Owner::Alone(eval.source, eval.record.clone()),
            });
        if !groups.contains_key(&owner) {
            order.push(owner.clone());
        }
        groups.entry(owner).or_default().push(eval);
    }
    (order, groups)
}

fn join(data: Data, sources: &[Source<'_>]) -> Result<Parsed, Invalid> {
    let Data {
        spans,
        evals,
        resources,
        mut notes,
    } = data;
    let (by_response, children) = index(&spans);
    let (order, mut groups) = owners(&evals, &spans, &by_response);

    let modified = |group: &[&Eval]| {
        group
            .first()
            .and_then(|e| sources.get(e.source))
            .and_then(|s| s.modified)
    };
    let mut parsed = Parsed::default();
    let (mut no_case, mut unknown_spans, mut alone) = (0, 0, 0);
    for owner in order {
        let Some(group) = groups.remove(&owner) else {
            continue;
        };
        let result = match owner {
            Owner::Span(key) => match spans.get(&key) {
                Some(_) => {
                    let (result, found) = span_result(
                        &spans,
                        &children,
                        &resources,
                        &key,
                        &group,
                        modified(&group),
                    );
                    if !found {
                        no_case += 1;
                    }
                    result
                }
                None => {
                    unknown_spans += 1;
                    alone_result(
                        &resources,
                        key.1.clone(),
                        Some(key.0.clone()),
                        &group,
                        modified(&group),
                    )
                }
            },
            Owner::Response(id) => {
                alone += 1;
                alone_result(&resources, id, None, &group, modified(&group))
            }
            Owner::Alone(_, record) => {
                alone += 1;
                alone_result(&resources, record, None, &group, modified(&group))
            }
        };
        parsed.results.push(result?);
    }
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
    if evals.is_empty() {
        notes.push(format!("no {EVENT} in the file(s)"));
    }
    parsed.notes.extend(notes);
    Ok(parsed)
}

/// An attribute up the span's lineage, then its resource.
fn inherited(
    spans: &HashMap<SpanKey, Span>,
    resources: &[Attrs],
    key: &SpanKey,
    names: &[&str],
) -> Result<Option<String>, Invalid> {
    let line = lineage(spans, key);
    for (_, span) in &line {
        for name in names {
            if let Some(v) = text(&span.attrs, name, &span.record)? {
                return Ok(Some(v));
            }
        }
    }
    if let Some((_, span)) = line.first() {
        if let Some(resource) = resources.get(span.resource) {
            for name in names {
                if let Some(v) = text(resource, name, &span.record)? {
                    return Ok(Some(v));
                }
            }
        }
    }
    Ok(None)
}

fn tokens(
    spans: &HashMap<SpanKey, Span>,
    children: &HashMap<&SpanKey, Vec<&SpanKey>>,
    key: &SpanKey,
    depth: usize,
) -> Result<Option<i64>, Invalid> {
    let Some(span) = spans.get(key) else {
        return Ok(None);
    };
    let a = &span.attrs;
    let r = &span.record;
    let input = count(a, "gen_ai.usage.input_tokens", r)?;
    let output = count(a, "gen_ai.usage.output_tokens", r)?;
    let read = count(a, "gen_ai.usage.cache_read.input_tokens", r)?;
    let created = match count(a, "gen_ai.usage.cache_creation.input_tokens", r)? {
        Some(c) => Some(c),
        None => count(a, "gen_ai.usage.cache_write.input_tokens", r)?,
    };
    let input = input.or_else(|| match (read, created) {
        (None, None) => None,
        (r, c) => Some(r.unwrap_or(0).saturating_add(c.unwrap_or(0))),
    });
    if input.is_some() || output.is_some() {
        return Ok(Some(input.unwrap_or(0).saturating_add(output.unwrap_or(0))));
    }
    if depth > MAX_DEPTH {
        return Ok(None);
    }
    let mut sum: Option<i64> = None;
    for child in children.get(key).map(Vec::as_slice).unwrap_or_default() {
        if let Some(t) = tokens(spans, children, child, depth + 1)? {
            sum = Some(sum.unwrap_or(0).saturating_add(t));
        }
    }
    Ok(sum)
}

fn evaluations(group: &[&Eval]) -> Result<(Vec<Evaluation>, Option<String>), Invalid> {
    let mut out = Vec::new();
    let mut error = None;
    for eval in group {
        let r = &eval.record;
        let name = text(&eval.attrs, "gen_ai.evaluation.name", r)?
            .ok_or_else(|| Invalid::at(r, format!("a {EVENT} without gen_ai.evaluation.name")))?;
        let label = text(&eval.attrs, "gen_ai.evaluation.score.label", r)?;
        if let Some(kind) = text(&eval.attrs, "error.type", r)? {
            error.get_or_insert(format!("evaluation {name}: {kind}"));
        }
        out.push(Evaluation {
            score: number(&eval.attrs, "gen_ai.evaluation.score.value", r)?
                .filter(|v| v.is_finite()),
            passed: label.as_deref().and_then(label_passes),
            explanation: text(&eval.attrs, "gen_ai.evaluation.explanation", r)?,
            name,
        });
    }
    Ok((out, error))
}

fn at(nanos: Option<i128>) -> Option<Timestamp> {
    nanos
        .filter(|n| *n > 0)
        .and_then(|n| Timestamp::from_nanosecond(n).ok())
}

/// The result of an evaluated span the files hold; and whether it had a
/// case.
fn span_result(
    spans: &HashMap<SpanKey, Span>,
    children: &HashMap<&SpanKey, Vec<&SpanKey>>,
    resources: &[Attrs],
    key: &SpanKey,
    group: &[&Eval],
    modified: Option<Timestamp>,
) -> (Result<CaseResult, Invalid>, bool) {
    let mut found = true;
    let result =
        (|| {
            let span = spans
                .get(key)
                .ok_or_else(|| Invalid::file("an evaluated span vanished"))?;
            let case = inherited(spans, resources, key, &["test.case.id", "test.case.name"])?;
            let run = inherited(spans, resources, key, &["test.suite.run.id"])?;
            let (case, run) = match case {
                Some(case) => (case, run.unwrap_or_else(|| key.0.clone())),
                None => {
                    found = false;
                    (key.1.clone(), key.0.clone())
                }
            };
            let (evaluations, eval_error) = evaluations(group)?;
            let time = at(span.start)
                .or_else(|| group.iter().find_map(|e| at(e.time)))
                .or(modified)
                .unwrap_or(Timestamp::UNIX_EPOCH);
            let mut result = CaseResult::new(run, case, time);
            result.model = inherited(spans, resources, key, &["gen_ai.response.model"])?
                .or(inherited(spans, resources, key, &["gen_ai.request.model"])?);
            result.tokens = tokens(spans, children, key, 0)?;
            result.latency_ms = match (span.start, span.end) {
                (Some(s), Some(e)) if e >= s && s > 0 => Some((e - s) as f64 / 1e6),
                _ => None,
            };
            result.error = span.error.clone().or(eval_error);
            result.evaluations = evaluations;
            result.labels.insert("trace_id".to_owned(), key.0.clone());
            result.labels.insert("span_id".to_owned(), key.1.clone());
            if let Some(suite) = inherited(spans, resources, key, &["test.suite.name"])? {
                result.labels.insert("test.suite.name".to_owned(), suite);
            }
            result.passed = result.passed_by_evaluations();
            Ok(result)
        })();
    (result, found)
}

/// The result of evaluations whose span no file holds.
fn alone_result(
    resources: &[Attrs],
    case: String,
    trace: Option<String>,
    group: &[&Eval],
    modified: Option<Timestamp>,
) -> Result<CaseResult, Invalid> {
    let first = group
        .first()
        .ok_or_else(|| Invalid::file("an empty group of evaluations"))?;
    let mut run = text(&first.attrs, "test.suite.run.id", &first.record)?;
    if run.is_none() {
        if let Some(resource) = resources.get(first.resource) {
            run = text(resource, "test.suite.run.id", &first.record)?;
        }
    }
    let run = run.or(trace).unwrap_or_else(|| "otlp".to_owned());
    let time = group
        .iter()
        .find_map(|e| at(e.time))
        .or(modified)
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let (evaluations, error) = evaluations(group)?;
    let mut result = CaseResult::new(run, case, time);
    result.error = error;
    result.evaluations = evaluations;
    result.passed = result.passed_by_evaluations();
    Ok(result)
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
}
