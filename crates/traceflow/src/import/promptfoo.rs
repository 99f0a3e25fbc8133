//! promptfoo's results: the `-o out.json` file (`results.version` 3) and
//! the bare results it streams to a `.jsonl` file.
//!
//! A result (one test asked of one prompt and provider) is a
//! [`CaseResult`]: its case is the test's `description` (else `test-N` from
//! `testIdx`, with a note), suffixed ` [provider]`, ` [prompt N]` or
//! ` [provider, prompt N]` when the same test is asked of several providers
//! or prompts in the eval; its pass is promptfoo's `success`; its
//! evaluations are the grading's component results (named by their
//! assertion's `metric`, else its `type`) and the named scores no component
//! carries. `docs/import.md` gives the whole mapping.
//!
//! A file is read in one pass, straight into the fields used: the rest of
//! a result is skipped, and its strings are borrowed from the file where
//! they hold no escape (a tree of every value, then the fields taken from
//! it, was most of an import's time). A file that pass cannot read is read
//! again as a tree, only to name the fault as before: the whole file when
//! it is not JSON, else `results`, `results.results` or `results[N]`.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

use jiff::Timestamp;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use super::{first_object, CaseResult, Evaluation, Invalid, Parsed, Source};

/// Whether the file is in this format: a JSON object with `evalId` and
/// `results` (the `-o` JSON), or a first line that is a result (`testIdx`
/// and `gradingResult`, or `success` and `promptIdx`: the `.jsonl`).
pub(crate) fn sniff(source: Source<'_>) -> bool {
    first_object(source.bytes).is_some_and(|object| is_output(&object) || is_result(&object))
}

/// Reads the file: the `-o` JSON, or the `.jsonl` when its name ends so or
/// its first value is a bare result.
pub(crate) fn parse(source: Source<'_>) -> Result<Parsed, Invalid> {
    let jsonl = Path::new(source.name)
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("jsonl"));
    if jsonl {
        return parse_jsonl(source);
    }
    let Ok(text) = std::str::from_utf8(source.bytes) else {
        return reread(source);
    };
    let at = Cell::new(At::Top);
    let mut de = serde_json::Deserializer::from_str(text);
    match (TopSeed { at: &at }).deserialize(&mut de) {
        Ok(Top {
            eval_id: Some(eval_id),
            results: Some(results),
            metadata,
            ..
        }) => match de.end() {
            Ok(()) => parse_output(source, &eval_id, results, metadata),
            Err(_) => reread(source),
        },
        Ok(top) if top.is_result() => parse_jsonl(source),
        Ok(_) | Err(_) => reread(source),
    }
}

fn is_output(object: &serde_json::Map<String, Value>) -> bool {
    object.contains_key("evalId") && object.contains_key("results")
}

fn is_result(object: &serde_json::Map<String, Value>) -> bool {
    (object.contains_key("testIdx") && object.contains_key("gradingResult"))
        || (object.contains_key("success") && object.contains_key("promptIdx"))
}

/// A file the one pass did not read: read again as a tree of values, in
/// the order a tree reader checks it, so that its fault is named as that
/// reader names it: the first value's keys say which of promptfoo's files
/// it is; the file must be JSON with an `evalId`, then `results` an object
/// with a `results` array, then a time be known, before a record is at
/// fault. (A tree also takes what the one pass refuses and a tree reader
/// does not: a key given twice, whose last value counts.)
fn reread(source: Source<'_>) -> Result<Parsed, Invalid> {
    if first_object(source.bytes).is_some_and(|o| !is_output(&o) && is_result(&o)) {
        return parse_jsonl(source);
    }
    let output: Output = serde_json::from_slice(source.bytes)
        .map_err(|e| Invalid::file(format!("not promptfoo's JSON output: {e}")))?;
    let head = Results::deserialize(&output.results).map_err(|e| {
        Invalid::at(
            "results",
            format!("not an object with a `results` array: {e}"),
        )
    })?;
    if !head.results.is_array() {
        return Err(Invalid::at("results.results", "not an array"));
    }
    run_time(source, head.timestamp.as_deref(), output.metadata.as_ref())?;
    let at = Cell::new(At::Top);
    let records = (RecordsSeed { at: &at })
        .deserialize(head.results)
        .map_err(|e| match at.get() {
            At::NotObject(i) => Invalid::at(format!("results[{i}]"), "not a JSON object"),
            At::Record(i) => Invalid::at(
                format!("results[{i}]"),
                format!("not a promptfoo result: {e}"),
            ),
            At::Top | At::Results | At::Records => Invalid::at("results.results", e.to_string()),
        })?;
    let results = ReadResults {
        version: head.version,
        timestamp: head.timestamp,
        records,
    };
    parse_output(source, &output.eval_id, results, output.metadata)
}

/// The `-o` file's top level, its `results` kept as a tree (read only
/// when the one pass did not read the file, see [`reread`]).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Output {
    eval_id: String,
    results: Value,
    #[serde(default)]
    metadata: Option<Metadata>,
}

/// `results` from the tree, its records still a tree.
#[derive(Deserialize)]
struct Results {
    #[serde(default)]
    version: Option<i64>,
    #[serde(default)]
    timestamp: Option<String>,
    results: Value,
}

/// Where the one pass was when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// The file's top level (`evalId`, `metadata`; a bare result's keys).
    Top,
    /// `results`: its `version`, `timestamp`, a missing `results`.
    Results,
    /// `results.results`, not an array.
    Records,
    /// The Nth result, not an object.
    NotObject(usize),
    /// Inside the Nth result.
    Record(usize),
}

/// The `-o` file's top level (what is read of it), or a bare result's keys.
#[derive(Default)]
struct Top<'a> {
    eval_id: Option<String>,
    results: Option<ReadResults<'a>>,
    metadata: Option<Metadata>,
    /// Which of a bare result's keys the object has: `testIdx`,
    /// `gradingResult`, `success`, `promptIdx`.
    result_keys: [bool; 4],
}

impl Top<'_> {
    /// A bare result (the first line of a `.jsonl`), as [`is_result`] says.
    fn is_result(&self) -> bool {
        let [test_idx, grading, success, prompt_idx] = self.result_keys;
        (test_idx && grading) || (success && prompt_idx)
    }
}

/// `results`.
struct ReadResults<'a> {
    version: Option<i64>,
    timestamp: Option<String>,
    records: Vec<PfResult<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    #[serde(default)]
    evaluation_created_at: Option<String>,
}

/// Reads the top level, keeping where it is in `at`.
struct TopSeed<'c> {
    at: &'c Cell<At>,
}

impl<'de, 'c> DeserializeSeed<'de> for TopSeed<'c> {
    type Value = Top<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Top<'de>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, 'c> Visitor<'de> for TopSeed<'c> {
    type Value = Top<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct Output")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top<'de>, A::Error> {
        let mut top = Top::default();
        let mut metadata_seen = false;
        while let Some(key) = map.next_key::<Text<'de>>()? {
            match key.0.as_ref() {
                "evalId" => {
                    if top.eval_id.is_some() {
                        return Err(de::Error::duplicate_field("evalId"));
                    }
                    top.eval_id = Some(map.next_value()?);
                }
                "results" => {
                    if top.results.is_some() {
                        return Err(de::Error::duplicate_field("results"));
                    }
                    top.results = Some(map.next_value_seed(ResultsSeed { at: self.at })?);
                }
                "metadata" => {
                    if metadata_seen {
                        return Err(de::Error::duplicate_field("metadata"));
                    }
                    metadata_seen = true;
                    top.metadata = map.next_value()?;
                }
                other => {
                    let flag = ["testIdx", "gradingResult", "success", "promptIdx"]
                        .iter()
                        .position(|k| *k == other);
                    if let Some(flag) = flag {
                        top.result_keys[flag] = true;
                    }
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(top)
    }
}

/// Reads `results`.
struct ResultsSeed<'c> {
    at: &'c Cell<At>,
}

impl<'de, 'c> DeserializeSeed<'de> for ResultsSeed<'c> {
    type Value = ReadResults<'de>;

    fn deserialize<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<ReadResults<'de>, D::Error> {
        let at = self.at;
        at.set(At::Results);
        let results = deserializer.deserialize_map(self)?;
        at.set(At::Top);
        Ok(results)
    }
}

impl<'de, 'c> Visitor<'de> for ResultsSeed<'c> {
    type Value = ReadResults<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct Results")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ReadResults<'de>, A::Error> {
        let mut version = None;
        let mut timestamp = None;
        let mut records = None;
        while let Some(key) = map.next_key::<Text<'de>>()? {
            match key.0.as_ref() {
                "version" => {
                    if version.is_some() {
                        return Err(de::Error::duplicate_field("version"));
                    }
                    version = Some(map.next_value::<Option<i64>>()?);
                }
                "timestamp" => {
                    if timestamp.is_some() {
                        return Err(de::Error::duplicate_field("timestamp"));
                    }
                    timestamp = Some(map.next_value::<Option<String>>()?);
                }
                "results" => {
                    if records.is_some() {
                        return Err(de::Error::duplicate_field("results"));
                    }
                    records = Some(map.next_value_seed(RecordsSeed { at: self.at })?);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(ReadResults {
            version: version.flatten(),
            timestamp: timestamp.flatten(),
            records: records.ok_or_else(|| de::Error::missing_field("results"))?,
        })
    }
}

/// Reads `results.results`, each record by its index.
struct RecordsSeed<'c> {
    at: &'c Cell<At>,
}

impl<'de, 'c> DeserializeSeed<'de> for RecordsSeed<'c> {
    type Value = Vec<PfResult<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        let at = self.at;
        at.set(At::Records);
        let records = deserializer.deserialize_seq(self)?;
        at.set(At::Results);
        Ok(records)
    }
}

impl<'de, 'c> Visitor<'de> for RecordsSeed<'c> {
    type Value = Vec<PfResult<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut records = Vec::new();
        while let Some(record) = seq.next_element_seed(RecordSeed {
            at: self.at,
            index: records.len(),
        })? {
            records.push(record);
        }
        Ok(records)
    }
}

/// Reads one result: an object, else [`At::NotObject`].
struct RecordSeed<'c> {
    at: &'c Cell<At>,
    index: usize,
}

impl<'de, 'c> DeserializeSeed<'de> for RecordSeed<'c> {
    type Value = PfResult<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<PfResult<'de>, D::Error> {
        self.at.set(At::NotObject(self.index));
        deserializer.deserialize_any(self)
    }
}

impl<'de, 'c> Visitor<'de> for RecordSeed<'c> {
    type Value = PfResult<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PfResult<'de>, A::Error> {
        self.at.set(At::Record(self.index));
        PfResult::deserialize(MapAccessDeserializer::new(map))
    }
}

/// A string, borrowed from the file where it holds no escape.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Text<'a>(Cow<'a, str>);

impl Text<'_> {
    fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(V(PhantomData))
    }
}

/// One result: a test asked of one prompt and provider.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PfResult<'a> {
    #[serde(default)]
    test_idx: Option<u64>,
    #[serde(default, borrow)]
    test_case: Option<TestCase<'a>>,
    #[serde(default)]
    prompt_idx: Option<u64>,
    #[serde(default)]
    vars: Option<serde_json::Map<String, Value>>,
    #[serde(default, borrow)]
    provider: Option<Provider<'a>>,
    #[serde(default, borrow)]
    prompt: Option<Prompt<'a>>,
    #[serde(default)]
    response: Option<Response>,
    success: bool,
    #[serde(default)]
    failure_reason: Option<i64>,
    #[serde(default, borrow)]
    error: Option<Text<'a>>,
    #[serde(default, borrow)]
    grading_result: Option<GradingResult<'a>>,
    #[serde(default, borrow)]
    named_scores: Option<BTreeMap<Text<'a>, Option<f64>>>,
    #[serde(default)]
    latency_ms: Option<f64>,
    #[serde(default)]
    cost: Option<f64>,
    #[serde(default)]
    token_usage: Option<TokenUsage>,
}

#[derive(Deserialize)]
struct TestCase<'a> {
    #[serde(default, borrow)]
    description: Option<Text<'a>>,
    #[serde(default)]
    vars: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    metadata: Option<BTreeMap<String, Label>>,
}

/// A metadata value: kept when it is a string (a label), else skipped.
struct Label(Option<String>);

impl<'de> Deserialize<'de> for Label {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Label;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_str<E>(self, v: &str) -> Result<Label, E> {
                Ok(Label(Some(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Label, E> {
                Ok(Label(Some(v)))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Label, E> {
                Ok(Label(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Label, E> {
                Ok(Label(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Label, E> {
                Ok(Label(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Label, E> {
                Ok(Label(None))
            }
            fn visit_unit<E>(self) -> Result<Label, E> {
                Ok(Label(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Label, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Label(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Label, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Label(None))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// `provider`: an object `{id, label}` (a bare id in some writers).
enum Provider<'a> {
    Id(Text<'a>),
    Object {
        id: Option<Text<'a>>,
        label: Option<Text<'a>>,
    },
}

/// `provider` as an object.
#[derive(Deserialize)]
struct ProviderObject<'a> {
    #[serde(default, borrow)]
    id: Option<Text<'a>>,
    #[serde(default, borrow)]
    label: Option<Text<'a>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Provider<'a> {
    /// A string or an object; anything else is refused with the words of
    /// an untagged enum (what this was before it was read by hand).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Provider<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a provider's id, or an object with its id and label")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Provider<'a>, E> {
                Ok(Provider::Id(Text(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Provider<'a>, E> {
                Ok(Provider::Id(Text(Cow::Owned(v.to_owned()))))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Provider<'a>, A::Error> {
                let ProviderObject { id, label } =
                    ProviderObject::deserialize(MapAccessDeserializer::new(map))?;
                Ok(Provider::Object { id, label })
            }
        }
        deserializer.deserialize_any(V(PhantomData)).map_err(|_| {
            de::Error::custom("data did not match any variant of untagged enum Provider")
        })
    }
}

impl Provider<'_> {
    /// Its id, if not empty.
    fn id(&self) -> Option<&str> {
        match self {
            Provider::Id(id) => Some(id.as_str()),
            Provider::Object { id, .. } => id.as_ref().map(Text::as_str),
        }
        .filter(|s| !s.trim().is_empty())
    }

    /// Its label, else its id.
    fn name(&self) -> Option<&str> {
        match self {
            Provider::Id(_) => None,
            Provider::Object { label, .. } => label
                .as_ref()
                .map(Text::as_str)
                .filter(|s| !s.trim().is_empty()),
        }
        .or_else(|| self.id())
    }
}

#[derive(Deserialize)]
struct Prompt<'a> {
    #[serde(default, borrow)]
    raw: Option<Text<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    #[serde(default)]
    output: Option<Answer>,
    #[serde(default)]
    token_usage: Option<TokenUsage>,
}

/// `response.output` as text: a string as it is, another value as its
/// JSON (`null` is no answer, through the `Option` around it).
struct Answer(String);

impl<'de> Deserialize<'de> for Answer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Answer;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_str<E>(self, v: &str) -> Result<Answer, E> {
                Ok(Answer(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Answer, E> {
                Ok(Answer(v))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Answer, E> {
                Ok(Answer(Value::from(v).to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Answer, E> {
                Ok(Answer(Value::from(v).to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Answer, E> {
                Ok(Answer(Value::from(v).to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Answer, E> {
                Ok(Answer(Value::from(v).to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Answer, A::Error> {
                Ok(Answer(
                    Value::deserialize(SeqAccessDeserializer::new(seq))?.to_string(),
                ))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Answer, A::Error> {
                Ok(Answer(
                    Value::deserialize(MapAccessDeserializer::new(map))?.to_string(),
                ))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[derive(Deserialize)]
struct TokenUsage {
    #[serde(default)]
    total: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GradingResult<'a> {
    #[serde(default, borrow)]
    component_results: Option<Vec<ComponentResult<'a>>>,
}

#[derive(Deserialize)]
struct ComponentResult<'a> {
    #[serde(default)]
    pass: Option<bool>,
    #[serde(default)]
    score: Option<f64>,
    #[serde(default, borrow)]
    reason: Option<Text<'a>>,
    #[serde(default, borrow)]
    assertion: Option<Assertion<'a>>,
}

#[derive(Deserialize)]
struct Assertion<'a> {
    #[serde(default, rename = "type", borrow)]
    kind: Option<Text<'a>>,
    #[serde(default, borrow)]
    metric: Option<Text<'a>>,
}

/// promptfoo's `failureReason` for an error (1 is a failed assertion).
const FAILURE_ERROR: i64 = 2;

fn parse_output(
    source: Source<'_>,
    eval_id: &str,
    results: ReadResults<'_>,
    metadata: Option<Metadata>,
) -> Result<Parsed, Invalid> {
    let mut notes = Vec::new();
    if let Some(version) = results.version.filter(|&v| v != 3) {
        notes.push(format!(
            "results version {version}: read as version 3 (the version this reader knows)"
        ));
    }
    let (at, note) = run_time(source, results.timestamp.as_deref(), metadata.as_ref())?;
    notes.extend(note);
    let records = results.records.into_iter().enumerate().collect();
    let mut parsed = read(eval_id, at, records, |i| format!("results[{i}]"))?;
    notes.append(&mut parsed.notes);
    parsed.notes = notes;
    Ok(parsed)
}

/// The run's time: `results.timestamp`, else `metadata.evaluationCreatedAt`,
/// else the file's modified time (with a note).
fn run_time(
    source: Source<'_>,
    timestamp: Option<&str>,
    metadata: Option<&Metadata>,
) -> Result<(Timestamp, Option<String>), Invalid> {
    let time = timestamp
        .and_then(|t| t.parse::<Timestamp>().ok())
        .or_else(|| {
            metadata
                .and_then(|m| m.evaluation_created_at.as_deref())
                .and_then(|t| t.parse::<Timestamp>().ok())
        });
    match (time, source.modified) {
        (Some(at), _) => Ok((at, None)),
        (None, Some(modified)) => Ok((
            modified,
            Some(format!(
                "no time in {}: the run's time is the file's modified time",
                source.name
            )),
        )),
        (None, None) => Err(Invalid::file(
            "no time (`results.timestamp`, `metadata.evaluationCreatedAt`) and no modified time for the file",
        )),
    }
}

fn parse_jsonl(source: Source<'_>) -> Result<Parsed, Invalid> {
    let run = Path::new(source.name)
        .file_stem()
        .and_then(|stem| stem.to_str())
        .filter(|stem| !stem.trim().is_empty())
        .ok_or_else(|| {
            Invalid::file(
                "promptfoo's .jsonl holds no run id: the run is the file's name, and this file has none",
            )
        })?;
    let at = source.modified.ok_or_else(|| {
        Invalid::file(
            "promptfoo's .jsonl holds no time: the run's time is the file's modified time, and it is not known",
        )
    })?;
    let text = std::str::from_utf8(source.bytes)
        .map_err(|e| Invalid::file(format!("not UTF-8 text: {e}")))?;
    let line_name = |i: usize| format!("line {}", i + 1);
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = Cell::new(At::Top);
        let mut de = serde_json::Deserializer::from_str(line);
        let record = (RecordSeed { at: &at, index: i })
            .deserialize(&mut de)
            .and_then(|record| de.end().map(|()| record));
        if let Ok(record) = record {
            records.push((i, record));
            continue;
        }
        // Read again as a tree, to name the fault as a tree reader does:
        // the line must be JSON before its content is at fault.
        let tree: Value = serde_json::from_str(line)
            .map_err(|e| Invalid::at(line_name(i), format!("not JSON: {e}")))?;
        let record = (RecordSeed { at: &at, index: i })
            .deserialize(tree)
            .map_err(|e| match at.get() {
                At::NotObject(_) => Invalid::at(line_name(i), "not a JSON object"),
                _ => Invalid::at(line_name(i), format!("not a promptfoo result: {e}")),
            })?;
        records.push((i, record));
    }
    let mut parsed = read(run, at, records, line_name)?;
    parsed.notes.insert(
        0,
        format!(
            "promptfoo's .jsonl holds no run id or time: the run is the file's name ({run}) and its time the file's modified time ({at})"
        ),
    );
    Ok(parsed)
}

/// A result read, before its case is made unique.
struct Read {
    /// Its place in the file, for [`read`]'s `name`.
    place: usize,
    test: String,
    provider: Option<String>,
    prompt: Option<u64>,
    result: CaseResult,
}

/// How a test was asked in one eval: how often, of which providers and
/// prompts.
#[derive(Default)]
struct Asked<'a> {
    times: usize,
    providers: Vec<Option<&'a str>>,
    prompts: Vec<Option<u64>>,
}

/// What each result's case adds to its test's name: nothing for a test
/// asked once; for a test asked of several providers or prompts, the
/// provider, the prompt, or both, whichever tell its results apart.
fn suffixes(read: &[Read]) -> Vec<Option<String>> {
    let mut askings: HashMap<&str, Asked<'_>> = HashMap::new();
    for r in read {
        let asked = askings.entry(r.test.as_str()).or_default();
        asked.times += 1;
        if !asked.providers.contains(&r.provider.as_deref()) {
            asked.providers.push(r.provider.as_deref());
        }
        if !asked.prompts.contains(&r.prompt) {
            asked.prompts.push(r.prompt);
        }
    }
    read.iter()
        .map(|r| {
            let asked = askings.get(r.test.as_str()).filter(|a| a.times > 1)?;
            let provider = r.provider.as_deref();
            let prompt = r.prompt.map(|p| format!("prompt {p}"));
            // The fewest words that tell the askings apart.
            if asked.providers.len() == asked.times {
                provider.map(str::to_owned)
            } else if asked.prompts.len() == asked.times {
                prompt
            } else {
                match (provider, prompt) {
                    (Some(provider), Some(prompt)) => Some(format!("{provider}, {prompt}")),
                    (provider, prompt) => provider.map(str::to_owned).or(prompt),
                }
            }
        })
        .collect()
}

/// The results of one run, each with its place in the file; `name` names
/// a place (`results[4]`, `line 5`) for a message.
fn read(
    run: &str,
    at: Timestamp,
    records: Vec<(usize, PfResult<'_>)>,
    name: impl Fn(usize) -> String,
) -> Result<Parsed, Invalid> {
    let mut notes = Vec::new();
    let mut by_index = 0usize;
    let mut read = Vec::with_capacity(records.len());
    for (place, raw) in records {
        let described = raw
            .test_case
            .as_ref()
            .and_then(|t| t.description.as_ref())
            .map(|d| d.as_str().trim())
            .filter(|d| !d.is_empty());
        let test = match (described, raw.test_idx) {
            (Some(description), _) => description.to_owned(),
            (None, Some(index)) => {
                by_index += 1;
                format!("test-{index}")
            }
            (None, None) => {
                return Err(Invalid::at(
                    name(place),
                    "neither `testCase.description` nor `testIdx`: no case to name",
                ))
            }
        };
        let provider = raw
            .provider
            .as_ref()
            .and_then(Provider::name)
            .map(str::to_owned);
        let prompt = raw.prompt_idx;
        let result = case_result(run, &test, at, raw);
        read.push(Read {
            place,
            test,
            provider,
            prompt,
            result,
        });
    }
    if by_index > 0 {
        notes.push(format!(
            "{by_index} result(s) have no test description: their case is `test-N` from `testIdx` (the test's place in the config, which moves when tests are added or removed)"
        ));
    }

    let suffixes = suffixes(&read);
    let mut places = Vec::with_capacity(read.len());
    let mut results = Vec::with_capacity(read.len());
    for (r, suffix) in read.into_iter().zip(suffixes) {
        let mut result = r.result;
        if let Some(suffix) = suffix {
            result.case = format!("{} [{suffix}]", r.test);
        }
        places.push(r.place);
        results.push(result);
    }
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(results.len());
    for (result, &place) in results.iter().zip(&places) {
        if let Some(&first) = seen.get(result.case.as_str()) {
            return Err(Invalid::at(
                name(place),
                format!(
                    "case {:?} is already {} (the same test, provider and repeat): its results cannot be told apart",
                    result.case,
                    name(first)
                ),
            ));
        }
        seen.insert(&result.case, place);
    }
    Ok(Parsed { results, notes })
}

fn case_result(run: &str, test: &str, at: Timestamp, raw: PfResult<'_>) -> CaseResult {
    let mut result = CaseResult::new(run, test, at);
    result.passed = raw.success;
    if raw.failure_reason == Some(FAILURE_ERROR) {
        result.error = Some(
            raw.error
                .map(|e| e.0)
                .filter(|e| !e.trim().is_empty())
                .map_or_else(|| "promptfoo reported an error".to_owned(), Cow::into_owned),
        );
    }
    result.evaluations = evaluations(raw.grading_result, raw.named_scores);
    result.model = raw
        .provider
        .as_ref()
        .and_then(|p| p.id().or_else(|| p.name()))
        .map(str::to_owned);
    // A negative time, cost or count is none (as the other readers leave it).
    result.latency_ms = raw.latency_ms.filter(|v| v.is_finite() && *v >= 0.0);
    result.cost_usd = raw.cost.filter(|v| v.is_finite() && *v >= 0.0);
    result.tokens = raw
        .token_usage
        .as_ref()
        .and_then(|t| t.total)
        .or_else(|| {
            raw.response
                .as_ref()
                .and_then(|r| r.token_usage.as_ref())
                .and_then(|t| t.total)
        })
        .filter(|t| *t >= 0);
    let (case_vars, metadata) = match raw.test_case {
        Some(test_case) => (test_case.vars, test_case.metadata),
        None => (None, None),
    };
    result.input = match raw.prompt.and_then(|p| p.raw) {
        Some(raw) => Some(raw.0.into_owned()),
        // The vars as a JSON object's text (its keys sorted).
        None => raw.vars.or(case_vars).map(|v| Value::Object(v).to_string()),
    };
    result.output = raw.response.and_then(|r| r.output).map(|a| a.0);
    for (key, Label(value)) in metadata.into_iter().flatten() {
        if let Some(text) = value {
            result.labels.insert(key, text);
        }
    }
    result
}

/// The grading's component results (named by their assertion's metric, else
/// its type; `#2`, `#3` … on a name's repeats), then the named scores none of
/// them carries (score only).
fn evaluations(
    grading: Option<GradingResult<'_>>,
    named_scores: Option<BTreeMap<Text<'_>, Option<f64>>>,
) -> Vec<Evaluation> {
    let components = grading
        .and_then(|g| g.component_results)
        .unwrap_or_default();
    let mut evaluations = Vec::with_capacity(components.len() + 2);
    let mut counts: HashMap<String, u32> = HashMap::new();
    for component in components {
        let assertion = component.assertion.as_ref();
        let base = assertion
            .and_then(|a| a.metric.as_ref())
            .map(Text::as_str)
            .filter(|m| !m.trim().is_empty())
            .or_else(|| assertion.and_then(|a| a.kind.as_ref()).map(Text::as_str))
            .filter(|n| !n.trim().is_empty())
            .unwrap_or("assertion");
        let count = counts.entry(base.to_owned()).or_default();
        *count += 1;
        let name = if *count == 1 {
            base.to_owned()
        } else {
            format!("{base}#{count}")
        };
        evaluations.push(Evaluation {
            name,
            score: component.score.filter(|s| s.is_finite()),
            passed: component.pass,
            explanation: component
                .reason
                .map(|r| r.0)
                .filter(|r| !r.is_empty())
                .map(Cow::into_owned),
            label: None,
        });
    }
    for (name, score) in named_scores.into_iter().flatten() {
        if counts.contains_key(name.as_str()) {
            continue;
        }
        evaluations.push(Evaluation {
            name: name.0.into_owned(),
            score: score.filter(|s| s.is_finite()),
            passed: None,
            explanation: None,
            label: None,
        });
    }
    evaluations
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    use crate::import::fixtures::{failing, fixture, other_tools_files};

    fn source<'a>(name: &'a str, bytes: &'a [u8]) -> Source<'a> {
        Source {
            name,
            modified: Some("2026-12-08T10:00:00Z".parse().unwrap()),
            bytes,
        }
    }

    fn expected() -> Value {
        serde_json::from_slice(&fixture("promptfoo/expected.json")).unwrap()
    }

    #[test]
    fn every_run_matches_promptfoos_totals_and_the_design() {
        let expected = expected();
        let runs = expected["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 10);
        let mut eval_ids = BTreeSet::new();
        for (i, run) in runs.iter().enumerate() {
            let file = run["file"].as_str().unwrap();
            let bytes = fixture(&format!("promptfoo/{file}"));
            let source = source(file, &bytes);
            assert!(sniff(source), "{file}");
            let parsed = parse(source).unwrap();
            assert!(parsed.notes.is_empty(), "{file}: {:?}", parsed.notes);
            let passed = parsed.results.iter().filter(|r| r.passed).count() as u64;
            let failed = parsed.results.len() as u64 - passed;
            assert_eq!(passed, run["successes"].as_u64().unwrap(), "{file}");
            assert_eq!(
                failed,
                run["failures"].as_u64().unwrap() + run["errors"].as_u64().unwrap(),
                "{file}"
            );
            let cases: BTreeSet<String> = parsed.results.iter().map(|r| r.case.clone()).collect();
            let all: BTreeSet<String> = (1..=12).map(|n| format!("case-{n:02}")).collect();
            assert_eq!(cases, all, "{file}");
            let failing_cases: BTreeSet<String> = parsed
                .results
                .iter()
                .filter(|r| !r.passed)
                .map(|r| r.case.clone())
                .collect();
            assert_eq!(failing_cases, failing(i + 1), "{file}");
            let first = &parsed.results[0];
            assert!(parsed
                .results
                .iter()
                .all(|r| r.run == first.run && r.at == first.at));
            assert!(first.run.starts_with("eval-"), "{}", first.run);
            eval_ids.insert(first.run.clone());
            for result in &parsed.results {
                assert_eq!(result.error, None, "an assertion failure is no error");
                assert_eq!(result.model.as_deref(), Some("echo"));
                let names: Vec<&str> = result.evaluations.iter().map(|e| e.name.as_str()).collect();
                assert_eq!(names, ["correct", "quality"], "{file} {}", result.case);
                assert_eq!(result.passed, result.passed_by_evaluations());
            }
        }
        assert_eq!(eval_ids.len(), 10, "one run per eval");
    }

    #[test]
    fn evaluations_carry_the_named_scores_of_the_raw_json() {
        let bytes = fixture("promptfoo/run-09.json");
        let raw: Value = serde_json::from_slice(&bytes).unwrap();
        let record = &raw["results"]["results"][4];
        assert_eq!(record["testCase"]["description"], "case-05");
        let quality = record["namedScores"]["quality"].as_f64().unwrap();

        let parsed = parse(source("run-09.json", &bytes)).unwrap();
        let result = parsed.results.iter().find(|r| r.case == "case-05").unwrap();
        assert!(!result.passed);
        let evaluation = result
            .evaluations
            .iter()
            .find(|e| e.name == "quality")
            .unwrap();
        assert_eq!(evaluation.score, Some(quality));
        assert_eq!(evaluation.score, Some(0.2));
        assert_eq!(evaluation.passed, Some(false));
        let correct = &result.evaluations[0];
        assert_eq!((correct.score, correct.passed), (Some(0.0), Some(false)));
        assert_eq!(
            correct.explanation.as_deref(),
            Some("Expected output to contain \"answer-05\"")
        );
        assert_eq!(result.input.as_deref(), Some("wrong-05 quality=0.2"));
        assert_eq!(result.output.as_deref(), Some("wrong-05 quality=0.2"));
        assert_eq!(result.latency_ms, Some(7.0));
        assert_eq!(result.cost_usd, Some(0.0));
        assert_eq!(result.tokens, Some(0));
        assert_eq!(
            result.at,
            "2026-12-07T23:57:22.115Z".parse::<Timestamp>().unwrap()
        );
    }

    #[test]
    fn the_jsonl_reads_with_a_note_its_run_from_the_name() {
        let bytes = fixture("promptfoo/jsonl/run-07.jsonl");
        let source = source("run-07.jsonl", &bytes);
        assert!(sniff(source));
        let parsed = parse(source).unwrap();
        assert_eq!(parsed.results.len(), 12);
        assert_eq!(parsed.notes.len(), 1, "{:?}", parsed.notes);
        assert!(parsed.notes[0].contains("run-07"), "{:?}", parsed.notes);
        assert!(parsed.results.iter().all(|r| r.run == "run-07"));
        assert!(parsed.results.iter().all(|r| Some(r.at) == source.modified));
        let failing_cases: BTreeSet<String> = parsed
            .results
            .iter()
            .filter(|r| !r.passed)
            .map(|r| r.case.clone())
            .collect();
        assert_eq!(failing_cases, failing(7));

        let nameless = Source { name: "", ..source };
        assert!(parse(nameless).unwrap_err().message.contains("run"));
        let timeless = Source {
            modified: None,
            ..source
        };
        assert!(parse(timeless).unwrap_err().message.contains("time"));
    }

    #[test]
    fn sniff_is_false_for_the_other_tools_files() {
        let files = other_tools_files("promptfoo");
        assert!(files.len() > 20);
        for path in files {
            let bytes = std::fs::read(&path).unwrap();
            let name = path.to_string_lossy();
            assert!(!sniff(source(&name, &bytes)), "{name}");
        }
    }

    #[test]
    fn bad_input_is_invalid_naming_the_record() {
        let bytes = fixture("promptfoo/run-03.json");
        let truncated = &bytes[..bytes.len() / 2];
        let error = parse(source("run-03.json", truncated)).unwrap_err();
        assert_eq!(error.record, None);

        let mut raw: Value = serde_json::from_slice(&bytes).unwrap();
        raw["results"]["results"] = Value::from("none");
        let text = raw.to_string();
        let error = parse(source("run-03.json", text.as_bytes())).unwrap_err();
        assert_eq!(error.record.as_deref(), Some("results.results"));

        let mut raw: Value = serde_json::from_slice(&bytes).unwrap();
        raw["results"]["results"][3]["success"] = Value::from("yes");
        let text = raw.to_string();
        let error = parse(source("run-03.json", text.as_bytes())).unwrap_err();
        assert_eq!(error.record.as_deref(), Some("results[3]"), "{error}");

        let lines = String::from_utf8(fixture("promptfoo/jsonl/run-07.jsonl")).unwrap();
        let mut lines: Vec<String> = lines.lines().map(str::to_owned).collect();
        let mut third: Value = serde_json::from_str(&lines[2]).unwrap();
        third["success"] = Value::from("no");
        lines[2] = third.to_string();
        let text = lines.join("\n");
        let error = parse(source("run-07.jsonl", text.as_bytes())).unwrap_err();
        assert_eq!(error.record.as_deref(), Some("line 3"), "{error}");
    }

    #[test]
    fn a_test_asked_of_two_providers_names_the_provider() {
        let bytes = fixture("promptfoo/run-01.json");
        let mut raw: Value = serde_json::from_slice(&bytes).unwrap();
        let mut second = raw["results"]["results"][0].clone();
        second["provider"] = serde_json::json!({"id": "openai:gpt-4o", "label": "gpt"});
        second["promptIdx"] = Value::from(1);
        raw["results"]["results"]
            .as_array_mut()
            .unwrap()
            .push(second.clone());
        let text = raw.to_string();
        let parsed = parse(source("run-01.json", text.as_bytes())).unwrap();
        let cases: Vec<&str> = parsed.results.iter().map(|r| r.case.as_str()).collect();
        assert!(cases.contains(&"case-01 [echo]"), "{cases:?}");
        assert!(cases.contains(&"case-01 [gpt]"), "{cases:?}");
        assert_eq!(
            parsed.results.last().unwrap().model.as_deref(),
            Some("openai:gpt-4o")
        );

        // The same test and provider twice: cannot be told apart.
        raw["results"]["results"]
            .as_array_mut()
            .unwrap()
            .push(second);
        let text = raw.to_string();
        let error = parse(source("run-01.json", text.as_bytes())).unwrap_err();
        assert_eq!(error.record.as_deref(), Some("results[13]"), "{error}");
    }

    #[test]
    fn a_test_asked_of_two_prompts_of_one_provider_names_the_prompt() {
        let bytes = fixture("promptfoo/run-01.json");
        let mut raw: Value = serde_json::from_slice(&bytes).unwrap();
        let mut second = raw["results"]["results"][0].clone();
        second["promptIdx"] = Value::from(1);
        raw["results"]["results"]
            .as_array_mut()
            .unwrap()
            .push(second);
        let text = raw.to_string();
        let parsed = parse(source("run-01.json", text.as_bytes())).unwrap();
        let cases: Vec<&str> = parsed.results.iter().map(|r| r.case.as_str()).collect();
        assert!(cases.contains(&"case-01 [prompt 0]"), "{cases:?}");
        assert!(cases.contains(&"case-01 [prompt 1]"), "{cases:?}");
        assert!(cases.contains(&"case-02"), "{cases:?}");
    }

    #[test]
    fn errors_repeated_assertions_and_nameless_tests() {
        let text = r#"{"testIdx": 2, "promptIdx": 0, "success": false, "failureReason": 2,
            "error": "timeout", "provider": {"id": "p"},
            "gradingResult": {"componentResults": [
                {"pass": true, "score": 1, "assertion": {"type": "contains"}},
                {"pass": false, "score": 0, "assertion": {"type": "contains"}}]},
            "namedScores": {"contains": 1, "extra": 0.5},
            "testCase": {"metadata": {"team": "a", "n": 1}, "vars": {"q": "x"}}}"#
            .replace('\n', " ");
        let parsed = parse(source("stream.jsonl", text.as_bytes())).unwrap();
        let result = &parsed.results[0];
        assert_eq!(result.case, "test-2");
        assert_eq!(result.error.as_deref(), Some("timeout"));
        let names: Vec<&str> = result.evaluations.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["contains", "contains#2", "extra"]);
        assert_eq!(result.evaluations[2].score, Some(0.5));
        assert_eq!(result.labels.get("team").map(String::as_str), Some("a"));
        assert!(!result.labels.contains_key("n"));
        assert_eq!(result.input.as_deref(), Some(r#"{"q":"x"}"#));
        assert!(parsed.notes.iter().any(|n| n.contains("testIdx")));
    }

    #[test]
    fn never_panics_on_cut_or_odd_input() {
        let bytes = fixture("promptfoo/run-02.json");
        for end in (0..bytes.len()).step_by(997) {
            let _ = parse(source("run-02.json", &bytes[..end]));
            let _ = sniff(source("run-02.json", &bytes[..end]));
        }
        for text in [
            "",
            "null",
            "[]",
            "{}",
            "{\"evalId\": 1, \"results\": {}}",
            "\u{feff}x",
            "{\"testIdx\":1,\"success\":true}\n[",
        ] {
            let _ = parse(source("x.json", text.as_bytes()));
            let _ = parse(source("x.jsonl", text.as_bytes()));
        }
    }

    /// A one-line `-o` file: one result in a run with a time.
    fn one_result(record: &str) -> String {
        format!(
            r#"{{"evalId":"e","results":{{"version":3,"timestamp":"2026-12-07T23:44:19Z","results":[{record}]}}}}"#
        )
    }

    #[test]
    fn faults_are_named_as_a_tree_reader_names_them() {
        let bytes = fixture("promptfoo/run-03.json");
        let mut raw: Value = serde_json::from_slice(&bytes).unwrap();
        raw["results"]["results"][3]["success"] = Value::from("yes");
        let error = parse(source("run-03.json", raw.to_string().as_bytes())).unwrap_err();
        assert_eq!(
            error.to_string(),
            "results[3]: not a promptfoo result: invalid type: string \"yes\", expected a boolean"
        );
        raw["results"]["results"][3] = Value::from(5);
        let error = parse(source("run-03.json", raw.to_string().as_bytes())).unwrap_err();
        assert_eq!(error.to_string(), "results[3]: not a JSON object");
        raw["results"]["timestamp"] = Value::from(5);
        let error = parse(source("run-03.json", raw.to_string().as_bytes())).unwrap_err();
        assert_eq!(
            error.to_string(),
            "results: not an object with a `results` array: invalid type: integer `5`, expected a string"
        );

        // A bad record and a syntax error after it: the file is not JSON.
        let text = one_result(r#"{"testIdx":1,"success":"yes"}"#);
        let cut = &text[..text.len() - 2];
        let error = parse(source("x.json", cut.as_bytes())).unwrap_err();
        assert_eq!(error.record, None, "{error}");
        assert!(
            error
                .message
                .starts_with("not promptfoo's JSON output: EOF"),
            "{error}"
        );

        // No time anywhere comes before a bad record.
        let text = r#"{"evalId":"e","results":{"results":[{"testIdx":1,"success":"yes"}]}}"#;
        let timeless = Source {
            modified: None,
            ..source("x.json", text.as_bytes())
        };
        let error = parse(timeless).unwrap_err();
        assert_eq!(error.record, None, "{error}");
        assert!(error.message.starts_with("no time"), "{error}");

        // A provider neither a string nor an object.
        let text = one_result(r#"{"testIdx":1,"success":true,"provider":{"id":5}}"#);
        let error = parse(source("x.json", text.as_bytes())).unwrap_err();
        assert_eq!(
            error.to_string(),
            "results[0]: not a promptfoo result: data did not match any variant of untagged enum Provider"
        );
    }

    /// What the one pass refuses and a tree takes is read from a tree, as
    /// before: a key given twice (its last value counts), in the `-o` file
    /// and in a `.jsonl` line.
    #[test]
    fn a_key_given_twice_counts_its_last_value() {
        let text = one_result(r#"{"testIdx":1,"success":true,"success":false}"#);
        let parsed = parse(source("x.json", text.as_bytes())).unwrap();
        assert!(!parsed.results[0].passed);
        let text = r#"{"testIdx":1,"promptIdx":0,"success":false,"success":true}"#;
        let parsed = parse(source("x.jsonl", text.as_bytes())).unwrap();
        assert!(parsed.results[0].passed);
    }

    /// The fields not read are skipped, not checked: a number out of
    /// range or a lone surrogate there no longer refuses the file (a tree
    /// of every value refused it).
    #[test]
    fn a_field_not_read_is_not_checked() {
        for odd in ["1e400", r#""\ud800""#] {
            let record = format!(r#"{{"testIdx":1,"success":true,"unused":{odd}}}"#);
            let parsed = parse(source("x.json", one_result(&record).as_bytes())).unwrap();
            assert_eq!(parsed.results.len(), 1, "{odd}");
            let parsed = parse(source("x.jsonl", record.as_bytes())).unwrap();
            assert_eq!(parsed.results.len(), 1, "{odd}");
        }
        // In a field read, it still refuses the file.
        let text = one_result(r#"{"testIdx":1,"success":true,"latencyMs":1e400}"#);
        let error = parse(source("x.json", text.as_bytes())).unwrap_err();
        assert_eq!(error.record, None, "{error}");
        assert!(error.message.contains("number out of range"), "{error}");
    }

    /// Strings with escapes (copied, not borrowed) read as the same text,
    /// and an answer that is not a string is its JSON.
    #[test]
    fn escaped_strings_and_answers_that_are_not_text() {
        let record = r#"{"testIdx":1,"success":false,"failureReason":2,"error":"time\tout",
            "provider":"openai:gpt-4o\u0021",
            "testCase":{"description":" caf\u00e9 \"1\" ","metadata":{"t\u00e9am":"a\nb","n":1,"o":{"x":[1]}}},
            "response":{"output":{"b":[1,2.5,true,null],"a":"x"}},
            "gradingResult":{"componentResults":[{"pass":false,"score":0,"reason":"no \u2713","assertion":{"metric":"m\u0031"}}]},
            "namedScores":{"m\u0031":0,"q\u0032":0.5}}"#
            .replace('\n', " ");
        for (name, text) in [("x.json", one_result(&record)), ("x.jsonl", record.clone())] {
            let parsed = parse(source(name, text.as_bytes())).unwrap();
            let result = &parsed.results[0];
            assert_eq!(result.case, "café \"1\"");
            assert_eq!(result.error.as_deref(), Some("time\tout"));
            assert_eq!(result.model.as_deref(), Some("openai:gpt-4o!"));
            assert_eq!(
                result.output.as_deref(),
                Some(r#"{"a":"x","b":[1,2.5,true,null]}"#)
            );
            let labels: Vec<(&str, &str)> = result
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            assert_eq!(labels, [("téam", "a\nb")]);
            let evaluations: Vec<(&str, Option<&str>)> = result
                .evaluations
                .iter()
                .map(|e| (e.name.as_str(), e.explanation.as_deref()))
                .collect();
            assert_eq!(evaluations, [("m1", Some("no ✓")), ("q2", None)]);
        }
    }

    #[test]
    fn negative_latency_cost_and_tokens_are_left_out() {
        let mut doc: Value = serde_json::from_slice(&fixture("promptfoo/run-01.json")).unwrap();
        let first = &mut doc["results"]["results"][0];
        first["latencyMs"] = serde_json::json!(-6);
        first["cost"] = serde_json::json!(-0.5);
        first["tokenUsage"]["total"] = serde_json::json!(-3);
        let bytes = serde_json::to_vec(&doc).unwrap();
        let parsed = parse(source("run-01.json", &bytes)).unwrap();
        let result = &parsed.results[0];
        assert_eq!(
            (result.latency_ms, result.cost_usd, result.tokens),
            (None, None, None)
        );
    }
}
